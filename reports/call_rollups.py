"""The call report's roll-ups: each qualification team's call figures per person and day of the
team's own time zone (CallDay), for reports/calls.py (added up by reports/call_totals.py).

The same design as the team roll-ups (reports/rollups.py), whose reasons apply here: a closed
day — ended GRACE ago — that has a row of the team's current cut and no CallDirtyDay mark is
read from its row; every other day (today, a day not built yet, a day a later write marked) is
computed from the raw rows by the function that builds the rows (`day_figures`), so the numbers
are today's definitions over today's data. What a row holds, per person (the call's qualifier,
the decision's actor, the first attempt's author; "" for nobody): FIELDS. Each adds up over days
exactly: a call, a decision and a lead's first call (one moment) are each on one day.

A row counts by the team's *cut*: where its numbers come from (a PBX connected or the typed
attempts), its call norm seconds (reached_long) and its SLA breach minutes (first calls within
the SLA), and its time zone (where the days are cut). A row of another cut than the team's now
is not read — so changing any of them, by any path, loses the team's rows at once — and the
next refresh replaces it.

The writes that change a closed day mark it (`touch_*`, called by reports/signals.py once the
write commits; moments less than GRACE old mark nothing): a call or attempt logged or moved to
an old moment (its day, and the days of its lead's decisions after it: their calls before the
decision), a decision logged late, a lead's first call set or moved. A lead never moves to
another team (nothing in the app moves one; Deadline.lead_team relies on it too)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from crm.teams.models import Team
from leads.models import ContactAttempt, Lead, LeadEvent
from reports import rollups
from reports.models import CallDay, CallDirtyDay
from telephony.models import Call, PbxConnection

PBX, TYPED = "pbx", "typed"
REACHED = ContactAttempt.Outcome.REACHED
DECISIONS = (Lead.State.CONVERTED, Lead.State.JUNK)

# One person's figures of one day, in this order in a row.
FIELDS = (
    "calls",  # every call of the source: a person with any is listed by the report
    "calls_made",
    "calls_received",
    "calls_missed",
    "reached",
    "reached_long",
    "talk_s",
    "decided",  # the team's leads this person converted or junked
    "calls_before",  # those leads' calls up to each decision
    "first_calls",  # the team's leads whose first call this person made
    "first_within",  # of those, the ones called within the SLA
)
AT = {name: i for i, name in enumerate(FIELDS)}
# Part of every row's cut: a change of FIELDS or of what one counts bumps it, so the rows built
# before are not read, and the next refresh rebuilds them.
ROW_VERSION = 1

Day = dict[str, list[int]]  # person id as a string ("" for nobody) → FIELDS


@dataclass(frozen=True)
class Source:
    """One kind of call record, by the names of its fields."""

    code: str
    user: str
    at: str
    seconds: str
    team: str  # whose call it is: the PBX's team, or the lead's

    def of_teams(self, teams: list[Team]) -> QuerySet:
        """The teams' calls: a PBX's calls once ended, or every typed attempt."""
        if self.code == PBX:
            return Call.objects.filter(
                connection__team__in=teams, state=Call.State.ENDED
            ).order_by()
        return ContactAttempt.objects.filter(lead__team__in=teams).order_by()

    def long(self, seconds: int | Case) -> Q:
        """A reached call of at least `seconds` of talk: exactly N counts, N − 1 does not."""
        return Q(outcome=REACHED, **{f"{self.seconds}__gte": seconds})

    def counts(self, seconds: int | Case) -> dict:
        """The aggregates of a set of calls. A typed attempt is always the qualifier's own call
        out; who called in, or was missed, only a PBX knows."""
        reached = Q(outcome=REACHED)
        if self.code == PBX:
            made, received = (
                Q(direction=Call.Direction.OUTBOUND),
                Q(direction=Call.Direction.INBOUND),
            )
            direction = {
                "calls_made": Count("pk", filter=made),
                "calls_received": Count("pk", filter=received),
                "calls_missed": Count("pk", filter=Q(missed=True)),
            }
        else:
            direction = {"calls_made": Count("pk")}
        return {
            **direction,
            "reached": Count("pk", filter=reached),
            "reached_long": Count("pk", filter=self.long(seconds)),
            "talk_s": Coalesce(Sum(self.seconds, filter=reached), 0),
        }


SOURCES = {
    PBX: Source(PBX, user="user", at="started_at", seconds="talk_s", team="connection__team"),
    TYPED: Source(TYPED, user="by", at="at", seconds="duration_s", team="lead__team"),
}


def source_of(team: Team) -> Source:
    """The PBX's calls where the team has a PBX connected, else the typed attempts."""
    return sources_of([team])[team.pk]


