"""The person report's and the leaderboard's roll-ups: each person's figures per day (PersonDay).

The same design as the team roll-ups (reports/rollups.py): a closed day — ended GRACE ago —
that is built and not marked is read from its rows; every other day (today, a day not built
yet, a person-day a later write marked) is computed from the raw rows by the function that
builds the rows (`day_figures`), so the numbers are today's definitions over today's data
(the leaderboard's today by beat once a minute for everybody: reports/today.py). What differs:
- a page's period is cut in its reader's zone (their first team's, else TIME_ZONE), so each
  day is kept once per zone in use (`zones()`); a reader in a zone not built yet is served
  live until the job builds it;
- only people who did something that day have a row; `PersonBuiltDay` says a zone's day is
  built, so a missing row then means "nothing done";
- a day is built wholly for everybody; marks (`touch`) are per person, so a reader only
  recomputes the marked people's days.
Besides the person report's counts a row keeps the leaderboard's, by team (the board counts
only its teams' work): reached calls and checks by the lead's team, conversions by the
handoff's teams, wins by the deal's and its lead's team, and qualifier → closer chains (on
the closer's row) by the handoff's teams."""

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from crm.teams.models import Team
from deals.models import Deal
from handoff.models import Dispute, Handoff
from leads.models import ContactAttempt, Lead, LeadEvent
from reports import histogram, rollups, team_totals, today
from reports.models import PersonBuiltDay, PersonDay, PersonDirtyDay

REACHED_CALL_SECONDS = 30
COUNTS = (
    "calls",
    "reached_calls",
    "first_calls",
    "checked",
    "converted",
    "junk",
    "handoffs",
    "handoffs_won",
    "disputes_upheld",
    "accepted",
    "won",
    "lost",
    "disputes_rejected",
)
# The leaderboard's counts: {"team id" or "from:to" team ids: n}; chains {"qualifier:from:to":
# [handoffs, won]} on the closer's row.
BOARD = ("reached", "checks", "conversions", "wins", "chains")
BOARD_VERSION = 1  # in the cached boards' keys: bump when what a board sum holds changes

Day = dict[str, Any]  # one (person, day)'s figures; "reactions" is a histogram.value()


def empty_day() -> Day:
    return {
        **dict.fromkeys(COUNTS, 0),
        "revenue": None,
        "board": {name: {} for name in BOARD},
        "reactions": 0,
    }


def zones() -> list[ZoneInfo]:
    """The zones a report page may be cut in: every team's, and the default (admins)."""
    names = set(Team.objects.values_list("time_zone", flat=True)) | {settings.TIME_ZONE}
    return [ZoneInfo(name) for name in sorted(names)]


# --- reading ---------------------------------------------------------------------------------


def person_days(
    zone: ZoneInfo,
    first: date,
    last: date,
    people: list[int] | None = None,
    now: datetime | None = None,
) -> dict[tuple[int, date], Day]:
    """{(person id, day): Day} of `people` (None: everybody) for the days from `first` to
    `last` of `zone`, for the person-days with anything in them: rows where good, raw elsewhere."""
    mine = Q() if people is None else Q(person__in=people)
    built_before = rollups.buildable_until(zone, now)
    span = {"zone": zone.key, "day__gte": first, "day__lte": last}
    built = set(
        PersonBuiltDay.objects.filter(**span, day__lt=built_before).values_list("day", flat=True)
    )
    found: dict[tuple[int, date], Day] = {}
    dirty: set[tuple[int, date]] = set()
    if built:
        dirty = set(PersonDirtyDay.objects.filter(mine, **span).values_list("person", "day"))
        rows = PersonDay.objects.filter(mine, **span, day__lt=built_before)
        for person, day, figures, reactions in rows.values_list(
            "person", "day", "figures", "reactions"
        ):
            if day in built and (person, day) not in dirty:
                found[(person, day)] = {
                    **empty_day(),
                    **figures,
                    "reactions": histogram.value(reactions),
                }
    live = [day for day in rollups.every_day(first, last) if day not in built]
    if live:
        # Everybody's live days (the leaderboard's today) are read person by person too, so
        # every query is a range of a person-first index, not a scan of the day's table.
        found.update(day_figures(zone, live, _everybody() if people is None else people))
    dirty = {(person, day) for person, day in dirty if day in built}
    if dirty:
        again = day_figures(zone, sorted({d for _, d in dirty}), sorted({p for p, _ in dirty}))
        found.update((key, day) for key, day in again.items() if key in dirty)
    return found


