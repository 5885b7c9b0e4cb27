"""Call metrics per qualifier and per qualification team (issue 17.5): calls made and received,
reached calls, reached calls of at least the team's N seconds against its daily norm, talk
time, calls per lead before a decision, and first calls within the SLA. README, "Reports",
holds each definition; reports/call_rollups.py counts them per person and day (the one place
they are counted: the built days' rows and the live days alike), reports/call_totals.py adds
the days up (the built days' sums cached) and this module makes the figures of the sums, for
the page, both CSVs and the API alike.

Where the numbers come from (`source`): a team with an active PBX connection is measured from
the PBX's calls (`telephony.Call`: real start, direction and talk seconds); a team without one
from the attempts its qualifiers typed (`leads.ContactAttempt`: the typed time and duration).
A call belongs to the team whose PBX carried it (a typed attempt: to its lead's team), so a
qualifier in two teams is counted in each for that team's calls only.
"""

from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from crm.teams.models import Team
from crm.teams.selectors import working_week
from reports import call_totals
from reports.call_rollups import AT, PBX, TYPED, Source
from reports.periods import Period
from reports.selectors import share

SOURCE_CHOICES = [(PBX, "the PBX's calls"), (TYPED, "typed attempts")]  # the API's enum

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


def call_report(teams: list[Team], period: Period, now: datetime) -> list[dict]:
    """Each qualification team's call figures for the period's days in its own time zone.
    Today (in the team's zone, from `now`) is the last day judged against the norm: days
    still to come are no working days missed."""
    ours = [team for team in teams if team.kind == Team.Kind.QUALIFICATION]
    sources, sums = call_totals.period_sums(ours, period.first_day, period.last_day, now)
    people = _people(ours, sums)
    return [
        team_calls(
            team,
            Period(period.first_day, period.last_day, team.zone),
            now,
            sources[team.pk],
            sums[team.pk],
            people[team.pk],
        )
        for team in ours
    ]


def qualifier_days(
    teams: list[Team], team_id: int, user_id: int, period: Period, now: datetime
) -> tuple[dict, dict] | None:
    """One qualifier's days against the norm in one of `teams` (the page's "By day", read
    when opened): the team's report and the qualifier's, as `call_report` gives them; None
    when the team is not one of `teams`' qualification teams or the person is not listed in
    it (the page lists them)."""
    team = next((t for t in teams if t.pk == team_id and t.kind == Team.Kind.QUALIFICATION), None)
    if team is None:
        return None
    [report] = call_report([team], period, now)
    qualifier = next((q for q in report["qualifiers"] if q["id"] == user_id), None)
    return (report, qualifier) if qualifier else None


def team_calls(
    team: Team,
    period: Period,
    now: datetime,
    source: Source,
    sums: call_totals.Sums,
    people: list,
) -> dict:
    """The team's figures, added up from its days (reports/call_totals.py: the built days'
    rows, the others from the raw rows), for its `people` (see `_people`)."""
    per_person = sums["people"]
    counts = list(source.counts(team.call_norm_seconds))  # what the source knows
    by_user = {
        _pk(key): {name: figures[AT[name]] for name in counts}
        for key, figures in per_person.items()
        if figures[AT["calls"]]
    }
    decisions = _pairs(per_person, "decided", "calls_before")
    first = _pairs(per_person, "first_calls", "first_within")
    days = _days(team, period, timezone.localdate(now, team.zone))
    daily = sums["daily"]
    qualifiers = []
    for user in people:
        no_calls = dict.fromkeys(counts, 0)  # what the source knows is 0, not unknown
        figures = _figures(
            by_user.get(user.pk, no_calls), decisions.get(user.pk), first.get(user.pk)
        )
        line = _norm_line(days, daily.get(str(user.pk), {}), team.call_norm_per_day)
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
    everybody = {name: sum(figures[AT[name]] for figures in per_person.values()) for name in counts}
    totals = _figures(everybody, _sum(decisions.values()), _sum(first.values()))
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


def _pk(key: str) -> int | None:
    return int(key) if key else None


def _pairs(per_person: dict[str, list[int]], a: str, b: str) -> dict[int | None, tuple[int, int]]:
    """{person: (a, b)} of the people with any `a`."""
    return {
        _pk(key): (figures[AT[a]], figures[AT[b]])
        for key, figures in per_person.items()
        if figures[AT[a]]
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


def _people(teams: list[Team], sums: dict[int, call_totals.Sums]) -> dict[int, list]:
    """Each team's members, and anyone else whose calls the team's PBX carried, in name order:
    two queries for all the teams (a team's list is the ordered whole filtered, so its order
    is what a query of its own would give)."""
    ids: dict[int, set[int]] = {team.pk: set() for team in teams}
    members = Team.members.through.objects.filter(team__in=teams)
    for team_id, user_id in members.values_list("team_id", "user_id"):
        ids[team_id].add(user_id)
    for team_id, team_sums in sums.items():
        ids[team_id].update(
            int(key) for key, figures in team_sums["people"].items() if key and figures[AT["calls"]]
        )
    everybody = get_user_model().objects.filter(pk__in=set().union(*ids.values()))
    ordered = list(everybody.order_by("last_name", "first_name", "username"))
    return {team_id: [u for u in ordered if u.pk in mine] for team_id, mine in ids.items()}


def _sum(pairs) -> tuple[int, int]:
    pairs = list(pairs)
    return sum(a for a, _b in pairs), sum(b for _a, b in pairs)
