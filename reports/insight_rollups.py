"""The insights page's roll-ups ("What predicts a sale"): each team's figures per day (InsightDay).

The same design as the person roll-ups (reports/person_rollups.py), whose reasons apply here:
the page cuts its period in its reader's zone, so a team's day is kept once per zone in use; a
closed day — ended GRACE ago — that is built and not marked is read from its row; every other
day (today, a day not built yet, a team-day a later write marked) is computed from the raw rows
by the function that builds the rows (`day_figures`; today by beat once a minute for every
reader, reports/today.py), so the numbers are today's definitions over today's data. A row of
(zone, team, day) holds two cohorts of that team's leads:
- "sources": of the leads that arrived that day (imported history left out), per source id:
  [leads, junk now, handed off, disputes on their deals, of which upheld];
- "answers": of the leads handed off that day, per answer given (question, kind, value, label):
  [answers, their deals won, lost, disputed away (upheld)].
A lead's answers do not change once it is handed off (a closed lead takes no answer), so the
writes that change a built day are the lead's own (state, source), its handoff, its deal's
stage and its dispute: reports/signals.py marks the lead's arrival day and handoff day."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connections, transaction
from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from deals.models import Deal
from handoff.models import Dispute, Handoff
from leads.models import Answer, Lead
from reports import rollups, today
from reports.models import InsightBuiltDay, InsightDay, InsightDirtyDay
from reports.person_rollups import mark_in_every_zone, zones

SOURCE_COUNTS = ("leads", "junk", "handoffs", "disputes", "upheld")
ANSWER_COUNTS = ("deals", "won", "lost", "disputed_away")
ANSWER_KEY = ("question", "kind", "value", "label")

Day = dict[str, Any]  # {"sources": {source id: [counts]}, "answers": [[*key, *counts]]}


def empty_day() -> Day:
    return {"sources": {}, "answers": []}


# --- reading ---------------------------------------------------------------------------------


@dataclass
class Totals:
    """A period's figures added up: {answer key: [ANSWER_COUNTS]}, {source id: [SOURCE_COUNTS]}."""

    answers: dict[tuple[str, ...], list[int]] = field(default_factory=dict)
    sources: dict[int, list[int]] = field(default_factory=dict)
    as_of: datetime | None = None  # when beat computed the open days (reports/today.py)

    def add_day(self, day: Day) -> None:
        width = len(ANSWER_KEY)
        for row in day["answers"]:
            _add(self.answers, tuple(row[:width]), row[width:])
        for source, counts in day["sources"].items():
            _add(self.sources, int(source), counts)


def _add(total: dict, key: Any, counts: list[int]) -> None:
    into = total.setdefault(key, [0] * len(counts))
    for i, n in enumerate(counts):
        into[i] += n


def totals(
    zone: ZoneInfo, first: date, last: date, teams: list[int], now: datetime | None = None
) -> Totals:
    """The days from `first` to `last` of `zone` of `teams` added up: the rows where good (on
    PostgreSQL added up by the database), the open days as beat last computed them
    (reports/today.py), the raw rows elsewhere."""
    now = now or timezone.now()
    built_before = rollups.buildable_until(zone, now)
    span = {"zone": zone.key, "day__gte": first, "day__lte": last}
    built = set(
        InsightBuiltDay.objects.filter(**span, day__lt=built_before).values_list("day", flat=True)
    )
    found = Totals()
    dirty: set[tuple[int, date]] = set()
    if built:
        dirty = set(
            InsightDirtyDay.objects.filter(**span, team__in=teams).values_list("team", "day")
        )
        stored = InsightDay.objects.filter(**span, day__in=sorted(built), team__in=teams).exclude(
            Exists(
                InsightDirtyDay.objects.filter(
                    zone=OuterRef("zone"), team=OuterRef("team"), day=OuterRef("day")
                )
            )
        )
        _add_stored(stored, found)
    live = [day for day in rollups.every_day(first, last) if day not in built]
    computed, as_of = _kept_today(zone, live, teams, now)
    rest = [day for day in live if day not in as_of]
    computed.update(day_figures(zone, rest, teams))
    for day in computed.values():
        found.add_day(day)
    found.as_of = today.oldest(list(as_of.values()))
    dirty = {(team, day) for team, day in dirty if day in built}
    if dirty:
        again = day_figures(zone, sorted({d for _, d in dirty}), sorted({t for t, _ in dirty}))
        for key, day in again.items():
            if key in dirty:
                found.add_day(day)
    return found


