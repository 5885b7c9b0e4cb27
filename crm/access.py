"""Who may do what: the one home of every "may" in the product (plain functions; README,
"Access rules"). Services call these to refuse (`crm.lib.errors.NotAllowed`); views call them
to choose a refusal; templates ask them (through `crm.teams.context_processors.access`) to show
a menu item or a button only when it would work.

Three definitions carry everything else:
- **admin**: an active superuser. Admins see every team and may do what any manager may.
  `is_staff` alone only opens Django's admin (Settings), whose own model permissions decide
  what a staff user edits there; it grants nothing in the product.
- **manages this team**: the user is the team's `manager` (or an admin). The "Sales head"
  group is a role, not an authority: it chooses the landing page, never what may be done.
- **works this deal**: the deal's closer, or whoever manages its team.

Seeing is membership: a user sees the teams they belong to or manage (`teams_seen`), and the
getters (`lead_get_for_user`, `deal_get_for_user`, …) answer 404 for anything else.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, NamedTuple

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as AuthUser
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from crm.lib.errors import NotAllowed
from crm.teams.models import Role, Team

User = AuthUser | AnonymousUser
View = Callable[..., HttpResponseBase]


def is_admin(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def may_open_admin_site(user: User) -> bool:
    """Django's admin lets staff in; what they may change there is its permissions' say."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def may_open_settings(user: User) -> bool:
    """The product's Settings: admins, and managers for their own teams' settings."""
    return is_admin(user) or managed_teams(user).exists()


def has_role(user: User, role: str) -> bool:
    """The user's role group (Qualifier, Closer, Sales head): what they work at, not authority."""
    return bool(user.is_authenticated and user.groups.filter(name=role).exists())


class SeenTeam(NamedTuple):
    id: int
    kind: str
    manager_id: int | None
    time_zone: str


_SEEN_THIS_REQUEST = "_crm_teams_seen_this_request"


def remember_teams_seen(user: User) -> list[SeenTeam]:
    """Read the teams the user sees once for the request (crm.teams.middleware): every page
    asks several questions of them — the time zone, the page's role test, the leads' teams,
    the header's menu — and each was a query. Kept on the request's user object, which the
    authentication middleware makes anew for each request, so a change of membership applies
    from the next request. Not for admins, who see every team."""
    if not user.is_authenticated or is_admin(user):
        return []
    seen = [
        SeenTeam(*row)
        for row in teams_seen(user)
        .order_by("id")
        .values_list("id", "kind", "manager_id", "time_zone")
    ]
    setattr(user, _SEEN_THIS_REQUEST, seen)
    return seen


def _remembered(user: User) -> list[SeenTeam] | None:
    return getattr(user, _SEEN_THIS_REQUEST, None)


def seen_team_ids(user: User, kind: str) -> list[int]:
    """The ids of the teams of this kind the user sees."""
    remembered = _remembered(user)
    if remembered is not None:
        return [team.id for team in remembered if team.kind == kind]
    return list(teams_seen(user).filter(kind=kind).values_list("id", flat=True))


def teams_seen(user: User) -> QuerySet[Team]:
    """The teams whose data the user may see: those they belong to or manage (admins: all)."""
    if not user.is_authenticated:
        return Team.objects.none()
    if is_admin(user):
        return Team.objects.all()
    return Team.objects.filter(Q(members=user) | Q(manager=user)).distinct()


def managed_teams(user: User) -> QuerySet[Team]:
    """The teams the user manages (admins: all)."""
    if not user.is_authenticated:
        return Team.objects.none()
    if is_admin(user):
        return Team.objects.all()
    return Team.objects.filter(manager=user)


def manages(user: User, team: Team) -> bool:
    return is_admin(user) or (user.is_authenticated and team.manager_id == user.pk)


def member_of(user: User, team: Team) -> bool:
    return bool(user.is_authenticated and team.members.filter(pk=user.pk).exists())


# Role pages: each answers 403 to a user it is not for (and the menu hides it).


def _sees_kind(user: User, kind: str) -> bool:
    remembered = _remembered(user)
    if remembered is not None:
        return any(team.kind == kind for team in remembered)
    return teams_seen(user).filter(kind=kind).exists()


def works_leads(user: User) -> bool:
    """The queue, Take next, New lead, the export: someone in (or over) a qualification team."""
    return _sees_kind(user, Team.Kind.QUALIFICATION)


def works_deals(user: User) -> bool:
    """The deal board: someone in (or over) a sales team."""
    return _sees_kind(user, Team.Kind.SALES)


def may_search(user: User) -> bool:
    """The header's search box and its page: whoever sees leads or deals (what they find is
    scoped by the same getters as every page), and an admin."""
    return is_admin(user) or works_leads(user) or works_deals(user)


def keeps_visit_slots(user: User) -> bool:
    """A closer's own free time for site visits."""
    return has_role(user, Role.CLOSER)


