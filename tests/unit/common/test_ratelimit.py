"""The per-client token bucket behind intake's 429s (clock passed in, no sleeping)."""

from __future__ import annotations

from services.common.ratelimit import RateLimiter, TokenBucket


def test_bucket_allows_a_burst_then_says_how_long_to_wait() -> None:
    bucket = TokenBucket(capacity=2, rate=0.5, tokens=2, updated=0.0)
    assert bucket.take(0.0) == 0 and bucket.take(0.0) == 0
    assert bucket.take(0.0) == 2.0  # one token per 2 s


def test_bucket_refills_with_time_up_to_capacity() -> None:
    bucket = TokenBucket(capacity=2, rate=1.0, tokens=0, updated=0.0)
    assert bucket.take(1.0) == 0
    bucket.take(100.0)
    assert bucket.tokens == 1  # capped at 2, one spent


def test_limiter_keeps_clients_apart_and_forgets_the_oldest() -> None:
    now = [0.0]
    limiter = RateLimiter(burst=1, per_second=1.0, clock=lambda: now[0], max_clients=2)
    assert limiter.wait_seconds("a") == 0
    assert limiter.wait_seconds("a") > 0
    assert limiter.wait_seconds("b") == 0
    assert limiter.wait_seconds("c") == 0  # evicts "a", the least recently seen
    assert limiter.wait_seconds("a") == 0
