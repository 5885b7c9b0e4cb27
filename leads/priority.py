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

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import IntEnum
from threading import Lock

from django.contrib.auth.models import User
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import IntegerField, Q, QuerySet, Value

from leads.models import Lead, LeadSource

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
    ranks = [
        rank
        for rank in Rank
        if (start is None or rank >= start.rank) and (end is None or rank <= end.rank)
    ]
    rows: list[Row] = []
    if connections[leads.db].features.supports_slicing_ordering_in_compound:
        # The takeable ranks in one statement; "later", the costliest to build (it negates all
        # of them), only when they do not fill the page.
        takeable = tuple(rank for rank in ranks if rank in TAKEABLE)
        at_once = _read_at_once(leads, user, now, takeable, limit, start, end)
        if at_once is not None:
            rows = at_once
            ranks = [rank for rank in ranks if rank not in TAKEABLE]
    for rank in ranks:
        if len(rows) >= limit:
            break
        read = _wanted(leads, rank, user, now, start, end)
        rows += [Row(lead, rank) for lead in read[: limit - len(rows)]]
    return rows


def _wanted(
    leads: QuerySet[Lead],
    rank: Rank,
    user: User,
    now: datetime,
    start: Cursor | None,
    end: Cursor | None,
) -> QuerySet[Lead]:
    """The rank's leads in its order, between the cursors."""
    read = ranked(leads, rank, user, now)
    if start is not None and rank == start.rank:
        read = _beyond(read, rank, start)
    if end is not None and rank == end.rank:
        read = _through(read, rank, end)
    return read


def _read_at_once(
    leads: QuerySet[Lead],
    user: User,
    now: datetime,
    ranks: tuple[Rank, ...],
    limit: int,
    start: Cursor | None,
    end: Cursor | None,
) -> list[Row] | None:
    """The ranks' reads as one statement, `(rank 1 LIMIT n) UNION ALL (rank 2 LIMIT n) …
    LIMIT n`: one round trip instead of one per rank, and on a busy machine a round trip costs
    more than these reads. PostgreSQL's Append runs its branches in order and stops once the
    outer LIMIT is met, so a later rank is not read when the earlier ones fill the page (as
    rank by rank); a branch with a LIMIT is never run in parallel, which could interleave
    them. Checked all the same: rows out of rank order answer None, to be read rank by rank.

    The statement comes from RankStatements (below): the ORM builds and compiles it once per
    list and person, and each refresh only runs it."""
    if not ranks:
        return []
    moments = _Moments.of(now, start, end)
    try:
        statement = _statements.get(leads, user, ranks, limit, moments)
        if statement is None:
            sql, compiled = _union(leads, user, ranks, limit, moments).query.sql_with_params()
            params = list(compiled)
        else:
            sql, params = statement.sql, statement.params(moments)
    except EmptyResultSet:  # the filters match nothing (e.g. a list for no team)
        return []
    with connections[leads.db].cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    ranks_read = [values[-1] for values in found]
    if ranks_read != sorted(ranks_read):
        return None
    return _rows(leads.db, found)


def _union(
    leads: QuerySet[Lead], user: User, ranks: tuple[Rank, ...], limit: int, moments: "_Moments"
) -> QuerySet:
    start = moments.cursor(moments.start_rank, moments.start_key, moments.start_id)
    end = moments.cursor(moments.end_rank, moments.end_key, moments.end_id)
    branches = [
        _wanted(leads, rank, user, moments.now, start, end)
        .annotate(queue_rank=Value(int(rank), IntegerField()))
        .values_list(*_COLUMNS, "queue_rank")[:limit]
        for rank in ranks
    ]
    return branches[0].union(*branches[1:], all=True)[:limit]


# The rank statement's columns, as tuples: each row becomes a Lead of ROW_FIELDS (its fields
# in the model's order, as Model.from_db takes them) and its source, built here rather than
# by the ORM's select_related for every refresh.
_LEAD_COLUMNS = tuple(
    field.attname
    for field in Lead._meta.concrete_fields
    if field.attname in ROW_FIELDS or field.attname == "source_id"
)
_COLUMNS = (*_LEAD_COLUMNS, "source__name")


def _rows(db: str, found: list[tuple]) -> list[Row]:
    sources: dict[int, LeadSource] = {}
    rows = []
    width = len(_LEAD_COLUMNS)
    source_at = _LEAD_COLUMNS.index("source_id")
    for values in found:
        lead = Lead.from_db(db, _LEAD_COLUMNS, values[:width])
        source_id = values[source_at]
        if source_id not in sources:
            sources[source_id] = LeadSource.from_db(db, ("id", "name"), (source_id, values[width]))
        lead.source = sources[source_id]
        rows.append(Row(lead, Rank(values[-1])))
    return rows


