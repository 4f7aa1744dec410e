"""Golden tests of the pure business-time arithmetic (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from escalations.sla.calendar import (
    CalendarHasNoWorkingTime,
    CalendarSpec,
    add_business_seconds,
    business_seconds_between,
    is_working,
    next_working_moment,
)

LONDON = ZoneInfo("Europe/London")
HOUR = 3600


def office(tz="Europe/London", holidays=(), days=range(5), start=time(9), end=time(17)):
    return CalendarSpec.build(timezone=tz, intervals=[(d, start, end) for d in days], holidays=holidays)


def local(tz, *args):
    return datetime(*args, tzinfo=ZoneInfo(tz))


def test_friday_1655_plus_one_business_hour_is_monday_0955():
    # given Mon–Fri 09:00–17:00 in London
    spec = office()
    # when
    due = add_business_seconds(spec, local("Europe/London", 2026, 11, 20, 16, 55), HOUR)
    # then
    assert due == local("Europe/London", 2026, 11, 23, 9, 55)


def test_monday_holiday_moves_it_to_tuesday_0955():
    # given Monday 23 November is a holiday
    spec = office(holidays=[(date(2026, 11, 23), False)])
    # when
    due = add_business_seconds(spec, local("Europe/London", 2026, 11, 20, 16, 55), HOUR)
    # then
    assert due == local("Europe/London", 2026, 11, 24, 9, 55)


def test_several_intervals_a_day_skip_the_lunch_break():
    # given 09:00–12:00 and 13:00–17:00
    spec = CalendarSpec.build(
        timezone="Europe/London",
        intervals=[(d, time(9), time(12)) for d in range(5)] + [(d, time(13), time(17)) for d in range(5)],
    )
    # when 2 h from 11:00
    due = add_business_seconds(spec, local("Europe/London", 2026, 11, 23, 11), 2 * HOUR)
    # then the lunch hour does not count
    assert due == local("Europe/London", 2026, 11, 23, 14)
    assert business_seconds_between(spec, local("Europe/London", 2026, 11, 23, 8), due) == 4 * HOUR


def test_midnight_end_means_end_of_day():
    spec = CalendarSpec.build(timezone="UTC", intervals=[(0, time(20), time(0))])
    due = add_business_seconds(spec, datetime(2026, 11, 23, 23, tzinfo=UTC), 2 * HOUR)
    assert due == datetime(2026, 11, 30, 21, tzinfo=UTC)


DST = [
    # zone, spring-forward day, fall-back day
    ("Europe/London", date(2026, 3, 29), date(2026, 10, 25)),
    ("America/New_York", date(2026, 3, 8), date(2026, 11, 1)),
    ("Australia/Sydney", date(2026, 10, 4), date(2026, 4, 5)),
]


@pytest.mark.parametrize(("tz", "spring", "fall"), DST)
def test_dst_night_interval_lasts_three_or_five_real_hours(tz, spring, fall):
    # given a working interval 00:00–04:00 local, every day
    spec = CalendarSpec.build(timezone=tz, intervals=[(d, time(0), time(4)) for d in range(7)])
    # when the clocks go forward, then back
    short = business_seconds_between(
        spec, local(tz, spring.year, spring.month, spring.day), local(tz, spring.year, spring.month, spring.day, 12)
    )
    long = business_seconds_between(
        spec, local(tz, fall.year, fall.month, fall.day), local(tz, fall.year, fall.month, fall.day, 12)
    )
    # then the interval is measured in real time
    assert short == 3 * HOUR
    assert long == 5 * HOUR


@pytest.mark.parametrize(("tz", "spring", "fall"), DST)
@pytest.mark.parametrize("which", ["spring", "fall"])
def test_dst_weekend_keeps_wall_clock_office_hours(tz, spring, fall, which):
    # given 09:00–17:00 every day, a 2-hour target started at 16:00 the day before the change
    day = spring if which == "spring" else fall
    spec = office(tz=tz, days=range(7))
    before = day - timedelta(days=1)
    start = local(tz, before.year, before.month, before.day, 16)
    # when
    due = add_business_seconds(spec, start, 2 * HOUR)
    # then it lands at 10:00 local on the day of the change, whatever the offset
    assert due.astimezone(ZoneInfo(tz)).replace(tzinfo=None) == datetime(day.year, day.month, day.day, 10)
    assert due.tzinfo == UTC


@pytest.mark.parametrize(("tz", "spring", "fall"), DST)
def test_24x7_counts_real_elapsed_time_across_dst(tz, spring, fall):
    spec = CalendarSpec(timezone=tz, is_24x7=True)
    before = spring - timedelta(days=1)
    start = local(tz, before.year, before.month, before.day, 12)
    end = local(tz, spring.year, spring.month, spring.day, 12)
    assert business_seconds_between(spec, start, end) == 23 * HOUR
    assert add_business_seconds(spec, start, 23 * HOUR) == end


def test_leap_day_2028_counts_as_a_working_day():
    # given Monday 28 February 2028 16:30, a 2-hour target
    spec = office()
    # when
    due = add_business_seconds(spec, local("Europe/London", 2028, 2, 28, 16, 30), 2 * HOUR)
    # then Tuesday 29 February exists and is worked
    assert due == local("Europe/London", 2028, 2, 29, 10, 30)


def test_leap_day_holiday_moves_to_march_first():
    spec = office(holidays=[(date(2028, 2, 29), False)])
    due = add_business_seconds(spec, local("Europe/London", 2028, 2, 28, 16, 30), 2 * HOUR)
    assert due == local("Europe/London", 2028, 3, 1, 10, 30)


def test_year_end_holidays_repeat_yearly():
    # given Christmas and New Year's Day entered once, years ago, repeating; a substitute day for 2026 only
    spec = office(
        holidays=[
            (date(2019, 12, 25), True),
            (date(2019, 12, 26), True),
            (date(2020, 1, 1), True),
            (date(2026, 12, 28), False),
        ]
    )
    # when a 4-hour target starts on Christmas Eve 16:00 and on New Year's Eve 15:00
    christmas = add_business_seconds(spec, local("Europe/London", 2026, 12, 24, 16), 4 * HOUR)
    new_year = add_business_seconds(spec, local("Europe/London", 2026, 12, 31, 15), 4 * HOUR)
    # then
    assert christmas == local("Europe/London", 2026, 12, 29, 12)
    assert new_year == local("Europe/London", 2027, 1, 4, 11)


def test_quiet_hours_next_working_moment():
    spec = office()
    saturday = local("Europe/London", 2026, 11, 21, 3)
    assert not is_working(spec, saturday)
    assert next_working_moment(spec, saturday) == local("Europe/London", 2026, 11, 23, 9)
    monday = local("Europe/London", 2026, 11, 23, 10)
    assert is_working(spec, monday)
    assert next_working_moment(spec, monday) == monday


def test_a_calendar_without_working_time_is_a_clear_error():
    spec = CalendarSpec.build(timezone="Europe/London")
    with pytest.raises(CalendarHasNoWorkingTime, match="no working time within 1098 days"):
        add_business_seconds(spec, local("Europe/London", 2026, 11, 23), 60)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="business-time arithmetic needs timezone-aware datetimes"):
        add_business_seconds(office(), datetime(2026, 11, 23, 9), 60)
