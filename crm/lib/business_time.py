"""Working-time arithmetic: "15 working minutes after this moment" for a team's opening hours,
holidays and time zone. Pure functions: `start` is an input, nothing reads the clock."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A week with no working day at all would loop forever; a year of days is plenty.
MAX_DAYS_AHEAD = 366


@dataclass(frozen=True)
class WorkingWeek:
    """Opening intervals per weekday (0 = Monday) in local time, and closed dates. A week with
    no hours at all means "always open": minutes are plain minutes."""

    zone: ZoneInfo
    hours: dict[int, list[tuple[time, time]]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    def add(self, start: datetime, minutes: float) -> datetime:
        """The moment `minutes` of working time after `start` (UTC)."""
        if not self.hours:
            return (start + timedelta(minutes=minutes)).astimezone(UTC)
        remaining = timedelta(minutes=minutes)
        start = start.astimezone(UTC)
        for opens, closes in self._intervals_from(start):
            begin = max(opens, start)
            if begin >= closes:
                continue
            if remaining <= closes - begin:
                return begin + remaining
            remaining -= closes - begin
        raise ValueError("no working time within a year")

    def add_days(self, start: datetime, days: int) -> datetime:
        """The same local time `days` working days later (a day with opening hours that is
        not a holiday); from a closed day, counting starts at the next working day."""
        if not self.hours:
            return (start + timedelta(days=days)).astimezone(UTC)
        local = start.astimezone(self.zone)
        day, left = local.date(), days
        for _ in range(MAX_DAYS_AHEAD):
            day += timedelta(days=1)
            if self.hours.get(day.weekday()) and day not in self.holidays:
                left -= 1
                if left <= 0:
                    return datetime.combine(
                        day, local.timetz().replace(tzinfo=None), tzinfo=self.zone
                    ).astimezone(UTC)
        raise ValueError("no working day within a year")

    def working_minutes_between(self, start: datetime, end: datetime) -> float:
        """Working minutes from `start` to `end`: what a reaction time is measured in."""
        if end <= start:
            return 0.0
        if not self.hours:
            return (end - start).total_seconds() / 60
        total = timedelta()
        for opens, closes in self._intervals_from(start.astimezone(UTC)):
            if opens >= end:
                break
            total += max(timedelta(), min(closes, end) - max(opens, start))
        return total.total_seconds() / 60

    def _intervals_from(self, start: datetime):
        """Opening intervals as UTC instants, from the local day of `start` onwards. Built from
        local wall times, so a DST change moves the instants, not the opening hours."""
        day = start.astimezone(self.zone).date()
        for _ in range(MAX_DAYS_AHEAD):
            if day not in self.holidays:
                for opens, closes in sorted(self.hours.get(day.weekday(), [])):
                    yield self._instant(day, opens), self._instant(day, closes, closing=True)
            day += timedelta(days=1)

    def _instant(self, day: date, at: time, closing: bool = False) -> datetime:
        if closing and at == time(0):  # "until 00:00" closes at the end of the day
            day, at = day + timedelta(days=1), time(0)
        return datetime.combine(day, at, tzinfo=self.zone).astimezone(UTC)
