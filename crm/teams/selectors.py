import time

from crm import access
from crm.lib.business_time import WorkingWeek
from crm.teams.models import Team

# Who sees which team, and the roles, are access rules: they live in crm/access.py.
teams_for_user = access.teams_seen
landing_url_name = access.landing_url_name


_WEEK_TTL_S = 60.0
_weeks: dict[int, tuple[float, WorkingWeek]] = {}


def working_week(team: Team) -> WorkingWeek:
    """The team's working week, kept a minute per process: every arriving lead needs it, and
    opening hours change rarely (an edit takes effect within a minute)."""
    cached = _weeks.get(team.pk)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    week = team.working_week()
    _weeks[team.pk] = (time.monotonic() + _WEEK_TTL_S, week)
    return week


def forget_working_weeks() -> None:
    _weeks.clear()
