from celery import shared_task

from reports import call_rollups, insight_rollups, person_rollups, rollups


@shared_task(ignore_result=True)
def refresh_rollups() -> dict[str, int]:
    """Beat, every ROLLUP_REFRESH_SECONDS: build the days that closed and rebuild the days
    later writes marked, the teams' (reports/rollups.py), the people's
    (reports/person_rollups.py), the insights' (reports/insight_rollups.py) and the calls'
    (reports/call_rollups.py). Idempotent; two at once only do the work twice."""
    return {
        **rollups.refresh(),
        **person_rollups.refresh(),
        **insight_rollups.refresh(),
        **call_rollups.refresh(),
    }