def sources_of(teams: list[Team]) -> dict[int, Source]:
    connected = set(
        PbxConnection.objects.filter(team__in=teams, active=True).values_list("team", flat=True)
    )
    return {team.pk: SOURCES[PBX if team.pk in connected else TYPED] for team in teams}


def cut_of(team: Team, source: Source) -> str:
    """What a team's rows count by: a change of any part makes them another team's."""
    norm, sla = team.call_norm_seconds, team.sla_breach_minutes
    return f"v{ROW_VERSION} {source.code} {team.time_zone} {norm} {sla}"


def person_key(pk: int | None) -> str:
    return "" if pk is None else str(pk)


Key = tuple[int, date]  # (team id, day)


# --- reading ---------------------------------------------------------------------------------


def groups(teams: list[Team], sources: dict[int, Source]) -> list[list[Team]]:
    """The teams by time zone and source: each group's live days are one pass of queries."""
    found: dict[tuple[str, str], list[Team]] = {}
    for team in teams:
        found.setdefault((team.time_zone, sources[team.pk].code), []).append(team)
    return list(found.values())


def built_days(
    teams: list[Team], source: Source, first: date, last: date, now: datetime | None
) -> dict[Key, datetime]:
    """The days from `first` to `last` of `teams` (of one zone and source) to read from their
    rows — closed, of the team's current cut, not marked — with when each row was built."""
    built_before = rollups.buildable_until(teams[0].zone, now)
    if first >= built_before:
        return {}
    dirty = set(
        CallDirtyDay.objects.filter(team__in=teams, day__gte=first, day__lte=last).values_list(
            "team", "day"
        )
    )
    cuts = {team.pk: cut_of(team, source) for team in teams}
    rows = CallDay.objects.filter(
        team__in=teams, day__gte=first, day__lte=min(last, built_before - timedelta(days=1))
    ).values_list("team", "day", "cut", "built_at")
    return {
        (team, day): built_at
        for team, day, cut, built_at in rows
        if cut == cuts[team] and (team, day) not in dirty
    }


def loaded_days(teams: list[Team], want: dict[Key, datetime]) -> dict[Key, Day]:
    """The rows of `want` ({(team, day): built_at}) as they were built then: a row rebuilt or
    dropped since is left out (its day is read live)."""
    if not want:
        return {}
    days = [day for _team, day in want]
    rows = CallDay.objects.filter(
        team__in=teams, day__gte=min(days), day__lte=max(days)
    ).values_list("team", "day", "built_at", "figures")
    return {(team, day): figures for team, day, at, figures in rows if want.get((team, day)) == at}


# --- computing from the raw rows -------------------------------------------------------------


def day_figures(teams: list[Team], source: Source, days: list[date]) -> dict[Key, Day]:
    """The figures of each of `teams` (of one zone and source) for each of `days`, from the
    raw rows, in three grouped queries however many teams and days: every day, empty too."""
    found: dict[Key, Day] = {(team.pk, day): {} for team in teams for day in days}
    if days and teams:
        zone = teams[0].zone
        _calls(teams, source, days, zone, found)
        _decisions(teams, source, days, zone, found)
        _first_calls(teams, days, zone, found)
    return found


def _person(found: dict[Key, Day], team: int, day: date, pk: int | None) -> list[int]:
    return found[(team, day)].setdefault(person_key(pk), [0] * len(FIELDS))