def heads_teams(user: User) -> bool:
    """Reports and insights: whoever manages a team."""
    return managed_teams(user).exists()


def heads_qualification(user: User) -> bool:
    """ "SLA now" and the import: whoever manages a qualification team."""
    return managed_teams(user).filter(kind=Team.Kind.QUALIFICATION).exists()


def report_teams(user: User) -> list[Team]:
    return list(managed_teams(user))


def import_teams(user: User) -> QuerySet[Team]:
    """The qualification teams the user may import leads into: those they manage."""
    return managed_teams(user).filter(kind=Team.Kind.QUALIFICATION)


def may_import(user: User) -> bool:
    return heads_qualification(user)


# Objects: what may be done to one the user already sees.


def works_deal(user: User, deal: Any) -> bool:
    """Move the deal on, set its visit, note it: its closer, or whoever manages its team."""
    return bool(user.is_authenticated and deal.closer_id == user.pk) or manages(user, deal.team)


def may_pick_up(user: User, deal: Any, team_ids: set[int] | None = None) -> bool:
    """A closer of the deal's team, from the pool or when the deal was given to them.
    `team_ids`: the ids of the user's teams, when a page asks for many deals at once."""
    if deal.closer_id not in (None, user.pk):
        return False
    if team_ids is not None:
        return deal.team_id in team_ids
    return member_of(user, deal.team)


def may_reassign(user: User, deal: Any) -> bool:
    return manages(user, deal.team)


def may_dispute(user: User, deal: Any) -> bool:
    """Only the deal's closer disputes its handoff (within the window: a blocker, not access)."""
    return bool(user.is_authenticated and deal.closer_id == user.pk)


def may_comment_dispute(user: User, dispute: Any) -> bool:
    return bool(user.is_authenticated and dispute.handoff.qualifier_id == user.pk)


def may_rule(user: User, dispute: Any) -> bool:
    """A manager of either team, or an admin — but nobody rules on their own deal."""
    if user.pk in (dispute.deal.closer_id, dispute.handoff.qualifier_id):
        return False
    return manages(user, dispute.deal.team) or manages(user, dispute.handoff.from_team)


def may_open_import(user: User, job: Any) -> bool:
    """An import job: its author, while they may still import into its team; an admin: any."""
    if is_admin(user):
        return True
    return job.created_by_id == user.pk and manages(user, job.team)


def menu(user: User) -> dict[str, bool]:
    """Which header links the user sees: exactly the pages that will not refuse them."""
    if not user.is_authenticated:
        return {}
    # One query on every page instead of one per test: the kinds of the teams the user sees,
    # and of those they manage. The same answers as works_leads, works_deals, heads_teams,
    # heads_qualification, teams_seen(...).exists() and may_open_settings.
    if is_admin(user):
        seen = managed = set(Team.objects.values_list("kind", flat=True).distinct())
    else:
        remembered = _remembered(user)
        if remembered is not None:
            pairs = {(team.kind, team.manager_id) for team in remembered}
        else:
            pairs = set(teams_seen(user).values_list("kind", "manager_id"))
        seen = {kind for kind, _manager in pairs}
        managed = {kind for kind, manager in pairs if manager == user.pk}
    leads, deals, heads = Team.Kind.QUALIFICATION in seen, Team.Kind.SALES in seen, bool(managed)
    heads_leads = Team.Kind.QUALIFICATION in managed
    return {
        "queue": leads,
        "new_lead": leads,
        "import": heads_leads,
        "deals": deals,
        "sla": heads_leads,
        "disputes": leads or deals,
        "reports": heads,
        "leaderboard": bool(seen),
        "search": is_admin(user) or leads or deals,
        "settings": is_admin(user) or heads,
        "admin_site": may_open_admin_site(user),
    }


def landing_url_name(user: User) -> str:
    """Each role lands on the page it works in; an admin on Settings."""
    if is_admin(user):
        return "setup:index"
    if has_role(user, Role.SALES_HEAD) and heads_teams(user):
        return "reports:teams"
    closer = has_role(user, Role.CLOSER) and not has_role(user, Role.QUALIFIER)
    if works_deals(user) and (closer or not works_leads(user)):
        return "deals:board"
    if works_leads(user):
        return "leads:queue"
    if works_deals(user):
        return "deals:board"
    if may_open_admin_site(user):
        return "admin:index"
    return "accounts:profile"


def require(allowed: bool, message: str = "") -> None:
    """Refuse with the 403 page (our own, `templates/403.html`) unless `allowed`."""
    if not allowed:
        raise NotAllowed(message or _("This page is not part of your work here."))


def page_for(test: Callable[[User], bool]) -> Callable[[View], View]:
    """A role page: logged in (else the login page), and for whom `test` holds (else 403)."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            require(test(request.user))
            return view(request, *args, **kwargs)

        return guarded

    return decorate