Counts = dict[tuple[int, str, str], int]  # (person, action, team key): n
Chains = dict[tuple[int, str], list[int]]  # (closer, "qualifier:from:to"): [handoffs, won]


def board_totals(
    zone: ZoneInfo, first: date, last: date, now: datetime | None = None
) -> tuple[Counts, Chains, datetime | None]:
    """Everybody's leaderboard counts over the days from `first` to `last` of `zone`, still by
    team key: the stored days added up by the database on PostgreSQL (the board reads every
    person's day of the period: ~9,000 at 1M for a quarter) and that sum cached under a key
    naming the days' build times and the marks (`_board_key`), the open days as beat last
    computed them (reports/today.py), the other days from the raw rows. The third value: when
    the open days were computed (None: by this read, or none in the period)."""
    now = now or timezone.now()
    built_before = rollups.buildable_until(zone, now)
    span = {"zone": zone.key, "day__gte": first, "day__lte": last}
    built = dict(
        PersonBuiltDay.objects.filter(**span, day__lt=built_before).values_list("day", "built_at")
    )
    counts: Counts = defaultdict(int)
    chains: Chains = {}
    dirty: set[tuple[int, date]] = set()
    if built:
        dirty = set(PersonDirtyDay.objects.filter(**span).values_list("person", "day"))
        dirty = {(person, day) for person, day in dirty if day in built}
        sum_key = _board_key(zone, built, dirty)
        kept = team_totals.cached([sum_key]).get(sum_key)
        if kept is None:
            stored = PersonDay.objects.filter(**span, day__in=sorted(built)).exclude(
                Exists(
                    PersonDirtyDay.objects.filter(
                        zone=OuterRef("zone"), person=OuterRef("person"), day=OuterRef("day")
                    )
                )
            )
            _add_stored_boards(stored, counts, chains)
            team_totals.keep({sum_key: (dict(counts), chains)})
        else:
            counts.update(kept[0])
            chains = kept[1]
    live = [day for day in rollups.every_day(first, last) if day not in built]
    computed, as_of = _kept_today(zone, live, now)
    rest = [day for day in live if day not in as_of]
    if rest:
        computed.update(day_figures(zone, rest, _everybody()))
    if dirty:
        again = day_figures(zone, sorted({d for _, d in dirty}), sorted({p for p, _ in dirty}))
        computed.update((key, day) for key, day in again.items() if key in dirty)
    for (person, _day), day in computed.items():
        _add_board(person, day["board"], counts, chains)
    return counts, chains, today.oldest(list(as_of.values()))


def _board_key(zone: ZoneInfo, built: dict[date, datetime], dirty: set[tuple[int, date]]) -> str:
    """The stored boards' sum depends only on the zone's built days (a day's rows are replaced
    with its PersonBuiltDay's `built_at`, in one transaction) and the marked person-days left
    out: a rebuild or a new mark gives another key."""
    days = ";".join(f"{d.isoformat()}@{at.isoformat()}" for d, at in sorted(built.items()))
    marked = ";".join(f"{p}@{d.isoformat()}" for p, d in sorted(dirty))
    digest = hashlib.sha256(f"{zone.key}|{days}|{marked}".encode()).hexdigest()
    return f"reports:board-totals:{BOARD_VERSION}:{digest}"


def _kept_today(
    zone: ZoneInfo, days: list[date], now: datetime
) -> tuple[dict[tuple[int, date], Day], dict[date, datetime]]:
    """Everybody's open days among `days` as beat last computed them, where fresh:
    ({(person, day): Day}, {day: as of})."""
    kept = today.kept_days("person", zone, zone.key, days, now)
    found = {(p, day): figures for day, e in kept.items() for p, figures in e["figures"].items()}
    return found, {day: entry["as_of"] for day, entry in kept.items()}


def keep_today(now: datetime | None = None) -> int:
    """Beat (reports.tasks.refresh_today): everybody's open days of every zone in use, from the
    raw rows, kept for the leaderboard (reports/today.py). Returns the entries kept."""
    now = now or timezone.now()
    entries: dict[str, today.Entry] = {}
    everybody = _everybody()
    for zone in zones():
        days = today.open_days(zone, now)
        figures = day_figures(zone, days, everybody)
        for day in days:
            entries[today.key("person", zone.key, day)] = {
                "as_of": now,
                "cut": {},
                "figures": {p: values for (p, d), values in figures.items() if d == day},
            }
    today.keep(entries)
    return len(entries)


def _add_board(person: int, board: dict, counts: Counts, chains: Chains) -> None:
    for name in BOARD[:-1]:  # all but "chains"
        for key, n in board[name].items():
            counts[(person, name, key)] += n
    for key, (handoffs, won) in board["chains"].items():
        chain = chains.setdefault((person, key), [0, 0])
        chain[0] += handoffs
        chain[1] += won


