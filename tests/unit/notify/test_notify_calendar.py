"""Business-hours arithmetic: nights, weekends, holidays, time zones and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notify.domain.calendar import (
    BusinessCalendar,
    add_business_seconds,
    business_seconds_between,
)

H = 3600.0
OFFICE = BusinessCalendar()  # Mon-Fri 08:00-18:00 UTC
LONDON = BusinessCalendar(time_zone="Europe/London", start=time(9), end=time(17))
MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_without_calendar_time_is_wall_clock() -> None:
    end = MONDAY_9 + timedelta(hours=30)
    assert business_seconds_between(None, MONDAY_9, end) == 30 * H
    assert add_business_seconds(None, MONDAY_9, 30 * H) == end


def test_deadline_skips_the_night() -> None:
    # Monday 09:00 + 10 business hours = 9 hours Monday, 1 hour Tuesday from 08:00.
    assert add_business_seconds(OFFICE, MONDAY_9, 10 * H) == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def test_deadline_skips_the_weekend() -> None:
    friday_17 = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)
    assert add_business_seconds(OFFICE, friday_17, 2 * H) == datetime(
        2026, 3, 9, 9, 0, tzinfo=UTC
    )


def test_start_outside_hours_begins_at_next_opening() -> None:
    saturday = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    assert add_business_seconds(OFFICE, saturday, 30 * 60) == datetime(
        2026, 3, 9, 8, 30, tzinfo=UTC
    )


def test_elapsed_counts_only_open_hours() -> None:
    friday_16 = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)
    monday_10 = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    assert business_seconds_between(OFFICE, friday_16, monday_10) == 4 * H


def test_holidays_are_skipped() -> None:
    cal = BusinessCalendar(holidays=(date(2026, 3, 3),))
    monday_17 = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
    assert add_business_seconds(cal, monday_17, 2 * H) == datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


def test_local_time_zone_and_daylight_saving() -> None:
    # London moves to BST on Sunday 29 March 2026: 09:00 local is 09:00 UTC on Friday 27th
    # and 08:00 UTC on Monday 30th.
    friday_16_local = datetime(2026, 3, 27, 16, 0, tzinfo=UTC)
    assert add_business_seconds(LONDON, friday_16_local, 2 * H) == datetime(
        2026, 3, 30, 9, 0, tzinfo=UTC
    )
    assert business_seconds_between(
        LONDON, friday_16_local, datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
    ) == 2 * H


def test_invalid_calendars_are_rejected() -> None:
    with pytest.raises(ValueError):
        BusinessCalendar(time_zone="Mars/Olympus")
    with pytest.raises(ValueError):
        BusinessCalendar(start=time(18), end=time(8))
    with pytest.raises(ValueError):
        BusinessCalendar(weekdays=())


@given(
    offset_minutes=st.integers(min_value=0, max_value=60 * 24 * 21),
    budget_minutes=st.integers(min_value=1, max_value=60 * 200),
)
def test_deadline_and_elapsed_are_inverse(offset_minutes: int, budget_minutes: int) -> None:
    start = MONDAY_9 + timedelta(minutes=offset_minutes)
    deadline = add_business_seconds(LONDON, start, budget_minutes * 60.0)
    assert business_seconds_between(LONDON, start, deadline) == pytest.approx(budget_minutes * 60)
