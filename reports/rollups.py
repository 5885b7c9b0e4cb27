"""The team report's roll-ups: each team's figures per day of its own time zone (TeamDay).

How a day is read (`built_days`): a closed day — ended at least GRACE ago — that has a row and
no DirtyDay mark is read from its row; every other day (today, yesterday's first hour, a day
never built, a day a later write changed) is computed from the raw rows by the same function
that builds the rows (`day_figures`) — the open days by beat once a minute for every reader
(reports/today.py), the others by the read. So the report's numbers are always today's definitions
over today's data; the roll-ups only make them cheap.

How rows are kept (`refresh`, run by beat every ROLLUP_REFRESH_SECONDS, and `manage.py
rebuild_rollups`): every closed day of a team from its first data onwards that has no row is
built, and every marked day is rebuilt wholly (idempotent: a day is recomputed from scratch,
never incremented). Writes that change a day already closed mark it (`touch`, called by the
signals in reports/signals.py and by the few bulk writes): a lead converted weeks after it
arrived, its deal won, its dispute ruled. A write about a moment less than GRACE old marks
nothing — that day is either still open or not built yet. A team whose time zone or SLA
minutes change loses its rows (its days, or its `within` counts, are no longer the same):
they are read live until the next refresh rebuilds them.

Days are cut as reports/periods.py cuts them: [local midnight, next local midnight)."""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractHour, TruncDate
from django.utils import timezone

from crm.deadlines.models import Deadline
from crm.teams.models import Team
from deals.models import Deal
from handoff.models import Dispute, Handoff
from leads.alerts import BREACH
from leads.models import Lead
from reports import histogram
from reports.models import DirtyDay, TeamDay

# A day is built once it has been over this long: the SLA sweep (every 30 s) has raised the
# breaches due before its midnight, and writes about moments this recent mark nothing.
GRACE = timedelta(hours=1)
CHUNK_DAYS = 31  # days built per pass of queries

Day = dict[str, Any]  # one (team, day)'s figures; "reactions" is a histogram.value()

QUALIFICATION_COUNTS = (
    "leads",
    "called",
    "within_15",
    "within_20",
    "within_warn",
    "within_breach",
    "new",
    "checked",
    "converted",
    "junk",
    "accepted",
    "won",
    "disputes",
    "upheld",
    "rejected",
)
SALES_COUNTS = (
    "handoffs",
    "accepted",
    "won",
    "returned",
    "disputes",
    "upheld",
    "rejected",
    "closed_won",
    "closed_lost",
)


def empty_day(kind: str) -> Day:
    if kind == Team.Kind.QUALIFICATION:
        return {
            **dict.fromkeys(QUALIFICATION_COUNTS, 0),
            "revenue": None,
            "by_source": {},
            "junk_by_reason": {},
            "breach_hours": [0] * 24,
            "reactions": 0,
        }
    return {**dict.fromkeys(SALES_COUNTS, 0), "revenue": None, "closers": {}}


_KEYS = {kind: set(empty_day(kind)) - {"reactions"} for kind in Team.Kind.values}


# --- reading ---------------------------------------------------------------------------------


def built_days(
    teams: list[Team], first: date, last: date, now: datetime | None = None
) -> dict[tuple[int, date], datetime]:
    """{(team id, day): when its row was built} for the days from `first` to `last`
    (included) that are read from their rows: closed, built and not marked. Every other day
    is computed from the raw rows (`day_figures`). Teams of one kind and time zone."""
    if not teams:
        return {}
    zone, _kind = _one_zone_and_kind(teams)
    built_before = buildable_until(zone, now)
    if first >= built_before:
        return {}
    dirty = set(
        DirtyDay.objects.filter(team__in=teams, day__gte=first, day__lte=last).values_list(
            "team", "day"
        )
    )
    rows = TeamDay.objects.filter(
        team__in=teams, day__gte=first, day__lte=min(last, built_before - timedelta(days=1))
    ).values_list("team", "day", "built_at")
    return {(team, day): at for team, day, at in rows if (team, day) not in dirty}


