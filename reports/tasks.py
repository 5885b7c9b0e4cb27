from celery import shared_task
from django.utils import timezone

from reports import call_rollups, insight_rollups, person_rollups, rollups, team_totals


@shared_task(ignore_result=True)
def refresh_rollups() -> dict[str, int]:
    """Beat, every ROLLUP_REFRESH_SECONDS: build the days that closed and rebuild the days
    later writes marked, the teams' (reports/rollups.py), the people's
    (reports/person_rollups.py), the insights' (reports/insight_rollups.py) and the calls'
    (reports/call_rollups.py); then the team report's default view is summed into the cache
    (team_totals.warm). Idempotent; two at once only do the work twice."""
    done = {
        **rollups.refresh(),
        **person_rollups.refresh(),
        **insight_rollups.refresh(),
        **call_rollups.refresh(),
    }
    team_totals.warm()  # the default view's sums of the days just built, before a head asks
    return done


@shared_task(ignore_result=True)
def refresh_today() -> dict[str, int]:
    """Beat, every TODAY_REFRESH_SECONDS: the open days (today) of the team report, the
    leaderboard and the insights computed once for every reader and kept in the cache
    (reports/today.py), so the last-30-days views add them up instead of computing them."""
    now = timezone.now()
    return {
        "team_days": team_totals.keep_today(now),
        "person_days": person_rollups.keep_today(now),
        "insight_days": insight_rollups.keep_today(now),
    }
