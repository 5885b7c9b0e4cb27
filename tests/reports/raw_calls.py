"""The call report as reports/calls.py computed it before its roll-ups (reports/call_rollups.py):
every figure straight from the raw calls of the period. Kept as the definitions the roll-ups are
tested against (tests/reports/test_call_rollups.py), unchanged below.

Call metrics per qualifier and per qualification team (issue 17.5): calls made and received,
reached calls, reached calls of at least the team's N seconds against its daily norm, talk
time, calls per lead before a decision, and first calls within the SLA. README, "Reports",
holds each definition; this module is the one place they are computed, for the page, both
CSVs and the API alike.

Where the numbers come from (`source`): a team with an active PBX connection is measured from
the PBX's calls (`telephony.Call`: real start, direction and talk seconds); a team without one
from the attempts its qualifiers typed (`leads.ContactAttempt`: the typed time and duration).
A call belongs to the team whose PBX carried it (a typed attempt: to its lead's team), so a
qualifier in two teams is counted in each for that team's calls only.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from crm.teams.models import Team
from crm.teams.selectors import working_week
from leads.models import ContactAttempt, Lead, LeadEvent
from reports.periods import Period
from reports.selectors import share
from telephony.models import Call, PbxConnection

PBX, TYPED = "pbx", "typed"
SOURCE_CHOICES = [(PBX, "the PBX's calls"), (TYPED, "typed attempts")]  # the API's enum
REACHED = ContactAttempt.Outcome.REACHED
DECISIONS = (Lead.State.CONVERTED, Lead.State.JUNK)

# Every figure, in the order the page, the CSVs and the API give them.
FIGURES = (
    "calls_made",
    "calls_received",
    "calls_missed",
    "reached",
    "reached_long",
    "talk_s",
    "talk_s_average",
    "decided",
    "calls_per_decision",
    "first_calls",
    "first_calls_within_sla",
    "first_calls_within_sla_share",
    "working_days",
    "days_norm_met",
)


@dataclass(frozen=True)
class Source:
    """One kind of call record, by the names of its fields."""

    code: str
    user: str
    at: str
    seconds: str

    def all_calls(self, team: Team) -> QuerySet:
        if self.code == PBX:
            return Call.objects.filter(connection__team=team, state=Call.State.ENDED).order_by()
        return ContactAttempt.objects.filter(lead__team=team).order_by()

    def calls(self, team: Team, period: Period) -> QuerySet:
        span = {f"{self.at}__gte": period.start, f"{self.at}__lt": period.end}
        return self.all_calls(team).filter(**span)

    def long(self, seconds: int) -> Q:
        """A reached call of at least `seconds` of talk: exactly N counts, N − 1 does not."""
        return Q(outcome=REACHED, **{f"{self.seconds}__gte": seconds})

    def counts(self, seconds: int) -> dict:
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
    PBX: Source(PBX, user="user", at="started_at", seconds="talk_s"),
    TYPED: Source(TYPED, user="by", at="at", seconds="duration_s"),
}


def source_of(team: Team) -> Source:
    """The PBX's calls where the team has a PBX connected, else the typed attempts."""
    connected = PbxConnection.objects.filter(team=team, active=True).exists()
    return SOURCES[PBX if connected else TYPED]


def call_report(teams: list[Team], period: Period, now: datetime) -> list[dict]:
    """Each qualification team's call figures for the period's days in its own time zone.
    Today (in the team's zone, from `now`) is the last day judged against the norm: days
    still to come are no working days missed."""
    return [
        team_calls(
            team,
            Period(period.first_day, period.last_day, team.zone),
            timezone.localdate(now, team.zone),
        )
        for team in teams
        if team.kind == Team.Kind.QUALIFICATION
    ]


def team_calls(team: Team, period: Period, today: date) -> dict:
    source = source_of(team)
    calls = source.calls(team, period)
    counts = source.counts(team.call_norm_seconds)
    by_user = {row.pop(source.user): row for row in calls.values(source.user).annotate(**counts)}
    days = _days(team, period, today)
    daily = _daily(source, calls, team)
    decisions = _decisions(source, team, period)
    first = _first_calls(team, period)
    people = _people(team, by_user)
    qualifiers = []
    for user in people:
        no_calls = dict.fromkeys(counts, 0)  # what the source knows is 0, not unknown
        figures = _figures(
            by_user.get(user.pk, no_calls), decisions.get(user.pk), first.get(user.pk)
        )
        line = _norm_line(days, daily.get(user.pk, {}), team.call_norm_per_day)
        figures["working_days"] = sum(1 for day in line if day["working"])
        figures["days_norm_met"] = sum(1 for day in line if day["working"] and day["met"])
        qualifiers.append(
            {
                "id": user.pk,
                "username": user.get_username(),
                "name": user.get_full_name() or user.get_username(),
                "figures": figures,
                "days": line,
            }
        )
    totals = _figures(calls.aggregate(**counts), _sum(decisions.values()), _sum(first.values()))
    # The team's days are its qualifiers' days: "the norm was met on 30 of 40 qualifier-days".
    for key in ("working_days", "days_norm_met"):
        totals[key] = sum(q["figures"][key] for q in qualifiers)
    return {
        "id": team.pk,
        "name": team.name,
        "source": source.code,
        "time_zone": team.time_zone,
        "norm_seconds": team.call_norm_seconds,
        "norm_per_day": team.call_norm_per_day,
        "sla_minutes": team.sla_breach_minutes,
        "figures": totals,
        "qualifiers": qualifiers,
    }