def _per_team(field: str, teams: list[Team], value: str) -> Case:
    """Each team's own setting (its norm seconds, its SLA minutes) as a CASE over the row's
    team, so that one query counts every team by its own."""
    return Case(
        *(When(**{field: team.pk}, then=Value(getattr(team, value))) for team in teams),
        default=Value(None),
        output_field=IntegerField(),
    )


def _calls(teams: list[Team], source: Source, days, zone: ZoneInfo, found: dict) -> None:
    team = source.team
    counts = source.counts(_per_team(team, teams, "call_norm_seconds"))
    rows = (
        source.of_teams(teams)
        .filter(rollups.in_days(source.at, days, zone))
        .annotate(day=TruncDate(source.at, tzinfo=zone))
        .values(team, source.user, "day")
        .annotate(calls=Count("pk"), **counts)
    )
    for r in rows:
        figures = _person(found, r[team], r["day"], r[source.user])
        for name in ("calls", *counts):
            figures[AT[name]] = r[name]


def _decisions(teams: list[Team], source: Source, days, zone: ZoneInfo, found: dict) -> None:
    """The teams' leads converted (qualified and handed off) or junked on each day, by whoever
    made the move, and the calls each lead had up to that moment (by anyone, of its team's
    source: the PBX calls its team's PBX carried, or its typed attempts)."""
    before = (
        source.of_teams(teams)
        .filter(
            lead=OuterRef("lead"),
            **{source.team: OuterRef("lead__team"), f"{source.at}__lte": OuterRef("at")},
        )
        .values("lead")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        LeadEvent.objects.filter(
            rollups.in_days("at", days, zone),
            lead__team__in=teams,
            kind=LeadEvent.Kind.TRANSITION,
            to_state__in=DECISIONS,
        )
        .annotate(
            day=TruncDate("at", tzinfo=zone),
            calls=Coalesce(Subquery(before, output_field=IntegerField()), Value(0)),
        )
        .order_by()
        .values_list("lead__team", "actor", "day", "calls")
    )
    for team, actor, day, calls in rows:
        figures = _person(found, team, day, actor)
        figures[AT["decided"]] += 1
        figures[AT["calls_before"]] += calls


def _first_calls(teams: list[Team], days, zone: ZoneInfo, found: dict) -> None:
    """The teams' leads first called on each day, per author of that first attempt, and how
    many within their team's SLA breach minutes. A lead's first call is one moment, so it is on
    one day: the distinct counts of the days add up to the period's."""
    within = _per_team("lead__team", teams, "sla_breach_minutes")
    rows = (
        ContactAttempt.objects.filter(
            rollups.in_days("at", days, zone),
            lead__team__in=teams,
            lead__imported_history=False,
            at=F("lead__first_attempt_at"),
        )
        .annotate(day=TruncDate("at", tzinfo=zone))
        .order_by()
        .values("lead__team", "by", "day")
        .annotate(
            called=Count("lead", distinct=True),
            within=Count("lead", distinct=True, filter=Q(lead__reaction_minutes__lte=within)),
        )
    )
    for r in rows:
        figures = _person(found, r["lead__team"], r["day"], r["by"])
        figures[AT["first_calls"]] = r["called"]
        figures[AT["first_within"]] = r["within"]


# --- building --------------------------------------------------------------------------------


def build(team: Team, source: Source, days: list[date], now: datetime | None = None) -> int:
    """Compute the team's `days` wholly and store them under its cut, replacing what was there;
    clear the marks written before this began. Returns the rows written."""
    started = now or timezone.now()
    cut = cut_of(team, source)
    days = sorted({d for d in days if d < rollups.buildable_until(team.zone, started)})
    written = 0
    for at in range(0, len(days), rollups.CHUNK_DAYS):
        chunk = days[at : at + rollups.CHUNK_DAYS]
        rows = [
            CallDay(team=team, day=day, cut=cut, figures=figures, built_at=started)
            for (_team, day), figures in day_figures([team], source, chunk).items()
        ]
        with transaction.atomic():
            CallDay.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["team", "day"],
                update_fields=["cut", "figures", "built_at"],
            )
            CallDirtyDay.objects.filter(team=team, day__in=chunk, marked_at__lte=started).delete()
        written += len(rows)
    return written