def loaded_days(
    teams: list[Team], first: date, last: date, wanted: set[tuple[int, date]]
) -> dict[tuple[int, date], Day]:
    """The stored figures of the `wanted` (team id, day)s (those that still have a row)."""
    _zone, kind = _one_zone_and_kind(teams)
    rows = TeamDay.objects.filter(
        team__in=sorted({t for t, _d in wanted}), day__gte=first, day__lte=last
    ).values_list("team", "day", "figures", "reactions")
    return {
        (team, day): _loaded(figures, reactions, kind)
        for team, day, figures, reactions in rows
        if (team, day) in wanted
    }


def buildable_until(zone: ZoneInfo, now: datetime | None = None) -> date:
    """The first day of `zone` that may not be built yet: days before it ended GRACE ago."""
    return timezone.localtime((now or timezone.now()) - GRACE, zone).date()


def _loaded(figures: dict, reactions: bytes | memoryview | None, kind: str) -> Day:
    # A row written before a figure existed lacks it: it counts as the empty day's.
    day = figures if figures.keys() >= _KEYS[kind] else {**empty_day(kind), **figures}
    if kind == Team.Kind.QUALIFICATION:
        day["reactions"] = histogram.value(reactions)
    return day


# --- computing from the raw rows -------------------------------------------------------------


def day_figures(teams: list[Team], days: list[date]) -> dict[tuple[int, date], Day]:
    """Each team's figures for each of `days`, from the raw rows, in a few grouped queries
    however many teams and days (teams of one kind and time zone)."""
    zone, kind = _one_zone_and_kind(teams)
    found = {(t.pk, d): empty_day(kind) for t in teams for d in days}
    compute = _qualification_days if kind == Team.Kind.QUALIFICATION else _sales_days
    compute(teams, days, zone, found)
    return found


def _qualification_days(teams: list[Team], days: list[date], zone: ZoneInfo, found: dict) -> None:
    # Leads imported as converted history (converted in another CRM, no deal here) are no
    # work of the team's: left out of every figure, so an import changes none of them.
    leads = Lead.objects.filter(
        in_days("created_at", days, zone), team__in=teams, imported_history=False
    ).annotate(day=TruncDate("created_at", tzinfo=zone))
    warn, breach = (
        _sla_minutes(teams, "sla_warn_minutes"),
        _sla_minutes(teams, "sla_breach_minutes"),
    )
    counts = leads.values("team", "day").annotate(
        leads=Count("id"),
        called=Count("id", filter=Q(first_attempt_at__isnull=False)),
        within_15=Count("id", filter=Q(reaction_minutes__lte=15)),
        within_20=Count("id", filter=Q(reaction_minutes__lte=20)),
        # Within the team's own warning and breach minutes (Settings → Teams).
        within_warn=Count("id", filter=Q(reaction_minutes__lte=warn)),
        within_breach=Count("id", filter=Q(reaction_minutes__lte=breach)),
        new=Count("id", filter=Q(state=Lead.State.NEW)),
        checked=Count("id", filter=Q(state=Lead.State.CHECKED)),
        converted=Count("id", filter=Q(state=Lead.State.CONVERTED)),
        junk=Count("id", filter=Q(state=Lead.State.JUNK)),
    )
    _put(found, counts.order_by(), "team")
    # Deal and dispute are one-to-one with the lead; only leads with a deal are joined.
    deals = (
        Deal.objects.filter(in_days("lead__created_at", days, zone), lead__team__in=teams)
        .annotate(day=TruncDate("lead__created_at", tzinfo=zone))
        .values("lead__team", "day")
        .annotate(
            accepted=Count("id", filter=Q(accepted_at__isnull=False)),
            won=Count("id", filter=Q(stage=Deal.Stage.WON)),
            revenue=Sum("amount", filter=Q(stage=Deal.Stage.WON)),
            disputes=Count("dispute"),
            upheld=Count("dispute", filter=Q(dispute__outcome=Dispute.Outcome.UPHELD)),
            rejected=Count("dispute", filter=Q(dispute__outcome=Dispute.Outcome.REJECTED)),
        )
        .order_by()
    )
    _put(found, deals, "lead__team")
    for field, rows, key in (
        ("source__name", leads, "by_source"),
        ("junk_reason__name", leads.filter(state=Lead.State.JUNK), "junk_by_reason"),
    ):
        for r in rows.values("team", "day", field).annotate(n=Count("id")).order_by():
            day = found.get((r["team"], r["day"]))
            if day is not None:
                day[key][r[field] or "—"] = r["n"]
    buckets = (
        leads.filter(reaction_minutes__isnull=False)
        .annotate(bucket=histogram.bucket_sql("reaction_minutes"))
        .values("team", "day", "bucket")
        .annotate(n=Count("id"))
        .order_by()
    )
    for (team_id, day_date), cells in groupby(
        sorted(buckets, key=lambda r: (r["team"], r["day"])), key=lambda r: (r["team"], r["day"])
    ):
        day = found.get((team_id, day_date))
        if day is not None:
            day["reactions"] = histogram.pack({c["bucket"]: c["n"] for c in cells})
    for r in breaches(teams, days, zone):
        day = found.get((r["breach_team"], r["day"]))
        if day is not None:
            day["breach_hours"][int(r["hour"])] += r["n"]