def _figures(counts: dict, decided: tuple[int, int] | None, first: tuple[int, int] | None) -> dict:
    figures = dict.fromkeys(FIGURES)
    figures.update(counts)
    reached, talk = figures["reached"], figures["talk_s"]
    figures["talk_s_average"] = round(talk / reached, 1) if reached else None
    leads, calls = decided or (0, 0)
    figures["decided"] = leads
    figures["calls_per_decision"] = round(calls / leads, 2) if leads else None
    called, within = first or (0, 0)
    figures["first_calls"], figures["first_calls_within_sla"] = called, within
    figures["first_calls_within_sla_share"] = share(within, called)
    return figures


def _daily(source: Source, calls: QuerySet, team: Team) -> dict[int, dict[date, int]]:
    """Reached calls of at least N seconds per qualifier and local day of the team."""
    rows = (
        calls.filter(source.long(team.call_norm_seconds))
        .annotate(day=TruncDate(source.at, tzinfo=team.zone))
        .values(source.user, "day")
        .annotate(n=Count("pk"))
    )
    daily: dict[int, dict[date, int]] = {}
    for row in rows:
        daily.setdefault(row[source.user], {})[row["day"]] = row["n"]
    return daily


def _days(team: Team, period: Period, today: date) -> list[tuple[date, bool]]:
    """The period's days up to today, each with whether it is a working day of the team (it
    has opening hours and is no holiday; a team with no hours at all works every day)."""
    week = working_week(team)
    last = min(period.last_day, today)
    days = []
    day = period.first_day
    while day <= last:
        opens = not week.hours or bool(week.hours.get(day.weekday()))
        days.append((day, opens and day not in week.holidays))
        day += timedelta(days=1)
    return days


def _norm_line(days: list[tuple[date, bool]], counts: dict[date, int], norm: int) -> list[dict]:
    return [
        {
            "date": day,
            "reached_long": counts.get(day, 0),
            "working": working,
            "met": counts.get(day, 0) >= norm,
        }
        for day, working in days
    ]


def _decisions(source: Source, team: Team, period: Period) -> dict[int | None, tuple[int, int]]:
    """Per qualifier: the team's leads they decided in the period (converted, i.e. qualified
    and handed off, or junked) and the calls each of those leads had up to that moment."""
    before = (
        source.all_calls(team)
        .filter(lead=OuterRef("lead"), **{f"{source.at}__lte": OuterRef("at")})
        .values("lead")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        LeadEvent.objects.filter(
            lead__team=team,
            kind=LeadEvent.Kind.TRANSITION,
            to_state__in=DECISIONS,
            at__gte=period.start,
            at__lt=period.end,
        )
        .annotate(calls=Coalesce(Subquery(before, output_field=IntegerField()), Value(0)))
        .values_list("actor", "calls")
    )
    decided: dict[int | None, tuple[int, int]] = {}
    for actor, calls in rows:
        leads, total = decided.get(actor, (0, 0))
        decided[actor] = (leads + 1, total + calls)
    return decided


def _first_calls(team: Team, period: Period) -> dict[int, tuple[int, int]]:
    """Per qualifier: the first calls to the team's leads they made in the period, and how
    many came within the team's SLA (its breach minutes, in working time). The lead's first
    attempt time is the call's real start when the PBX logged it (telephony.services)."""
    rows = (
        ContactAttempt.objects.filter(
            lead__team=team,
            lead__imported_history=False,
            at=F("lead__first_attempt_at"),
            at__gte=period.start,
            at__lt=period.end,
        )
        .order_by()
        .values("by")
        .annotate(
            called=Count("lead", distinct=True),
            within=Count(
                "lead",
                distinct=True,
                filter=Q(lead__reaction_minutes__lte=team.sla_breach_minutes),
            ),
        )
    )
    return {row["by"]: (row["called"], row["within"]) for row in rows}


def _people(team: Team, by_user: dict) -> list:
    """The team's members, and anyone else whose calls the team's PBX carried."""
    ids = set(team.members.values_list("pk", flat=True)) | {pk for pk in by_user if pk}
    return list(
        get_user_model().objects.filter(pk__in=ids).order_by("last_name", "first_name", "username")
    )


def _sum(pairs) -> tuple[int, int]:
    pairs = list(pairs)
    return sum(a for a, _b in pairs), sum(b for _a, b in pairs)
