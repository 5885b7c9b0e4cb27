"""The open days' figures kept provisional: today (and, in the hour after midnight, yesterday)
computed by beat every TODAY_REFRESH_SECONDS instead of on every read (issue 16.2).

The roll-ups read every closed day from rows; a day not closed yet has none and was computed
from the raw rows on each read — the last-30-days views' whole cost (at 1M leads on a busy day
~0.4 s of each team report, ~0.5 s of each leaderboard; seconds at 10M). Beat's
`reports.tasks.refresh_today` computes each open day once for everybody, by the very functions
that build the rows (`rollups.day_figures`, `person_rollups.day_figures`,
`insight_rollups.day_figures`), and keeps the result in the cache with the moment it was
computed. A read uses it when it is at most MAX_AGE old (two refreshes) and of the same cut (a
team's SLA minutes as it was computed), and says so: the pages print "today as of HH:MM".
Otherwise — beat stopped, Redis down, a team just created or changed, the first minute after
a deploy — the read computes the day from the raw rows as before: right, only slower.

An entry is {"as_of": when its computation began, "cut": what its figures depend on besides
the rows, "figures": {team or person id: Day}}; the key names the report, the zone (and the
teams' kind) and the day."""

import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from crm.teams.models import Team
from reports import rollups

VERSION = 1
log = logging.getLogger(__name__)
Entry = dict[str, Any]


def max_age() -> timedelta:
    """Older entries are not read: beat missed two refreshes (stopped, or a refresh too slow)."""
    return timedelta(seconds=2 * settings.TODAY_REFRESH_SECONDS)


def open_days(zone: ZoneInfo, now: datetime) -> list[date]:
    """The days of `zone` that have no row yet because they have not closed: today, and in
    the hour after midnight (rollups.GRACE) yesterday too."""
    return rollups.every_day(
        rollups.buildable_until(zone, now), timezone.localtime(now, zone).date()
    )


def key(report: str, scope: str, day: date) -> str:
    return f"reports:today:{VERSION}:{report}:{scope}:{day.isoformat()}"


def team_scope(team: Team) -> str:
    return f"{team.time_zone}:{team.kind}"


def team_cut(team: Team) -> list[int]:
    """What a team's day depends on besides the rows: its SLA minutes (the `within` counts)."""
    return [team.sla_warn_minutes, team.sla_breach_minutes]


def read(keys: list[str], now: datetime) -> dict[str, Entry]:
    """The entries of `keys` still fresh at `now`; none when the cache does not answer."""
    try:
        found = cache.get_many(keys)
    except Exception:  # noqa: BLE001 - any cache failure: the days are read live
        log.warning("report cache unavailable; today read from the raw rows")
        return {}
    return {k: e for k, e in found.items() if now - max_age() <= e["as_of"] <= now}


def kept_days(
    report: str, zone: ZoneInfo, scope: str, days: list[date], now: datetime
) -> dict[date, Entry]:
    """The fresh entries of `report` for the open days of `zone` among `days`: {day: entry}."""
    wanted = [d for d in open_days(zone, now) if d in set(days)]
    if not wanted:
        return {}
    found = read([key(report, scope, d) for d in wanted], now)
    return {d: found[key(report, scope, d)] for d in wanted if key(report, scope, d) in found}


def keep(entries: dict[str, Entry]) -> None:
    try:
        cache.set_many(entries, int(max_age().total_seconds()))
    except Exception:  # noqa: BLE001 - any cache failure: readers compute the days live
        log.warning("report cache unavailable; today's figures were not kept")


def oldest(moments: list[datetime | None]) -> datetime | None:
    """What a page says its today is as of: the oldest entry it read (None: all live)."""
    known = [m for m in moments if m is not None]
    return min(known) if known else None