def breaches(teams: list[Team], days: list[date], zone: ZoneInfo) -> QuerySet:
    """SLA breaches: alerts raised for the teams' leads, counted by team and the local day and
    hour they were due. The lead's team is read from its copy on the deadline
    (Deadline.lead_team: one range of `deadline_breach_team`, index-only); a deadline written
    before the copy existed reads its lead — a subquery that COALESCE runs only for such a row,
    where a join would read the lead of every breach (145,000 at 10M leads on a peak day)."""
    team = Coalesce(
        "lead_team",
        Subquery(Lead.objects.filter(pk=OuterRef("lead")).values("team")[:1]),
        output_field=BigIntegerField(),
    )
    return (
        Deadline.objects.filter(
            in_days("due_at", days, zone), kind=BREACH.code, raised_at__isnull=False
        )
        .annotate(
            breach_team=team,
            day=TruncDate("due_at", tzinfo=zone),
            hour=ExtractHour("due_at", tzinfo=zone),
        )
        .filter(breach_team__in=[t.pk for t in teams])
        .values("breach_team", "day", "hour")
        .annotate(n=Count("id"))
        .order_by()
    )


def _sales_days(teams: list[Team], days: list[date], zone: ZoneInfo, found: dict) -> None:
    received = (
        Handoff.objects.filter(in_days("handed_off_at", days, zone), team__in=teams)
        .annotate(day=TruncDate("handed_off_at", tzinfo=zone))
        .values("team", "day")
        .annotate(
            handoffs=Count("id"),
            accepted=Count("id", filter=Q(deal__accepted_at__isnull=False)),
            won=Count("id", filter=Q(deal__stage=Deal.Stage.WON)),
            returned=Count("id", filter=Q(deal__stage=Deal.Stage.RETURNED)),
            disputes=Count("dispute"),
            upheld=Count("dispute", filter=Q(dispute__outcome=Dispute.Outcome.UPHELD)),
            rejected=Count("dispute", filter=Q(dispute__outcome=Dispute.Outcome.REJECTED)),
        )
        .order_by()
    )
    _put(found, received, "team")
    closed = Deal.objects.filter(in_days("closed_at", days, zone), team__in=teams).annotate(
        day=TruncDate("closed_at", tzinfo=zone)
    )
    _put(
        found,
        closed.values("team", "day")
        .annotate(
            closed_won=Count("id", filter=Q(stage=Deal.Stage.WON)),
            closed_lost=Count("id", filter=Q(stage=Deal.Stage.LOST)),
            revenue=Sum("amount", filter=Q(stage=Deal.Stage.WON)),
        )
        .order_by(),
        "team",
    )
    per_closer = (
        closed.filter(closer__isnull=False)
        .values("team", "day", "closer")
        .annotate(
            won=Count("id", filter=Q(stage=Deal.Stage.WON)),
            lost=Count("id", filter=Q(stage=Deal.Stage.LOST)),
            revenue=Sum("amount", filter=Q(stage=Deal.Stage.WON)),
        )
        .order_by()
    )
    for r in per_closer:
        day = found.get((r["team"], r["day"]))
        if day is not None:
            day["closers"][str(r["closer"])] = [r["won"], r["lost"], amount(r["revenue"])]