@dataclass(frozen=True)
class _Moments:
    """What differs between two reads of the same list by the same person: the moment, and
    the cursors' sort keys and ids (their ranks belong to the statement's shape)."""

    now: datetime
    start_rank: Rank | None = None
    start_key: datetime | None = None
    start_id: int | None = None
    end_rank: Rank | None = None
    end_key: datetime | None = None
    end_id: int | None = None

    VARIABLES = ("now", "start_key", "start_id", "end_key", "end_id")

    @classmethod
    def of(cls, now: datetime, start: Cursor | None, end: Cursor | None) -> "_Moments":
        return cls(
            now,
            *((start.rank, start.key, start.last_id) if start else (None, None, None)),
            *((end.rank, end.key, end.last_id) if end else (None, None, None)),
        )

    @staticmethod
    def cursor(rank: Rank | None, key: datetime | None, last_id: int | None) -> Cursor | None:
        return None if rank is None else Cursor(rank, key, last_id)  # type: ignore[arg-type]

    def stand_in(self, n: int) -> "_Moments":
        """The same shape with values no list holds (the n-th set): compiled with two of
        them, a statement's parameters differ exactly where these values go."""
        moment = datetime(1901 + n, 1, 1, tzinfo=UTC)
        return _Moments(
            moment,
            self.start_rank,
            moment + timedelta(seconds=1),
            -1000 - n,
            self.end_rank,
            moment + timedelta(seconds=2),
            -2000 - n,
        )


@dataclass(frozen=True)
class _Statement:
    sql: str
    constants: tuple
    variables: tuple[tuple[int, str], ...]  # (position, _Moments field)

    def params(self, moments: _Moments) -> list:
        params = list(self.constants)
        for position, name in self.variables:
            params[position] = getattr(moments, name)
        return params


class RankStatements:
    """The rank statement, compiled by the ORM once per shape — the list's filters (its SQL
    and parameters), the person, the ranks, the limit, the cursors' ranks — and then only run:
    building and compiling it cost more CPU than everything else on the queue page, which a
    screen refreshes every two seconds.

    A shape is compiled twice, with two sets of stand-in values (_Moments.stand_in), and kept
    only if the statements differ in nothing but the parameters where those values sit; a
    value derived from the moment (say, an hour before it) would differ elsewhere, and such a
    shape is read as before, compiled each time. So is a list whose own filters hold a moment
    (the age filter): its shape changes with every request."""

    SIZE = 512  # shapes kept per process, the least recently used dropped

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple, _Statement | None] = OrderedDict()
        self._lock = Lock()

    def get(
        self,
        leads: QuerySet[Lead],
        user: User,
        ranks: tuple[Rank, ...],
        limit: int,
        moments: _Moments,
    ) -> _Statement | None:
        base_sql, base_params = leads.query.sql_with_params()
        if any(isinstance(param, date) for param in base_params):
            return None
        shape = (ranks, limit, moments.start_rank, moments.end_rank)
        key = (leads.db, base_sql, tuple(base_params), user.pk, shape)
        try:
            with self._lock:
                if key in self._kept:
                    self._kept.move_to_end(key)
                    return self._kept[key]
        except TypeError:  # an unhashable parameter: not kept
            return None
        statement = self._compile(leads, user, ranks, limit, moments)
        with self._lock:
            self._kept[key] = statement
            if len(self._kept) > self.SIZE:
                self._kept.popitem(last=False)
        return statement

    @staticmethod
    def _compile(
        leads: QuerySet[Lead], user: User, ranks: tuple[Rank, ...], limit: int, moments: _Moments
    ) -> _Statement | None:
        stand_ins = [moments.stand_in(n) for n in (0, 1)]
        (sql, first), (other_sql, second) = (
            _union(leads, user, ranks, limit, stand_in).query.sql_with_params()
            for stand_in in stand_ins
        )
        if sql != other_sql or len(first) != len(second):
            return None
        variables = []
        for position, (one, two) in enumerate(zip(first, second, strict=True)):
            if one == two:
                continue
            name = next(
                (
                    name
                    for name in _Moments.VARIABLES
                    if getattr(stand_ins[0], name) == one and getattr(stand_ins[1], name) == two
                ),
                None,
            )
            if name is None:
                return None
            variables.append((position, name))
        return _Statement(sql, tuple(first), tuple(variables))


_statements = RankStatements()


def nobodys(leads: QuerySet[Lead], user: User, now: datetime) -> Iterator[QuerySet[Lead]]:
    """Take next's candidates once the user has no lead of their own (rank 1): ranks 2–5,
    rank by rank, each in its order."""
    for rank in TAKEABLE[1:]:
        yield ranked(leads, rank, user, now)
