"""What to call now: the one priority rule behind the queue page's order and Take next.

A team's open leads fall into ranks, called in this order (the README holds the table):

1. MINE     my own lead in progress — an unworked claim, or a lead I hold whose time has come
            (a callback the customer asked for, once its time is here)
2. MISSED   the customer phoned and nobody answered, nobody working the lead, not called
            back since — the longest waiting first: they are waiting by the phone
3. FRESH    never called, still inside the SLA window — least time left first
4. BREACHED never called, past the breach — latest breach first, i.e. newest first (a lead's
            breach follows its arrival): a fresher lead answers more often, and the oldest of
            a backlog are the least likely to pick up
5. RETRY    called before without reaching anyone (no answer, busy), the retry delay passed —
            longest waiting first
6. LATER    the rest of the list: my checked leads, retries and callbacks not due yet,
            other people's live claims — by due time

Take next hands out ranks 1–5, never another person's live claim. Other people's checked leads
are theirs to convert: they leave the default view (the state filter shows them).

Each rank is one index range read with a LIMIT (see the indexes on Lead), so a page costs the
same at 1M leads as at 1k; the page fills from the first rank onwards and pages by keyset.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from django.contrib.auth.models import User
from django.db import connections
from django.db.models import IntegerField, Q, QuerySet, Value

from leads.models import Lead

PAGE_SIZE = 50
# What a row of the list reads (leads/templatetags/leads.py queue_rows, its SLA badge, the
# page's digest, the cursor): not the message, the form's answers or the imported history,
# fetched and decoded for nothing on every refresh. A field read beyond these costs a query
# per row (tests/leads/test_queue.py counts the page's queries).
ROW_FIELDS = (
    "id",
    "name",
    "phone",
    "email",
    "state",
    "temperature",
    "due_at",
    "waiting_since",
    "created_at",
    "duplicate_of_id",
    "assignee_id",
    "claim_expires_at",
    "source__name",
)
PERSON_FIELDS = ("id", "username", "first_name", "last_name")  # crm/teams people.person
MAX_ROWS = 500  # a live list re-read every few seconds stays this long at most


class Rank(IntEnum):
    MINE = 1
    MISSED = 2
    FRESH = 3
    BREACHED = 4
    RETRY = 5
    LATER = 6


TAKEABLE = (Rank.MINE, Rank.MISSED, Rank.FRESH, Rank.BREACHED, Rank.RETRY)


def _waiting(now: datetime) -> Q:
    """A missed caller's lead nobody is working (Lead.waiting_since)."""
    return Q(state=Lead.State.NEW, waiting_since__isnull=False) & Lead.claimable_q(now)


def _never_called(now: datetime) -> Q:
    return Q(state=Lead.State.NEW, first_attempt_at=None, waiting_since=None) & Lead.claimable_q(
        now
    )


def rank_q(rank: Rank, user: User, now: datetime) -> Q:
    """The leads of one rank, for this user at this moment."""
    if rank is Rank.MINE:
        time_has_come = Q(claim_expires_at=None, due_at__lte=now)
        return Q(state=Lead.State.NEW, assignee=user) & (Lead.unworked_claim_q(now) | time_has_come)
    if rank is Rank.MISSED:
        return _waiting(now)
    if rank is Rank.FRESH:
        return _never_called(now) & Q(due_at__gt=now)
    if rank is Rank.BREACHED:
        return _never_called(now) & Q(due_at__lte=now)
    if rank is Rank.RETRY:
        return (
            Q(state=Lead.State.NEW, due_at__lte=now, waiting_since=None)
            & ~Q(first_attempt_at=None)
            & Lead.claimable_q(now)
        )
    earlier = Q()
    for other in TAKEABLE:
        earlier |= rank_q(other, user, now)
    return Q(state__in=Lead.OPEN_STATES) & ~earlier


# Each rank's order as (field, descending); "id" breaks ties in the same direction.
_ORDER = {
    Rank.MINE: ("due_at", False),
    Rank.MISSED: ("waiting_since", False),
    Rank.FRESH: ("due_at", False),
    Rank.BREACHED: ("due_at", True),
    Rank.RETRY: ("due_at", False),
    Rank.LATER: ("due_at", False),
}


def in_default_view(user: User) -> Q:
    """Another person's checked lead is theirs to convert: not in my list unless I ask."""
    return ~Q(state=Lead.State.CHECKED) | Q(assignee=user)