BOARD_SQL = """
SELECT d.person, n.name, c.key, sum(c.value::int)
FROM ({rows}) d
CROSS JOIN LATERAL unnest(ARRAY['reached', 'checks', 'conversions', 'wins']) n(name)
CROSS JOIN LATERAL jsonb_each_text(d.figures->'board'->n.name) c
GROUP BY 1, 2, 3
"""
CHAINS_SQL = """
SELECT d.person, c.key, sum((c.value->>0)::int), sum((c.value->>1)::int)
FROM ({rows}) d CROSS JOIN LATERAL jsonb_each(d.figures->'board'->'chains') c
GROUP BY 1, 2
"""


def _add_stored_boards(rows: QuerySet[PersonDay], counts: Counts, chains: Chains) -> None:
    connection = connections[rows.db]  # the replica's, when reports read from it
    if connection.vendor != "postgresql":
        for person, board in rows.values_list("person", "figures__board"):
            _add_board(person, board, counts, chains)
        return
    sql, params = rows.values("person", "figures").query.get_compiler(rows.db).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(BOARD_SQL.format(rows=sql), params)
        for person, name, key, n in cursor.fetchall():
            counts[(person, name, key)] += n
        cursor.execute(CHAINS_SQL.format(rows=sql), params)
        for person, key, handoffs, won in cursor.fetchall():
            chain = chains.setdefault((person, key), [0, 0])
            chain[0] += handoffs
            chain[1] += won


def _everybody() -> list[int]:
    return list(get_user_model().objects.order_by("pk").values_list("pk", flat=True))


# --- computing from the raw rows -------------------------------------------------------------


def day_figures(
    zone: ZoneInfo, days: list[date], people: list[int] | None = None
) -> dict[tuple[int, date], Day]:
    """Each person's figures for each of `days` (cut in `zone`), from the raw rows, in nine
    grouped queries however many people and days; only the person-days with anything."""
    found: dict[tuple[int, date], Day] = defaultdict(empty_day)
    if days:
        _calls(zone, days, people, found)
        _decisions(zone, days, people, found)
        _handoffs(zone, days, people, found)
        _deals(zone, days, people, found)
    return dict(found)


def _only(field: str, people: list[int] | None) -> Q:
    return Q() if people is None else Q(**{f"{field}__in": people})


def _by_day(rows, moment: str, days: list[date], zone: ZoneInfo, person: str, people):
    """Rows whose `moment` falls in `days`, of `people`, with their local day."""
    return rows.filter(
        rollups.in_days(moment, days, zone), _only(person, people), **{f"{person}__isnull": False}
    ).annotate(day=TruncDate(moment, tzinfo=zone))


def _key(*team_ids: int | None) -> str:
    return ":".join("" if t is None else str(t) for t in team_ids)


def _bump(counts: dict, key: str, n: int) -> None:
    if n:
        counts[key] = counts.get(key, 0) + n


def _calls(zone: ZoneInfo, days: list[date], people, found: dict) -> None:
    attempts = _by_day(ContactAttempt.objects, "at", days, zone, "by", people)
    # The lead's first call: the call whose moment is the lead's first_attempt_at.
    first = Q(at=F("lead__first_attempt_at"))
    reached = Q(outcome=ContactAttempt.Outcome.REACHED, duration_s__gte=REACHED_CALL_SECONDS)
    for r in (
        attempts.values("by", "day", "lead__team")
        .annotate(
            calls=Count("id"),
            reached_calls=Count("id", filter=reached),
            first_calls=Count("id", filter=first),
        )
        .order_by()
    ):
        day = found[(r["by"], r["day"])]
        for name in ("calls", "reached_calls", "first_calls"):
            day[name] += r[name]
        _bump(day["board"]["reached"], _key(r["lead__team"]), r["reached_calls"])
    # The reaction of each lead first called (counted once, as `pk__in` counts it).
    buckets = (
        attempts.filter(first, lead__reaction_minutes__isnull=False)
        .annotate(bucket=histogram.bucket_sql("lead__reaction_minutes"))
        .values("by", "day", "bucket")
        .annotate(n=Count("lead", distinct=True))
        .order_by()
    )
    for (person, day_date), cells in groupby(
        sorted(buckets, key=lambda r: (r["by"], r["day"])), key=lambda r: (r["by"], r["day"])
    ):
        found[(person, day_date)]["reactions"] = histogram.pack(
            {c["bucket"]: c["n"] for c in cells}
        )


