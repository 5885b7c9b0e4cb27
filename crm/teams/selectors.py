import time

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from crm.lib.business_time import WorkingWeek
from crm.teams.models import Role, Team


def teams_for_user(user: User) -> QuerySet[Team]:
    """The teams whose data the user may see: those they belong to or manage."""
    if not user.is_authenticated:
        return Team.objects.none()
    if user.is_superuser:
        return Team.objects.all()
    return Team.objects.filter(Q(members=user) | Q(manager=user)).distinct()


def user_has_role(user: User, role: str) -> bool:
    return user.is_authenticated and user.groups.filter(name=role).exists()


def landing_url_name(user: User) -> str:
    """Each role lands on the page it works in."""
    if user_has_role(user, Role.SALES_HEAD):
        return "reports:teams"
    if user_has_role(user, Role.CLOSER) and not user_has_role(user, Role.QUALIFIER):
        return "deals:board"
    return "leads:queue"


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