def ranked(leads: QuerySet[Lead], rank: Rank, user: User, now: datetime) -> QuerySet[Lead]:
    field, descending = _ORDER[rank]
    order = (f"-{field}", "-id") if descending else (field, "id")
    return leads.filter(rank_q(rank, user, now)).order_by(*order)


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: the rank, and the sort key and id of its last lead."""

    rank: Rank
    key: datetime
    last_id: int

    def __str__(self) -> str:
        return f"{int(self.rank)}~{self.key.isoformat()}~{self.last_id}"

    @classmethod
    def parse(cls, text: str) -> "Cursor | None":
        try:
            rank, stamp, last_id = text.split("~")
            # A "+" of the UTC offset arrives as a space when a client forgot to encode it.
            return cls(
                Rank(int(rank)), datetime.fromisoformat(stamp.replace(" ", "+")), int(last_id)
            )
        except ValueError:  # no cursor, or a mangled one: start from the top
            return None


def _beyond(leads: QuerySet[Lead], rank: Rank, cursor: Cursor) -> QuerySet[Lead]:
    """The rank's leads after the cursor's row."""
    field, descending = _ORDER[rank]
    op = "lt" if descending else "gt"
    return leads.filter(
        Q(**{f"{field}__{op}": cursor.key}) | Q(**{field: cursor.key, f"id__{op}": cursor.last_id})
    )


def _through(leads: QuerySet[Lead], rank: Rank, cursor: Cursor) -> QuerySet[Lead]:
    """The rank's leads up to and including the cursor's row."""
    field, descending = _ORDER[rank]
    op = "gt" if descending else "lt"
    return leads.filter(
        Q(**{f"{field}__{op}": cursor.key}) | Q(**{field: cursor.key, f"id__{op}e": cursor.last_id})
    )


@dataclass
class Row:
    lead: Lead
    rank: Rank

    @property
    def cursor(self) -> str:
        """This row's place in the list, where a page "after" it starts or one "through" it
        ends."""
        return str(Cursor(self.rank, getattr(self.lead, _ORDER[self.rank][0]), self.lead.pk))


def queue_page(
    leads: QuerySet[Lead],
    user: User,
    now: datetime,
    after: str = "",
    through: str = "",
    size: int = PAGE_SIZE,
) -> tuple[list[Row], str]:
    """One page of the list in priority order, and the cursor of the next page ("" at the end).

    `after` starts past a row ("Show more"); `through` reads from the top down to a row — as
    far as a screen had expanded, for its live refresh — at least a page, at most MAX_ROWS."""
    leads = leads.filter(state__in=Lead.OPEN_STATES).select_related("source").only(*ROW_FIELDS)
    end = Cursor.parse(through)
    if end is None:
        rows = _read(leads, user, now, Cursor.parse(after), size + 1)
        more, rows = len(rows) > size, rows[:size]
    else:
        rows = _read(leads, user, now, None, MAX_ROWS, end=end)
        if len(rows) < PAGE_SIZE:  # rows have left the list since: show a full first page
            return queue_page(leads, user, now, size=size)
        more = bool(_read(leads, user, now, Cursor.parse(rows[-1].cursor), 1))
    _attach_assignees(rows, user, now)
    return rows, rows[-1].cursor if more else ""


def _attach_assignees(rows: list[Row], user: User, now: datetime) -> None:
    """Who holds each row's lead, for its Assignee cell (a lapsed claim shows nobody): most
    rows of a page are nobody's, and the user's own are theirs — one query for the others, if
    any, instead of joining the users into every rank's read."""
    ids = {row.lead.assignee_id for row in rows if row.lead.claim_active(now)} - {user.pk}
    people = {user.pk: user}
    if ids:
        people |= User.objects.only(*PERSON_FIELDS).in_bulk(ids)
    for row in rows:
        if row.lead.assignee_id in people and row.lead.claim_active(now):
            row.lead.assignee = people[row.lead.assignee_id]


def _read(
    leads: QuerySet[Lead],
    user: User,
    now: datetime,
    start: Cursor | None,
    limit: int,
    end: Cursor | None = None,
) -> list[Row]:
    def wanted(rank: Rank) -> QuerySet[Lead]:
        read = ranked(leads, rank, user, now)
        if start is not None and rank == start.rank:
            read = _beyond(read, rank, start)
        if end is not None and rank == end.rank:
            read = _through(read, rank, end)
        return read

    ranks = [
        rank
        for rank in Rank
        if (start is None or rank >= start.rank) and (end is None or rank <= end.rank)
    ]
    rows: list[Row] = []
    if connections[leads.db].features.supports_slicing_ordering_in_compound:
        # The takeable ranks in one statement; "later", the costliest to build (it negates all
        # of them), only when they do not fill the page.
        at_once = _read_at_once([(r, wanted(r)) for r in ranks if r in TAKEABLE], limit)
        if at_once is not None:
            rows = at_once
            ranks = [rank for rank in ranks if rank not in TAKEABLE]
    for rank in ranks:
        if len(rows) >= limit:
            break
        rows += [Row(lead, rank) for lead in wanted(rank)[: limit - len(rows)]]
    return rows


def _read_at_once(reads: list[tuple[Rank, QuerySet[Lead]]], limit: int) -> list[Row] | None:
    """The ranks' reads as one statement, `(rank 1 LIMIT n) UNION ALL (rank 2 LIMIT n) …
    LIMIT n`: one round trip instead of one per rank, and on a busy machine a round trip costs
    more than these reads. PostgreSQL's Append runs its branches in order and stops once the
    outer LIMIT is met, so a later rank is not read when the earlier ones fill the page (as
    rank by rank); a branch with a LIMIT is never run in parallel, which could interleave
    them. Checked all the same: rows out of rank order answer None, to be read rank by rank."""
    if not reads:
        return []
    branches = [
        wanted.annotate(queue_rank=Value(int(rank), IntegerField()))[:limit]
        for rank, wanted in reads
    ]
    leads = list(branches[0].union(*branches[1:], all=True)[:limit])
    ranks = [lead.queue_rank for lead in leads]
    if ranks != sorted(ranks):
        return None
    return [Row(lead, Rank(rank)) for lead, rank in zip(leads, ranks, strict=True)]


def nobodys(leads: QuerySet[Lead], user: User, now: datetime) -> Iterator[QuerySet[Lead]]:
    """Take next's candidates once the user has no lead of their own (rank 1): ranks 2–5,
    rank by rank, each in its order."""
    for rank in TAKEABLE[1:]:
        yield ranked(leads, rank, user, now)
