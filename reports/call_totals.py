"""Each qualification team's call days added up for a period (the call report's sums), with the
part read from built days' rows kept in the cache — as reports/team_totals.py does for the team
report, for the same reason.

A period's figures are the sum of its days (reports/call_rollups.py). Adding up a quarter of
all teams meant decoding ~900 stored days (~8,000 person-days) and summing them in Python: most
of the report's time besides writing it, while its SQL took ~30 ms. The sum of a team's *built*
days depends only on those rows, and a row changes only when it is built again, with a new
`built_at`. So that sum is cached under a key naming the team, its cut and every row's day and
`built_at`: a key whose rows all still stand is exact; a rebuilt, marked or dropped row, or
another cut, gives another key. Days read live — today, a marked day, a day not built yet — are
added to the cached sum on every read, never cached.

A sum (`Sums`) is plain data: per person (as in a row: "" for nobody) the FIELDS added up, and
per person the reached calls of N s+ of each day that had any (the norm line)."""

import hashlib
from datetime import date, datetime
from typing import TypedDict

from crm.teams.models import Team
from reports import call_rollups, rollups, team_totals
from reports.call_rollups import AT, Day, Key, Source

VERSION = 1
LONG = AT["reached_long"]


class Sums(TypedDict):
    people: dict[str, list[int]]  # person → FIELDS added up
    daily: dict[str, dict[date, int]]  # person → {day: reached calls of N s+}, days with any


def period_sums(
    teams: list[Team], first: date, last: date, now: datetime | None = None
) -> tuple[dict[int, Source], dict[int, Sums]]:
    """Each team's source, and {team id: Sums} of the days from `first` to `last` (included)
    of each team's zone: the built days' sum from the cache or their rows, the others from the
    raw rows (call_rollups.day_figures) — the live days of teams of one zone and source in one
    pass of queries."""
    sources = call_rollups.sources_of(teams)
    sums: dict[int, Sums] = {}
    for group in call_rollups.groups(teams, sources):
        sums.update(_group_sums(group, sources[group[0].pk], first, last, now))
    return sources, sums


def _group_sums(
    teams: list[Team], source: Source, first: date, last: date, now: datetime | None
) -> dict[int, Sums]:
    every = rollups.every_day(first, last)
    built = call_rollups.built_days(teams, source, first, last, now)
    keys = {team.pk: _key(team, source, every, built) for team in teams}
    found: dict[str, Sums] = team_totals.cached(list(keys.values()))
    stale: set[Key] = set()
    missing = [team for team in teams if keys[team.pk] not in found]
    if missing:
        want = {(t.pk, d): built[(t.pk, d)] for t in missing for d in every if (t.pk, d) in built}
        loaded = call_rollups.loaded_days(missing, want)
        stale = want.keys() - loaded.keys()  # rebuilt or dropped since: read live below
        fresh: dict[str, Sums] = {}
        for team in missing:
            sums = _empty()
            for day in every:
                if (team.pk, day) in loaded:
                    _add(sums, day, loaded[(team.pk, day)])
            if not any((team.pk, day) in stale for day in every):
                fresh[keys[team.pk]] = sums
            found[keys[team.pk]] = sums
        team_totals.keep(fresh)
    live = {(t.pk, d) for t in teams for d in every if (t.pk, d) not in built} | stale
    computed = call_rollups.day_figures(teams, source, sorted({d for _t, d in live}))
    result = {}
    for team in teams:
        sums = _copy(found[keys[team.pk]])  # the cached sum stays as it is
        for day in every:
            if (team.pk, day) in live:
                _add(sums, day, computed[(team.pk, day)])
        result[team.pk] = sums
    return result


def _empty() -> Sums:
    return {"people": {}, "daily": {}}


def _add(sums: Sums, day: date, figures: Day) -> None:
    """Add one day's figures (a call_rollups.Day) to the sums."""
    people, daily = sums["people"], sums["daily"]
    for person, values in figures.items():
        into = people.get(person)
        people[person] = [a + b for a, b in zip(into, values, strict=True)] if into else values[:]
        if values[LONG]:
            daily.setdefault(person, {})[day] = values[LONG]


def _copy(sums: Sums) -> Sums:
    """A copy whose sums can grow without touching the original."""
    return {
        "people": {person: values[:] for person, values in sums["people"].items()},
        "daily": {person: dict(days) for person, days in sums["daily"].items()},
    }


def _key(team: Team, source: Source, days: list[date], built: dict[Key, datetime]) -> str:
    """The team's cut and its built days of the period, and when each was built."""
    rows = ";".join(
        f"{d.isoformat()}@{built[(team.pk, d)].isoformat()}" for d in days if (team.pk, d) in built
    )
    cut = call_rollups.cut_of(team, source)
    digest = hashlib.sha256(f"{team.pk}|{cut}|{rows}".encode()).hexdigest()
    return f"reports:call-totals:{VERSION}:{team.pk}:{digest}"