def refresh(teams: list[Team] | None = None, everything: bool = False) -> dict[str, int]:
    """Build every closed day of every qualification team that has no row of the team's cut,
    from its first data on, and rebuild every marked one (`everything`: every closed day).
    Returns {"call_days": rows written}."""
    started = timezone.now()
    teams = list(Team.objects.all()) if teams is None else teams
    written = 0
    for team in teams:
        if team.kind != Team.Kind.QUALIFICATION:
            continue
        source = source_of(team)
        # Rows of another cut are never read again: gone, and rebuilt below.
        CallDay.objects.filter(team=team).exclude(cut=cut_of(team, source)).delete()
        until = rollups.buildable_until(team.zone, started)
        todo = set(
            CallDirtyDay.objects.filter(team=team, day__lt=until).values_list("day", flat=True)
        )
        built = set(CallDay.objects.filter(team=team).values_list("day", flat=True))
        first = first_day(team, source, built)
        if first is not None:
            todo.update(
                d
                for d in rollups.every_day(first, until - timedelta(days=1))
                if everything or d not in built
            )
        written += build(team, source, sorted(todo), started)
    return {"call_days": written}


def first_day(team: Team, source: Source, built: set[date]) -> date | None:
    """The team's first local day with anything the call report counts: its first lead's (its
    attempts and decisions come after), or its PBX's first call. Once the team has rows, an
    older call can only come from a late write, which marks its day: the calls are not
    scanned again."""
    found = [d for d in (rollups.first_day(team), min(built, default=None)) if d is not None]
    if source.code == PBX and not built:
        started = Call.objects.filter(connection__team=team).order_by("started_at").first()
        if started is not None:
            found.append(timezone.localtime(started.started_at, team.zone).date())
    return min(found) if found else None


# --- marking what later writes change --------------------------------------------------------


def touch(changes: Iterable[tuple[int | None, datetime | None]]) -> None:
    """A write changed these (team id, moment)s' call figures: once it commits, mark their
    days. Moments less than GRACE old mark nothing (their days are not built)."""
    rollups.touch(changes, marks=CallDirtyDay)


def _old(moments: Iterable[datetime | None]) -> list[datetime]:
    before = rollups.recent()
    return [at for at in moments if at is not None and at < before]


def touch_attempt(attempt: ContactAttempt, moments: Iterable[datetime | None]) -> None:
    """A typed attempt saved with an old moment, or moved from one (`moments`: its time now
    and as loaded): its day of the lead's team, and the days of the lead's decisions after it."""
    old = _old(moments)
    if old:
        team = attempt.lead.team_id
        touch([(team, at) for at in old] + _decisions_since(attempt.lead_id, min(old)))


def touch_call(call: Call, moments: Iterable[datetime | None]) -> None:
    """A PBX call saved with an old start, or moved from one: its day of the PBX's team, and
    the days of its lead's decisions after it."""
    old = _old(moments)
    if old:
        changes = [(call.connection.team_id, at) for at in old]
        if call.lead_id is not None:
            changes += _decisions_since(call.lead_id, min(old))
        touch(changes)


def touch_decision(event: LeadEvent) -> None:
    if event.kind == LeadEvent.Kind.TRANSITION and event.to_state in DECISIONS and _old([event.at]):
        touch([(event.lead.team_id, event.at)])


def _decision_events(lead_id: int) -> QuerySet:
    return LeadEvent.objects.filter(
        lead=lead_id, kind=LeadEvent.Kind.TRANSITION, to_state__in=DECISIONS
    )


def _decisions_since(lead_id: int, since: datetime) -> list[tuple[int, datetime]]:
    """(team, moment) of the lead's decisions at or after `since` that may be built: their
    calls before the decision changed. One indexed read (lead_event_timeline), late calls only."""
    return list(
        _decision_events(lead_id)
        .filter(at__gte=since, at__lt=rollups.recent())
        .values_list("lead__team_id", "at")
    )