def _kept_today(
    zone: ZoneInfo, days: list[date], teams: list[int], now: datetime
) -> tuple[dict[tuple[int, date], Day], dict[date, datetime]]:
    """The teams' open days among `days` as beat last computed them (for every team), where
    fresh: ({(team id, day): Day}, {day: as of})."""
    kept = today.kept_days("insight", zone, zone.key, days, now)
    ours = set(teams)
    found = {
        (t, day): figures
        for day, entry in kept.items()
        for t, figures in entry["figures"].items()
        if t in ours
    }
    return found, {day: entry["as_of"] for day, entry in kept.items()}


def keep_today(now: datetime | None = None) -> int:
    """Beat (reports.tasks.refresh_today): every team's open days of every zone in use, from
    the raw rows, kept for the insights page (reports/today.py). Returns the entries kept."""
    now = now or timezone.now()
    entries: dict[str, today.Entry] = {}
    for zone in zones():
        days = today.open_days(zone, now)
        figures = day_figures(zone, days)
        for day in days:
            entries[today.key("insight", zone.key, day)] = {
                "as_of": now,
                "cut": {},
                "figures": {t: values for (t, d), values in figures.items() if d == day},
            }
    today.keep(entries)
    return len(entries)


# The rows' two parts added up by PostgreSQL: a quarter of all teams is ~1,000 rows of 3 KB,
# whose decoding and adding up in Python cost several times the database's doing it.
ANSWERS_SQL = """
SELECT a->>0, a->>1, a->>2, a->>3, sum((a->>4)::int), sum((a->>5)::int), sum((a->>6)::int),
       sum((a->>7)::int)
FROM ({rows}) d CROSS JOIN LATERAL jsonb_array_elements(d.figures->'answers') a
GROUP BY 1, 2, 3, 4
"""
SOURCES_SQL = """
SELECT s.key, sum((s.value->>0)::int), sum((s.value->>1)::int), sum((s.value->>2)::int),
       sum((s.value->>3)::int), sum((s.value->>4)::int)
FROM ({rows}) d CROSS JOIN LATERAL jsonb_each(d.figures->'sources') s
GROUP BY 1
"""


def _add_stored(rows: QuerySet[InsightDay], found: Totals) -> None:
    connection = connections[rows.db]  # the replica's, when reports read from it
    if connection.vendor != "postgresql":
        for figures in rows.values_list("figures", flat=True):
            found.add_day(figures)
        return
    sql, params = rows.values("figures").query.get_compiler(rows.db).as_sql()
    width = len(ANSWER_KEY)
    with connection.cursor() as cursor:
        cursor.execute(ANSWERS_SQL.format(rows=sql), params)
        for row in cursor.fetchall():
            _add(found.answers, tuple(row[:width]), list(row[width:]))
        cursor.execute(SOURCES_SQL.format(rows=sql), params)
        for source, *counts in cursor.fetchall():
            _add(found.sources, int(source), counts)


# --- computing from the raw rows -------------------------------------------------------------


def day_figures(
    zone: ZoneInfo, days: list[date], teams: list[int] | None = None
) -> dict[tuple[int, date], Day]:
    """Each team's figures for each of `days` (cut in `zone`) from the raw rows, in two grouped
    queries however many teams and days; only the team-days with anything."""
    found: dict[tuple[int, date], Day] = defaultdict(empty_day)
    if not days:
        return {}
    ours = Q() if teams is None else Q(team__in=teams)
    upheld = Dispute.Outcome.UPHELD
    # Lead → handoff, deal → dispute are one-to-one: the joins multiply nothing.
    leads = (
        Lead.objects.filter(
            ours,
            rollups.in_days("created_at", days, zone),
            imported_history=False,  # converted in another CRM: no handoff of this team's
            source__isnull=False,
        )
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("team", "day", "source")
        .annotate(
            leads=Count("id"),
            junk=Count("id", filter=Q(state=Lead.State.JUNK)),
            handoffs=Count("handoff"),
            disputes=Count("deal__dispute"),
            upheld=Count("deal__dispute", filter=Q(deal__dispute__outcome=upheld)),
        )
        .order_by()
    )
    for r in leads:
        found[(r["team"], r["day"])]["sources"][str(r["source"])] = [
            r[name] for name in SOURCE_COUNTS
        ]
    handed = "lead__handoff__handed_off_at"
    answers = (
        Answer.objects.filter(
            Q() if teams is None else Q(lead__team__in=teams), rollups.in_days(handed, days, zone)
        )
        .annotate(day=TruncDate(handed, tzinfo=zone))
        .values("lead__team", "day", *ANSWER_KEY)
        .annotate(
            deals=Count("id"),
            won=Count("id", filter=Q(lead__deal__stage=Deal.Stage.WON)),
            lost=Count("id", filter=Q(lead__deal__stage=Deal.Stage.LOST)),
            disputed_away=Count("id", filter=Q(lead__deal__dispute__outcome=upheld)),
        )
        .order_by()
    )
    for r in answers:
        found[(r["lead__team"], r["day"])]["answers"].append(
            [r[name] for name in (*ANSWER_KEY, *ANSWER_COUNTS)]
        )
    return dict(found)


