from celery import shared_task

from reports import rollups


@shared_task(ignore_result=True)
def refresh_rollups() -> dict[str, int]:
    """Beat, every ROLLUP_REFRESH_SECONDS: build the days that closed and rebuild the days
    later writes marked (reports/rollups.py). Idempotent; two at once only do the work twice."""
    return rollups.refresh()
