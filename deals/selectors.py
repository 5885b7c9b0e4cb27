from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.functional import Promise

from crm import access
from crm.lib import keyset
from crm.teams.models import Team
from crm.teams.selectors import teams_for_user
from deals.models import Contact, Deal
from leads.selectors import leads_visible_to


def deals_visible_to(user: User) -> QuerySet[Deal]:
    return Deal.objects.filter(team__in=teams_for_user(user).filter(kind=Team.Kind.SALES))


def deal_get_for_user(user: User, pk: int) -> Deal:
    """The one way a page or API view fetches a deal: another team's deal is a 404."""
    try:
        return (
            deals_visible_to(user)
            .select_related("team", "contact", "company", "closer", "lead", "loss_reason")
            .get(pk=pk)
        )
    except (Deal.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


# The board shows every open deal: a column per stage with its true count, a page of cards
# in the column's order and "Show more" reading the next page after the last card (keyset).
BOARD_PAGE = 20
# Each column's order, served by an index (deals/models.py): the newest first, and the
# site visits soonest first. (field, descending)
COLUMN_ORDER: dict[str, tuple[str, bool]] = {
    Deal.Stage.HANDED_OFF: ("created_at", True),
    Deal.Stage.ACCEPTED: ("created_at", True),
    Deal.Stage.MEETING: ("meeting_at", False),
    Deal.Stage.PROPOSAL: ("created_at", True),
}
# Up to this many teams a column is read team by team (each an ordered index range) and the
# pages merged; past it, in one query sorted by the database.
MERGED_TEAMS = 8
# A column's count is exact up to this many deals, then "500+" with the exact figure one click
# away: past a few hundred a closer reads "a lot" the same way, and counting stays a bounded
# index read (README, "The closers' side").
COUNT_CAP = 500
VISITS_SHOWN = 20


@dataclass(frozen=True)
class BoardScope:
    """Whose deals a board shows: the sales teams the user sees; a closer (and a head asking
    for "mine") only the pool and their own deals."""

    user: User
    team_ids: tuple[int, ...]
    mine_only: bool

    def deals(self) -> QuerySet[Deal]:
        deals = Deal.objects.filter(team_id__in=self.team_ids)
        if self.mine_only:
            deals = deals.filter(Q(closer=self.user) | Q(closer=None))
        return deals


@dataclass
class Column:
    stage: str
    label: str | Promise
    count: int
    deals: list[Deal]
    next_cursor: str
    # More than COUNT_CAP deals: the count says "500+" and the exact one is asked for.
    capped: bool = False

    @property
    def count_label(self) -> str:
        return f"{COUNT_CAP}+" if self.capped else str(self.count)


def board_scope(user: User, mine_only: bool) -> BoardScope:
    """The teams are read once, as ids: a literal team id lets PostgreSQL use the board's
    partial index in its order, where a subquery would make it sort every open deal."""
    ids = teams_for_user(user).filter(kind=Team.Kind.SALES).values_list("pk", flat=True)
    return BoardScope(user=user, team_ids=tuple(sorted(ids)), mine_only=mine_only)


def board_counts(scope: BoardScope, cap: int = COUNT_CAP) -> dict[str, int]:
    """The number of open deals in each column, exact up to `cap`; a column holding more
    says cap + 1 (shown "500+"). Each is a count of a LIMIT-ed range of deal_board_page
    (index-only: the closer is in the index), so it reads at most cap + 1 entries however
    many deals are open — where a true count reads every open deal of the team. The four
    are asked in one statement (the ORM counts a sliced queryset only one per query)."""
    parts: list[str] = []
    params: list = []
    for stage in Deal.OPEN_STAGES:
        capped = scope.deals().filter(stage=stage).values("pk")[: cap + 1]
        sql, stage_params = capped.query.sql_with_params()
        # The SQL is the ORM's, compiled above; the values go as parameters.
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS {stage})")  # noqa: S608
        params += stage_params
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        return dict(zip(Deal.OPEN_STAGES, cursor.fetchone(), strict=True))


