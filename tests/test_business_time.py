"""Working-time cases: the callback deadlines are counted in the team's working hours."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from crm.lib.business_time import WorkingWeek

MOSCOW = ZoneInfo("Europe/Moscow")
YEKATERINBURG = ZoneInfo("Asia/Yekaterinburg")
WEEKDAYS_9_TO_18 = {d: [(time(9), time(18))] for d in range(5)}
NEW_YEAR = frozenset({date(2026, 12, 31), date(2027, 1, 1)})


def at(zone, *args):
    return datetime(*args, tzinfo=zone)


@pytest.mark.parametrize(
    ("name", "zone", "start", "minutes", "due"),
    [
        ("inside hours", MOSCOW, (2026, 11, 25, 10, 0), 15, (2026, 11, 25, 10, 15)),
        ("before opening", MOSCOW, (2026, 11, 25, 7, 30), 15, (2026, 11, 25, 9, 15)),
        ("after closing", MOSCOW, (2026, 11, 25, 18, 30), 20, (2026, 11, 26, 9, 20)),
        ("spans closing", MOSCOW, (2026, 11, 25, 17, 50), 20, (2026, 11, 26, 9, 10)),
        ("Friday night", MOSCOW, (2026, 11, 27, 23, 40), 15, (2026, 11, 30, 9, 15)),
        ("Friday night breach", MOSCOW, (2026, 11, 27, 23, 40), 20, (2026, 11, 30, 9, 20)),
        ("Saturday", MOSCOW, (2026, 11, 28, 12, 0), 15, (2026, 11, 30, 9, 15)),
        ("holiday", MOSCOW, (2026, 12, 30, 17, 55), 15, (2027, 1, 4, 9, 10)),
        ("exactly at closing", MOSCOW, (2026, 11, 25, 17, 45), 15, (2026, 11, 25, 18, 0)),
        ("Yekaterinburg", YEKATERINBURG, (2026, 11, 25, 17, 50), 20, (2026, 11, 26, 9, 10)),
    ],
)
def test_working_time_table(name, zone, start, minutes, due):
    week = WorkingWeek(zone, WEEKDAYS_9_TO_18, NEW_YEAR)
    assert week.add(at(zone, *start), minutes) == at(zone, *due).astimezone(UTC), name


def test_the_same_instant_is_due_at_different_moments_in_yekaterinburg_and_moscow():
    # 16:50 in Moscow is 18:50 in Yekaterinburg: Moscow still works, Yekaterinburg has closed.
    instant = at(MOSCOW, 2026, 11, 25, 16, 50)
    moscow = WorkingWeek(MOSCOW, WEEKDAYS_9_TO_18).add(instant, 15)
    yekaterinburg = WorkingWeek(YEKATERINBURG, WEEKDAYS_9_TO_18).add(instant, 15)
    assert moscow == at(MOSCOW, 2026, 11, 25, 17, 5).astimezone(UTC)
    assert yekaterinburg == at(YEKATERINBURG, 2026, 11, 26, 9, 15).astimezone(UTC)


def test_a_lunch_break_is_not_working_time():
    week = WorkingWeek(MOSCOW, {2: [(time(9), time(13)), (time(14), time(18))]})
    assert week.add(at(MOSCOW, 2026, 11, 25, 12, 50), 20) == at(MOSCOW, 2026, 11, 25, 14, 10)


def test_hours_until_midnight():
    week = WorkingWeek(MOSCOW, {d: [(time(20), time(0))] for d in range(7)})
    assert week.add(at(MOSCOW, 2026, 11, 25, 23, 50), 20) == at(MOSCOW, 2026, 11, 26, 20, 10)


def test_no_hours_means_always_open():
    week = WorkingWeek(MOSCOW)
    assert week.add(at(MOSCOW, 2026, 11, 28, 3, 0), 15) == at(MOSCOW, 2026, 11, 28, 3, 15)


def test_a_week_without_working_days_is_an_error_not_a_hang():
    with pytest.raises(ValueError, match="no working"):
        WorkingWeek(MOSCOW, {0: []}).add(at(MOSCOW, 2026, 11, 25, 10, 0), 15)


def test_daylight_saving_change_keeps_local_opening_hours():
    berlin = ZoneInfo("Europe/Berlin")  # clocks go forward on 2027-03-28
    week = WorkingWeek(berlin, {d: [(time(9), time(18))] for d in range(7)})
    assert week.add(at(berlin, 2027, 3, 27, 17, 50), 20) == at(berlin, 2027, 3, 28, 9, 10)


def test_working_minutes_between():
    week = WorkingWeek(MOSCOW, WEEKDAYS_9_TO_18, NEW_YEAR)
    friday_evening = at(MOSCOW, 2026, 11, 27, 17, 50)
    monday_morning = at(MOSCOW, 2026, 11, 30, 9, 5)
    assert week.working_minutes_between(friday_evening, monday_morning) == 15


def test_working_days_skip_weekends_and_holidays():
    week = WorkingWeek(MOSCOW, WEEKDAYS_9_TO_18, NEW_YEAR)
    thursday = at(MOSCOW, 2026, 11, 26, 15, 0)
    assert week.add_days(thursday, 2) == at(MOSCOW, 2026, 11, 30, 15, 0)
    assert week.add_days(at(MOSCOW, 2026, 12, 30, 11, 0), 1) == at(MOSCOW, 2027, 1, 4, 11, 0)