def _decisions(zone: ZoneInfo, days: list[date], people, found: dict) -> None:
    events = _by_day(
        LeadEvent.objects.filter(kind=LeadEvent.Kind.TRANSITION), "at", days, zone, "actor", people
    )
    for r in (
        events.values("actor", "day", "lead__team")
        .annotate(
            checked=Count("id", filter=Q(to_state=Lead.State.CHECKED)),
            converted=Count("id", filter=Q(to_state=Lead.State.CONVERTED)),
            junk=Count("id", filter=Q(to_state=Lead.State.JUNK)),
        )
        .order_by()
    ):
        if r["checked"] or r["converted"] or r["junk"]:
            day = found[(r["actor"], r["day"])]
            for name in ("checked", "converted", "junk"):
                day[name] += r[name]
            _bump(day["board"]["checks"], _key(r["lead__team"]), r["checked"])


def _handoffs(zone: ZoneInfo, days: list[date], people, found: dict) -> None:
    upheld = Q(dispute__outcome=Dispute.Outcome.UPHELD)
    made = _by_day(Handoff.objects, "handed_off_at", days, zone, "qualifier", people)
    for r in (
        made.values("qualifier", "day")
        .annotate(
            handoffs=Count("id"),
            handoffs_won=Count("id", filter=Q(deal__stage=Deal.Stage.WON)),
            disputes_upheld=Count("dispute", filter=upheld),
        )
        .order_by()
    ):
        day = found[(r["qualifier"], r["day"])]
        for name in ("handoffs", "handoffs_won", "disputes_upheld"):
            day[name] += r[name]
    # A conversion counts on the board unless a dispute took it back.
    for r in (
        made.exclude(upheld)
        .values("qualifier", "day", "from_team", "team")
        .annotate(n=Count("id"))
        .order_by()
    ):
        conversions = found[(r["qualifier"], r["day"])]["board"]["conversions"]
        _bump(conversions, _key(r["from_team"], r["team"]), r["n"])
    chains = _by_day(
        Handoff.objects.exclude(upheld), "handed_off_at", days, zone, "deal__closer", people
    )
    for r in (
        chains.values("deal__closer", "day", "qualifier", "from_team", "team")
        .annotate(handoffs=Count("id"), won=Count("id", filter=Q(deal__stage=Deal.Stage.WON)))
        .order_by()
    ):
        board = found[(r["deal__closer"], r["day"])]["board"]["chains"]
        chain = board.setdefault(_key(r["qualifier"], r["from_team"], r["team"]), [0, 0])
        chain[0] += r["handoffs"]
        chain[1] += r["won"]


def _deals(zone: ZoneInfo, days: list[date], people, found: dict) -> None:
    for r in (
        _by_day(Deal.objects, "accepted_at", days, zone, "closer", people)
        .values("closer", "day")
        .annotate(n=Count("id"))
        .order_by()
    ):
        found[(r["closer"], r["day"])]["accepted"] += r["n"]
    won = Q(stage=Deal.Stage.WON)
    for r in (
        _by_day(Deal.objects, "closed_at", days, zone, "closer", people)
        .values("closer", "day", "team", "lead__team")
        .annotate(
            won=Count("id", filter=won),
            lost=Count("id", filter=Q(stage=Deal.Stage.LOST)),
            revenue=Sum("amount", filter=won),
        )
        .order_by()
    ):
        day = found[(r["closer"], r["day"])]
        day["won"] += r["won"]
        day["lost"] += r["lost"]
        if r["revenue"] is not None:
            day["revenue"] = rollups.amount(Decimal(day["revenue"] or 0) + r["revenue"])
        _bump(day["board"]["wins"], _key(r["team"], r["lead__team"]), r["won"])
    rejected = Dispute.objects.filter(outcome=Dispute.Outcome.REJECTED)
    for r in (
        _by_day(rejected, "resolved_at", days, zone, "deal__closer", people)
        .values("deal__closer", "day")
        .annotate(n=Count("id"))
        .order_by()
    ):
        found[(r["deal__closer"], r["day"])]["disputes_rejected"] += r["n"]


# --- building --------------------------------------------------------------------------------


