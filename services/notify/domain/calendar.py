"""Business-hours arithmetic: elapsed business time and deadlines that skip nights and weekends."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

_MAX_DAYS = 3 * 366  # a deadline further out than this means a calendar with no working time


class BusinessCalendar(BaseModel):
    """Working hours of one team in its own time zone; holidays are local dates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time_zone: str = "UTC"
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    start: time = time(8, 0)
    end: time = time(18, 0)
    holidays: tuple[date, ...] = ()

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)  # fail at load time rather than at the first deadline
        except (KeyError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("weekdays")
    @classmethod
    def _valid_weekdays(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(d < 0 or d > 6 for d in value):
            raise ValueError("weekdays must be a non-empty list of 0 (Monday) .. 6 (Sunday)")
        return value

    @model_validator(mode="after")
    def _opens_before_closing(self) -> BusinessCalendar:
        if self.end <= self.start:
            raise ValueError("end must be after start (overnight shifts are not supported)")
        return self


def _window(cal: BusinessCalendar, day: date) -> tuple[datetime, datetime] | None:
    """The UTC instants a local business day opens and closes, or None on a day off."""
    if day.weekday() not in cal.weekdays or day in cal.holidays:
        return None
    zone = ZoneInfo(cal.time_zone)
    opens = datetime.combine(day, cal.start, tzinfo=zone).astimezone(UTC)
    closes = datetime.combine(day, cal.end, tzinfo=zone).astimezone(UTC)
    return opens, closes


def _local_day(cal: BusinessCalendar, instant: datetime) -> date:
    return instant.astimezone(ZoneInfo(cal.time_zone)).date()


def business_seconds_between(
    cal: BusinessCalendar | None, start: datetime, end: datetime
) -> float:
    """Seconds of business time in [start, end); wall-clock seconds when there is no calendar."""
    if end <= start:
        return 0.0
    if cal is None:
        return (end - start).total_seconds()
    total = 0.0
    day = _local_day(cal, start)
    last = _local_day(cal, end)
    while day <= last:
        window = _window(cal, day)
        if window is not None:
            lo, hi = max(window[0], start), min(window[1], end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total


def add_business_seconds(cal: BusinessCalendar | None, start: datetime, seconds: float) -> datetime:
    """The instant `seconds` of business time after `start` (before it, if negative)."""
    if cal is None or seconds <= 0:
        return start + timedelta(seconds=seconds)
    remaining = seconds
    day = _local_day(cal, start)
    for _ in range(_MAX_DAYS):
        window = _window(cal, day)
        if window is not None:
            lo = max(window[0], start)
            available = (window[1] - lo).total_seconds()
            if available > 0:
                if remaining <= available:
                    return lo + timedelta(seconds=remaining)
                remaining -= available
        day += timedelta(days=1)
    raise ValueError("calendar has no business time within three years")

