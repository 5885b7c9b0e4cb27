"""A team's days added up for a period (the team report's sums), with the part read from
closed days' rows kept in the cache.

A period's figures are the sum of its days (reports/rollups.py). Adding up a quarter of all
teams means decoding ~2,200 stored days (their JSON and histograms) and summing them in Python:
most of the all-teams report's time, while its SQL took ~40 ms. The sum of a team's *built*
days of a period depends only on those rows, and a row changes only when it is built again,
with a new `built_at`. So that sum is cached under a key naming the team, the period's days and
every row's `built_at`: a key whose rows all still stand is exact, a rebuilt, marked or dropped
row gives another key (a first read computes it again). The other days — today (as beat last
computed it, reports/today.py), a marked day, a day not built yet — are added to the cached sum
on every read, never cached.

A sum (`Totals`) is plain data (dicts, lists, ints, Decimals): cheap to pickle, and a cached
one written by an older version of this module is never read (VERSION is in the key)."""

import hashlib
import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from crm.teams.models import Team
from reports import histogram, rollups, today
from reports.periods import DEFAULT_DAYS

VERSION = 1
log = logging.getLogger(__name__)
TIMEOUT = 7 * 24 * 3600  # a key is exact for ever; this only lets unused ones expire
Totals = dict[str, Any]
WEEK = ("leads", "converted", "within_15", "called")  # the weekly trend's counts


def empty(kind: str) -> Totals:
    if kind == Team.Kind.QUALIFICATION:
        return {
            "counts": dict.fromkeys(rollups.QUALIFICATION_COUNTS, 0),
            "revenue": None,
            "reactions": 0,
            "by_source": {},
            "junk_by_reason": {},
            "hours": [0] * 24,
            "weekdays": [0] * 7,
            # Monday → [leads, converted, within_15, called, reactions histogram]
            "weeks": {},
        }
    return {"counts": dict.fromkeys(rollups.SALES_COUNTS, 0), "revenue": None, "closers": {}}


def add(totals: Totals, day_date: date, day: rollups.Day) -> None:
    """Add one day's figures (a rollups.Day) to the sums."""
    counts = totals["counts"]
    for name in counts:
        counts[name] += day[name]
    if day["revenue"] is not None:
        totals["revenue"] = (totals["revenue"] or Decimal(0)) + Decimal(day["revenue"])
    if "closers" in totals:
        closers = totals["closers"]
        for closer, (won, lost, revenue) in day["closers"].items():
            total = closers.setdefault(int(closer), [0, 0, None])
            total[0] += won
            total[1] += lost
            if revenue is not None:
                total[2] = (total[2] or Decimal(0)) + Decimal(revenue)
        return
    totals["reactions"] += day["reactions"]
    totals.pop("percentiles", None)  # read again from the grown histograms
    for key in ("by_source", "junk_by_reason"):
        into = totals[key]
        for name, n in day[key].items():
            into[name] = into.get(name, 0) + n
    breaches = sum(day["breach_hours"])
    if breaches:  # most days have none or a few: add only the hours that had some
        totals["weekdays"][day_date.weekday()] += breaches
        hours = totals["hours"]
        for hour, n in enumerate(day["breach_hours"]):
            if n:
                hours[hour] += n
    monday = date.fromordinal(day_date.toordinal() - day_date.weekday())
    week = totals["weeks"].setdefault(monday, [0, 0, 0, 0, 0])
    for i, name in enumerate(WEEK):
        week[i] += day[name]
    week[4] += day["reactions"]
    totals.get("medians", {}).pop(monday, None)


def percentiles(totals: Totals) -> tuple[float | None, float | None]:
    """The reaction's median and 90th percentile over the sums (reports/histogram.py)."""
    if "percentiles" not in totals:
        totals["percentiles"] = tuple(histogram.percentiles(totals["reactions"], (0.5, 0.9)))
    return totals["percentiles"]


def week_median(totals: Totals, monday: date) -> float | None:
    """A week's reaction median, read once for a cached sum (a live day drops it)."""
    medians = totals.setdefault("medians", {})
    if monday not in medians:
        (medians[monday],) = histogram.percentiles(totals["weeks"][monday][4], (0.5,))
    return medians[monday]


def period_totals(
    teams: list[Team], periods: list[tuple[date, date]], now: datetime | None = None
) -> dict[tuple[int, int], Totals]:
    """{(team id, index of the period): Totals} of teams of one kind and time zone over
    periods of whole local days (first, last)."""
    now = now or timezone.now()
    built = rollups.built_days(teams, min(p[0] for p in periods), max(p[1] for p in periods), now)
    days_of = [rollups.every_day(*p) for p in periods]
    keys, found, stale = _stored_sums(teams, periods, days_of, built)
    live = sorted(
        {d for days in days_of for d in days for t in teams if (t.pk, d) not in built}
        | {d for _t, d in stale}
    )
    computed, as_of = _kept_today(teams, live, now)
    rest = [d for d in live if any((t.pk, d) not in computed for t in teams)]
    if rest:
        computed.update(rollups.day_figures(teams, rest))
    result = {}
    for (team_id, i), key in keys.items():
        # A fresh copy: the same key may serve two teams' empty periods.
        totals = _copy(found[key])
        for day in days_of[i]:
            if (team_id, day) not in built or (team_id, day) in stale:
                add(totals, day, computed[(team_id, day)])
        # When the period's open days were read from today's figures (reports/today.py).
        totals["as_of"] = today.oldest([as_of.get(d) for d in days_of[i]])
        result[(team_id, i)] = totals
    return result