def _put(found: dict, rows: Iterable[dict], team_key: str) -> None:
    for r in rows:
        day = found.get((r.pop(team_key), r.pop("day")))
        if day is not None:
            if "revenue" in r:
                r["revenue"] = amount(r["revenue"])
            day.update(r)


def amount(value: Decimal | None) -> str | None:
    """Money as a string (kopecks kept exactly in JSON)."""
    return None if value is None else str(Decimal(value).quantize(Decimal("0.01")))


def _sla_minutes(teams: list[Team], field: str) -> Case:
    """Each team's own SLA minutes as a CASE over the lead's team column: the lead index
    still answers (a join to the team table would not be index-only)."""
    return Case(
        *(When(team_id=team.pk, then=Value(getattr(team, field))) for team in teams),
        default=Value(None),
        output_field=IntegerField(),
    )


def in_days(field: str, days: list[date], zone: ZoneInfo) -> Q:
    """The moments in any of `days` (local midnight to local midnight), as one range per run
    of consecutive days."""
    q = Q()
    for start, end in _runs(days):
        q |= Q(
            **{
                f"{field}__gte": _midnight(start, zone),
                f"{field}__lt": _midnight(end + timedelta(days=1), zone),
            }
        )
    return q


def _runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days: [(first, last), ...]."""
    runs: list[list[date]] = []
    for day in sorted(set(days)):
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(a, b) for a, b in runs]


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def every_day(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _one_zone_and_kind(teams: list[Team]) -> tuple[ZoneInfo, str]:
    if len({(t.time_zone, t.kind) for t in teams}) != 1:
        raise ValueError("teams of one time zone and kind")
    return teams[0].zone, teams[0].kind


# --- building --------------------------------------------------------------------------------


def build(teams: list[Team], days: list[date], now: datetime | None = None) -> int:
    """Compute `days` wholly for `teams` (of one kind and zone) and store them, replacing what
    was there; clear the marks written before this began. Returns the rows written."""
    started = now or timezone.now()
    days = sorted({d for d in days if d < buildable_until(teams[0].zone, started)})
    written = 0
    # CHUNK_DAYS at a time, whether they follow each other or are scattered marks.
    for at in range(0, len(days), CHUNK_DAYS):
        chunk = days[at : at + CHUNK_DAYS]
        figures = day_figures(teams, chunk)
        rows = [_row(team, day, values, started) for (team, day), values in figures.items()]
        with transaction.atomic():
            TeamDay.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["team", "day"],
                update_fields=["figures", "reactions", "built_at"],
            )
            DirtyDay.objects.filter(team__in=teams, day__in=chunk, marked_at__lte=started).delete()
        written += len(rows)
    return written


def _row(team_id: int, day: date, values: Day, built_at: datetime) -> TeamDay:
    figures = dict(values)
    reactions = figures.pop("reactions", 0)
    return TeamDay(
        team_id=team_id,
        day=day,
        figures=figures,
        reactions=histogram.to_bytes(reactions),
        built_at=built_at,
    )


def refresh(teams: list[Team] | None = None, everything: bool = False) -> dict[str, int]:
    """Build every closed day that has no row and rebuild every marked one (`everything`:
    rebuild every closed day from the team's first data). Returns {"days": rows written}."""
    started = timezone.now()
    teams = list(Team.objects.all()) if teams is None else teams
    written = 0
    for group in groups(teams):
        until = buildable_until(group[0].zone, started)
        built = set(TeamDay.objects.filter(team__in=group).values_list("team", "day"))
        todo: set[date] = set(
            DirtyDay.objects.filter(team__in=group, day__lt=until).values_list("day", flat=True)
        )
        for team in group:
            first = first_day(team)
            if first is not None:
                todo.update(
                    d
                    for d in every_day(first, until - timedelta(days=1))
                    if everything or (team.pk, d) not in built
                )
        written += build(group, sorted(todo), started)
    return {"days": written}


def groups(teams: Iterable[Team]) -> list[list[Team]]:
    """Teams by time zone and kind: what one pass of queries computes together."""

    def cut(team: Team) -> tuple[str, str]:
        return team.time_zone, team.kind

    return [list(group) for _cut, group in groupby(sorted(teams, key=cut), key=cut)]


def first_day(team: Team) -> date | None:
    """The team's first local day with anything the report counts."""
    if team.kind == Team.Kind.QUALIFICATION:
        moments = [Lead.objects.filter(team=team).aggregate(m=Min("created_at"))["m"]]
    else:
        moments = [
            Handoff.objects.filter(team=team).aggregate(m=Min("handed_off_at"))["m"],
            Deal.objects.filter(team=team).aggregate(m=Min("closed_at"))["m"],
        ]
    found = [m for m in moments if m is not None]
    return timezone.localtime(min(found), team.zone).date() if found else None


# --- marking what later writes change --------------------------------------------------------


def touch(
    changes: Iterable[tuple[int | None, datetime | None]], marks: type[Any] = DirtyDay
) -> None:
    """A write changed the figures of these (team id, moment)s: once it commits, mark the
    days of those moments that may already be built, in `marks` (a team × day table: this
    report's DirtyDay, the call report's CallDirtyDay). Recent moments mark nothing."""
    before = recent()
    old = {
        (team, at) for team, at in changes if team is not None and at is not None and at < before
    }
    if old:
        transaction.on_commit(lambda: _mark(marks, old))


def touch_deal(deal: Deal) -> None:
    """A deal's stage, amount, closer or dispute changed: the day its lead arrived (the
    qualification team's cohort), the day it was handed off and the day it closed (the sales
    team's)."""
    lead = deal.lead
    changes = [(lead.team_id, lead.created_at), (deal.team_id, deal.closed_at)]
    if deal.created_at < recent():
        changes += Handoff.objects.filter(deal=deal).values_list("team_id", "handed_off_at")
    touch(changes)


def recent() -> datetime:
    """Moments after this mark nothing: their day is open, or not built yet."""
    return timezone.now() - GRACE


def _mark(marks: type[Any], changes: set[tuple[int, datetime]]) -> None:
    zones = {
        pk: ZoneInfo(name)
        for pk, name in Team.objects.filter(pk__in={t for t, _ in changes}).values_list(
            "pk", "time_zone"
        )
    }
    now = timezone.now()
    days = {
        (team, timezone.localtime(at, zones[team]).date()) for team, at in changes if team in zones
    }
    marks.objects.bulk_create(
        [marks(team_id=team, day=day, marked_at=now) for team, day in sorted(days)],
        update_conflicts=True,
        unique_fields=["team", "day"],
        update_fields=["marked_at"],
    )


def forget(team: Team) -> None:
    """The team's days are no longer cut or counted the same (its time zone or SLA minutes
    changed): drop its rows; they are read live until the next refresh rebuilds them."""
    TeamDay.objects.filter(team=team).delete()
