"""Report periods: whole local days in the team's time zone, and the period before them."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_DAYS = 30  # a report's period when none is asked for: the last 30 days, today included


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date  # included
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(0), tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        """The midnight after the last day: periods are half-open, [start, end)."""
        return datetime.combine(self.last_day + timedelta(days=1), time(0), tzinfo=self.zone)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def previous(self) -> "Period":
        """The period of the same length just before this one."""
        last = self.first_day - timedelta(days=1)
        return Period(last - timedelta(days=self.days - 1), last, self.zone)


def period_ending_today(days: int, today: date, zone: ZoneInfo) -> Period:
    return Period(today - timedelta(days=days - 1), today, zone)