# --- building --------------------------------------------------------------------------------


def build(zone: ZoneInfo, days: list[date], now: datetime | None = None) -> int:
    """Compute `days` of `zone` wholly for every team and store them, replacing what was
    there; clear the marks written before this began. Returns the rows written."""
    started = now or timezone.now()
    days = sorted({d for d in days if d < rollups.buildable_until(zone, started)})
    written = 0
    for at in range(0, len(days), rollups.CHUNK_DAYS):
        chunk = days[at : at + rollups.CHUNK_DAYS]
        rows = [
            InsightDay(team_id=team, zone=zone.key, day=day, figures=figures, built_at=started)
            for (team, day), figures in day_figures(zone, chunk).items()
        ]
        with transaction.atomic():
            InsightDay.objects.filter(zone=zone.key, day__in=chunk).delete()
            InsightDay.objects.bulk_create(rows, batch_size=2000)
            InsightBuiltDay.objects.bulk_create(
                [InsightBuiltDay(zone=zone.key, day=day, built_at=started) for day in chunk],
                update_conflicts=True,
                unique_fields=["zone", "day"],
                update_fields=["built_at"],
            )
            InsightDirtyDay.objects.filter(
                zone=zone.key, day__in=chunk, marked_at__lte=started
            ).delete()
        written += len(rows)
    return written


def refresh(everything: bool = False) -> dict[str, int]:
    """Build every closed day of every zone in use that is not built, from the first lead on,
    and rebuild every marked one (`everything`: every closed day). {"insight_days": rows}."""
    started = timezone.now()
    oldest = Lead.objects.aggregate(m=Min("created_at"))["m"]
    in_use = zones()
    # A zone no team uses any more is not marked by later writes: its days must not be read
    # again should a team move back to it.
    for model in (InsightDay, InsightBuiltDay, InsightDirtyDay):
        model.objects.exclude(zone__in=[zone.key for zone in in_use]).delete()
    written = 0
    for zone in in_use:
        until = rollups.buildable_until(zone, started)
        todo = set(
            InsightDirtyDay.objects.filter(zone=zone.key, day__lt=until).values_list(
                "day", flat=True
            )
        )
        if oldest is not None:
            # Handoffs come after their lead's arrival: the first lead's day is the first.
            first = timezone.localtime(oldest, zone).date()
            built = set(InsightBuiltDay.objects.filter(zone=zone.key).values_list("day", flat=True))
            todo.update(
                d
                for d in rollups.every_day(first, until - timedelta(days=1))
                if everything or d not in built
            )
        written += build(zone, sorted(todo), started)
    return {"insight_days": written}


# --- marking what later writes change --------------------------------------------------------


def touch(changes: Iterable[tuple[int | None, datetime | None]]) -> None:
    """A write changed these (lead's team id, moment)s' figures: once it commits, mark their
    days in every zone. Moments less than GRACE old mark nothing (their days are not built)."""
    mark_in_every_zone(InsightDirtyDay, "team", changes)


def touch_deal(deal: Deal) -> None:
    """A deal's stage or dispute changed: its lead's arrival day (source quality) and — for a
    deal handed off over GRACE ago — its handoff's day (the answers' outcomes)."""
    lead = deal.lead
    changes = [(lead.team_id, lead.created_at)]
    if deal.created_at < rollups.recent():
        changes += [
            (lead.team_id, handed)
            for handed in Handoff.objects.filter(deal=deal).values_list("handed_off_at", flat=True)
        ]
    touch(changes)
