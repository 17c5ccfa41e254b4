"""Retry policy: exponential backoff with full jitter, bounded by attempts and total time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from email.utils import parsedate_to_datetime

from pydantic import BaseModel, ConfigDict, Field

RETRYABLE_STATUS = frozenset({408, 425, 429})  # plus every 5xx


class RetryPolicy(BaseModel):
    """Defaults keep retrying for six hours, so a receiver down for an hour misses nothing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_seconds: float = Field(default=1.0, gt=0)
    cap_seconds: float = Field(default=300.0, gt=0)
    max_attempts: int = Field(default=200, ge=1)
    max_total_seconds: float = Field(default=6 * 3600.0, gt=0)
    timeout_seconds: float = Field(default=10.0, gt=0)  # one HTTP request


def backoff_delay(policy: RetryPolicy, attempt: int, rng: Callable[[], float]) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]; rng returns [0, 1)."""
    ceiling = min(policy.cap_seconds, policy.base_seconds * 2 ** min(attempt - 1, 62))
    return rng() * ceiling


def is_retryable(status_code: int | None) -> bool:
    """Network errors, timeouts, 5xx and throttling are worth retrying; other 4xx are not."""
    return status_code is None or status_code >= 500 or status_code in RETRYABLE_STATUS


def gives_up(
    policy: RetryPolicy, *, attempts: int, age_seconds: float, next_delay: float
) -> bool:
    """True when another attempt would exceed the attempt or total-time budget."""
    return attempts >= policy.max_attempts or age_seconds + next_delay > policy.max_total_seconds


# Answers that speak for the whole receiver, not the one message: it throttles us, is down for
# a while, or cannot be reached (no status). A 500 may be this message's fault, so it is not.
THROTTLED_STATUS = frozenset({429, 503})
_MAX_RETRY_AFTER_CHARS = 64  # an HTTP-date is 29; nothing longer is parsed at all


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds a Retry-After header asks for: delta-seconds or an HTTP-date (RFC 9110 10.2.3),
    measured from `now` (epoch seconds); None for a missing or malformed header. Not bounded
    here: the dispatcher caps it at the retry budget."""
    if value is None or len(value) > _MAX_RETRY_AFTER_CHARS:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not "1e9", "-5", "²" or "inf"
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": an HTTP-date is always GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