def build(zone: ZoneInfo, days: list[date], now: datetime | None = None) -> int:
    """Compute `days` of `zone` wholly for everybody and store them, replacing what was there;
    clear the marks written before this began. Returns the rows written."""
    started = now or timezone.now()
    days = sorted({d for d in days if d < rollups.buildable_until(zone, started)})
    written = 0
    for at in range(0, len(days), rollups.CHUNK_DAYS):
        chunk = days[at : at + rollups.CHUNK_DAYS]
        rows = [
            _row(person, zone.key, day, values, started)
            for (person, day), values in day_figures(zone, chunk).items()
        ]
        with transaction.atomic():
            PersonDay.objects.filter(zone=zone.key, day__in=chunk).delete()
            PersonDay.objects.bulk_create(rows, batch_size=2000)
            PersonBuiltDay.objects.bulk_create(
                [PersonBuiltDay(zone=zone.key, day=day, built_at=started) for day in chunk],
                update_conflicts=True,
                unique_fields=["zone", "day"],
                update_fields=["built_at"],
            )
            PersonDirtyDay.objects.filter(
                zone=zone.key, day__in=chunk, marked_at__lte=started
            ).delete()
        written += len(rows)
    return written


def _row(person: int, zone: str, day: date, values: Day, built_at: datetime) -> PersonDay:
    figures = dict(values)
    reactions = figures.pop("reactions", 0)
    return PersonDay(
        person_id=person,
        zone=zone,
        day=day,
        figures=figures,
        reactions=histogram.to_bytes(reactions),
        built_at=built_at,
    )


def refresh(everything: bool = False) -> dict[str, int]:
    """Build every closed day of every zone in use that is not built, from the first data on,
    and rebuild every marked one (`everything`: every closed day). {"person_days": rows}."""
    started = timezone.now()
    firsts = [d for d in (rollups.first_day(t) for t in Team.objects.all()) if d is not None]
    # A day earlier: the teams' dates are local, and another zone's day may start before.
    first = min(firsts) - timedelta(days=1) if firsts else None
    written = 0
    in_use = zones()
    # A zone no team uses any more is not marked by later writes: its days must not be read
    # again should a team move back to it.
    for model in (PersonDay, PersonBuiltDay, PersonDirtyDay):
        model.objects.exclude(zone__in=[zone.key for zone in in_use]).delete()
    for zone in in_use:
        until = rollups.buildable_until(zone, started)
        todo = set(
            PersonDirtyDay.objects.filter(zone=zone.key, day__lt=until).values_list(
                "day", flat=True
            )
        )
        if first is not None:
            built = set(PersonBuiltDay.objects.filter(zone=zone.key).values_list("day", flat=True))
            todo.update(
                d
                for d in rollups.every_day(first, until - timedelta(days=1))
                if everything or d not in built
            )
        written += build(zone, sorted(todo), started)
    return {"person_days": written}


# --- marking what later writes change --------------------------------------------------------


def touch(changes: Iterable[tuple[int | None, datetime | None]]) -> None:
    """A write changed these (person id, moment)s' figures: once it commits, mark their days
    in every zone. Moments less than GRACE old mark nothing (their days are not built)."""
    mark_in_every_zone(PersonDirtyDay, "person", changes)


def mark_in_every_zone(
    marks: type[Any],
    subject: str,
    changes: Iterable[tuple[int | None, datetime | None]],
) -> None:
    """Once the write commits, mark the days of these (subject id, moment)s in every zone in
    use, as rows of `marks` (a dirty-day model keyed by zone, `subject` and day): the person
    roll-ups' and the insights' alike, both cut in the reader's zone."""
    before = rollups.recent()
    old = {(s, at) for s, at in changes if s is not None and at is not None and at < before}
    if old:
        transaction.on_commit(lambda: _mark(marks, subject, old))


def touch_deal(deal: Deal) -> None:
    """A deal's stage, amount, closer or dispute changed: its closer's days of acceptance and
    closing, and — for a deal handed off over GRACE ago — the handoff's day for the qualifier
    (handoffs won, disputes upheld, conversions) and the closer (chains)."""
    changes = [(deal.closer_id, deal.accepted_at), (deal.closer_id, deal.closed_at)]
    if deal.created_at < rollups.recent():
        for qualifier, handed in Handoff.objects.filter(deal=deal).values_list(
            "qualifier_id", "handed_off_at"
        ):
            changes += [(qualifier, handed), (deal.closer_id, handed)]
    touch(changes)


def _mark(marks: type[Any], subject: str, changes: set[tuple[int, datetime]]) -> None:
    now = timezone.now()
    days = {
        (pk, zone.key, timezone.localtime(at, zone).date())
        for zone in zones()
        for pk, at in changes
    }
    marks.objects.bulk_create(
        [
            marks(**{f"{subject}_id": pk}, zone=zone, day=day, marked_at=now)
            for pk, zone, day in sorted(days)
        ],
        update_conflicts=True,
        unique_fields=["zone", subject, "day"],
        update_fields=["marked_at"],
    )
