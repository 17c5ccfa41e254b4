"""Token buckets per caller, with the limiter's own memory bounded (least recently seen evicted)."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    """`capacity` requests at once, refilled at `rate` per second; the clock is passed in."""

    capacity: float
    rate: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Spend one token; returns 0 if allowed, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate if self.rate > 0 else math.inf


class RateLimiter:
    """One bucket per key; past `max_clients` keys the least recently seen is forgotten, so a
    flood of distinct keys costs at most `max_clients` buckets of memory."""

    def __init__(
        self, *, burst: int, per_second: float, clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.burst, self.per_second, self.clock = burst, per_second, clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def wait_seconds(self, key: str) -> float:
        """0 when `key` may proceed now, else how long to wait."""
        now = self.clock()
        bucket = self._buckets.pop(key, None) or TokenBucket(
            self.burst, self.per_second, float(self.burst), now
        )
        self._buckets[key] = bucket
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return bucket.take(now)