def _stored_sums(
    teams: list[Team],
    periods: list[tuple[date, date]],
    days_of: list[list[date]],
    built: dict[tuple[int, date], datetime],
) -> tuple[dict[tuple[int, int], str], dict[str, Totals], set[tuple[int, date]]]:
    """The sums of each team's built days of each period: from the cache, else from the rows
    (kept for the next read). Returns ({(team id, period index): key}, {key: Totals}, the
    (team id, day)s whose row was dropped or rebuilt since `built` was read)."""
    kind = teams[0].kind
    first, last = min(p[0] for p in periods), max(p[1] for p in periods)
    keys = {
        (team.pk, i): _key(team.pk, kind, days, built)
        for team in teams
        for i, days in enumerate(days_of)
    }
    found = cached(list(set(keys.values())))
    missing = [k for k, key in keys.items() if key not in found]
    stale: set[tuple[int, date]] = set()
    if missing:
        want = {(t, d) for t, i in missing for d in days_of[i] if (t, d) in built}
        loaded = rollups.loaded_days(teams, first, last, want)
        stale = want - loaded.keys()  # dropped or rebuilt since: read live
        fresh: dict[str, Totals] = {}
        for team_id, i in missing:
            totals = empty(kind)
            for day in days_of[i]:
                if (team_id, day) in loaded:
                    add(totals, day, loaded[(team_id, day)])
            if not any((team_id, day) in stale for day in days_of[i]):
                if kind == Team.Kind.QUALIFICATION:  # read once, kept with the sums
                    percentiles(totals)
                    for monday in totals["weeks"]:
                        week_median(totals, monday)
                fresh[keys[(team_id, i)]] = totals
            found[keys[(team_id, i)]] = totals
        keep(fresh)
    return keys, found, stale


def warm(now: datetime | None = None) -> None:
    """Beat, after the roll-ups' refresh: the sums of the view a head opens first — the last
    30 days and the 30 before, in each team's zone — are computed now if the cache lacks them
    (a day built or rebuilt gives new keys), so that first read of the day decodes no row."""
    now = now or timezone.now()
    for group in rollups.groups(Team.objects.all()):
        last = timezone.localtime(now, group[0].zone).date()
        periods = [
            (last - timedelta(days=DEFAULT_DAYS - 1), last),
            (last - timedelta(days=2 * DEFAULT_DAYS - 1), last - timedelta(days=DEFAULT_DAYS)),
        ]
        built = rollups.built_days(group, periods[1][0], last, now)
        _stored_sums(group, periods, [rollups.every_day(*p) for p in periods], built)


def _kept_today(
    teams: list[Team], days: list[date], now: datetime
) -> tuple[dict[tuple[int, date], rollups.Day], dict[date, datetime]]:
    """The open days among `days` as beat last computed them for the teams (reports/today.py),
    where fresh and of the teams' cut: ({(team id, day): Day}, {day: as of})."""
    kept = today.kept_days("team", teams[0].zone, today.team_scope(teams[0]), days, now)
    found: dict[tuple[int, date], rollups.Day] = {}
    as_of: dict[date, datetime] = {}
    for day, entry in kept.items():
        if any(
            entry["cut"].get(t.pk) != today.team_cut(t) for t in teams
        ):  # a team created or changed since: this day live
            continue
        found.update(((t.pk, day), entry["figures"][t.pk]) for t in teams)
        as_of[day] = entry["as_of"]
    return found, as_of


def keep_today(now: datetime | None = None) -> int:
    """Beat (reports.tasks.refresh_today): every team's open days computed from the raw rows
    and kept for the readers, one entry per zone, kind and day. Returns the entries kept."""
    now = now or timezone.now()
    entries: dict[str, today.Entry] = {}
    for group in rollups.groups(Team.objects.all()):
        days = today.open_days(group[0].zone, now)
        figures = rollups.day_figures(group, days)
        for day in days:
            entries[today.key("team", today.team_scope(group[0]), day)] = {
                "as_of": now,
                "cut": {t.pk: today.team_cut(t) for t in group},
                "figures": {t.pk: figures[(t.pk, day)] for t in group},
            }
    today.keep(entries)
    return len(entries)


def cached(keys: list[str]) -> dict[str, Any]:
    """Sums of stored days kept under keys naming their rows (these, the leaderboard's,
    reports/person_rollups.py, and the call report's, reports/call_totals.py). Redis down
    (restarting): none, so the report is computed from the rows, as slow as before but right."""
    try:
        return cache.get_many(keys)
    except Exception:  # noqa: BLE001 - any cache failure
        log.warning("report cache unavailable; summing the stored days")
        return {}


def keep(sums: dict[str, Any]) -> None:
    try:
        cache.set_many(sums, TIMEOUT)
    except Exception:  # noqa: BLE001 - any cache failure
        log.warning("report cache unavailable; the sums were not kept")


def _key(team_id: int, kind: str, days: Iterable[date], built: dict) -> str:
    """The team's built days of the period and when each was built."""
    rows = ";".join(
        f"{d.isoformat()}@{built[(team_id, d)].isoformat()}" for d in days if (team_id, d) in built
    )
    digest = hashlib.sha256(f"{team_id}|{kind}|{rows}".encode()).hexdigest()
    return f"reports:team-totals:{VERSION}:{team_id}:{digest}"


def _copy(totals: Totals) -> Totals:
    """A copy whose sums can grow without touching the original (ints and Decimals are
    immutable, so one level of containers below the top is enough)."""
    copied: Totals = {}
    for name, value in totals.items():
        if isinstance(value, dict):
            copied[name] = {k: list(v) if isinstance(v, list) else v for k, v in value.items()}
        elif isinstance(value, list):
            copied[name] = list(value)
        else:
            copied[name] = value
    return copied