def column_count(scope: BoardScope, stage: str) -> int:
    """The exact number of a column's deals, asked for when its count is capped: linear in
    them (an index-only scan of the column's range), so only on demand."""
    return scope.deals().filter(stage=stage).count()


def board_column(
    scope: BoardScope, stage: str, after: str = "", size: int = BOARD_PAGE
) -> tuple[list[Deal], str]:
    """A page of a column's cards after the cursor ("" for the first page), and the next
    page's cursor ("" at the end). A mangled cursor raises ValueError."""
    field, descending = COLUMN_ORDER[stage]
    cursor = keyset.parse_cursor(after) if after else None
    base = scope.deals().filter(stage=stage).select_related("contact", "company", "closer", "lead")
    if len(scope.team_ids) <= MERGED_TEAMS:
        parts = [base.filter(team_id=team_id) for team_id in scope.team_ids]
    else:
        parts = [base]
    found: list[Deal] = []
    for part in parts:
        found += keyset.read(part, field, descending=descending, after=cursor, limit=size + 1)
    if len(parts) > 1:
        key, reverse = keyset.sort_key(field, descending=descending)
        found.sort(key=key, reverse=reverse)
    shown = found[:size]
    more = len(found) > size
    next_cursor = keyset.cursor_of(getattr(shown[-1], field), shown[-1].pk) if more else ""
    return shown, next_cursor


def board(scope: BoardScope) -> list[Column]:
    """Every column: its count (capped) and first page."""
    counts = board_counts(scope, COUNT_CAP)
    columns = []
    for stage in Deal.OPEN_STAGES:
        deals, next_cursor = board_column(scope, stage) if counts[stage] else ([], "")
        count, capped = min(counts[stage], COUNT_CAP), counts[stage] > COUNT_CAP
        label = Deal.Stage(stage).label
        columns.append(Column(stage, label, count, deals, next_cursor, capped))
    return columns


def my_visits(scope: BoardScope, since: datetime) -> tuple[list[Deal], bool]:
    """The user's own site visits from `since` on, soonest first (index deal_visits); and
    whether there are more than the board lists."""
    # Not scope.deals(): its "closer is the user or nobody" beside "closer is the user" makes
    # PostgreSQL read every visit of the user and sort them, where this reads 21 in order.
    visits = list(
        Deal.objects.filter(team_id__in=scope.team_ids)
        .filter(closer=scope.user, stage__in=Deal.OPEN_STAGES, meeting_at__gte=since)
        .select_related("contact")
        .order_by("meeting_at", "id")[: VISITS_SHOWN + 1]
    )
    return visits[:VISITS_SHOWN], len(visits) > VISITS_SHOWN


def contacts_visible_to(user: User) -> QuerySet[Contact]:
    """A contact belongs to one sales team: it is seen by whoever sees that team's deals (its
    closers, its manager, an admin) — never through another team's deal of the same person."""
    if access.is_admin(user):
        return Contact.objects.all()
    return Contact.objects.filter(team__in=teams_for_user(user).filter(kind=Team.Kind.SALES))


def contact_get_for_user(user: User, pk: int) -> Contact:
    """The one way a page fetches a contact: another team's contact is a 404."""
    try:
        return contacts_visible_to(user).select_related("team", "company").get(pk=pk)
    except (Contact.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def contact_history(user: User, contact: Contact) -> tuple[QuerySet, QuerySet]:
    """The contact's deals (all of its own team's), and the leads the user may see that are
    this person in that team's eyes: the leads of those deals, and the leads with one of the
    contact's phones or e-mails from a qualification team that hands off to the team."""
    deals = (
        deals_visible_to(user)
        .filter(contact=contact)
        .select_related("company", "team", "closer")
        .order_by("-created_at")
    )
    same_person = Q(pk__in=deals.values("lead"))
    if contact.team_id is not None:
        reach = Q(team__hands_off_to=contact.team_id)
        if contact.phone:
            same_person |= reach & Q(phone=contact.phone)
        if contact.email:
            same_person |= reach & Q(email=contact.email)
    leads = (
        leads_visible_to(user)
        .filter(same_person)
        .distinct()
        .select_related("source")
        .order_by("-created_at")[:100]
    )
    return deals, leads
