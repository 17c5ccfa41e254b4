"""Request limits as ASGI middleware: a body size cap (413) and a per-client token bucket (429)."""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.problems import problem
from services.intake.metrics import THROTTLED

UNLIMITED_PATHS = frozenset({"/health", "/metrics"})


@dataclass
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
    """One bucket per client; the least recently seen clients are forgotten past `max_clients`."""

    def __init__(
        self, *, burst: int, per_second: float, clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.burst, self.per_second, self.clock = burst, per_second, clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def wait_seconds(self, client: str) -> float:
        """0 when `client` may proceed now, else how long to wait."""
        now = self.clock()
        bucket = self._buckets.pop(client, None) or TokenBucket(
            self.burst, self.per_second, float(self.burst), now
        )
        self._buckets[client] = bucket
        if len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return bucket.take(now)


def client_identity(scope: Scope) -> str:
    """The caller's credential (hashed) or, without one, its address: the rate-limit key.

    Keyed on the credential as presented, not on a verified principal, so floods are refused
    before any token is checked; a forged token only ever drains its own bucket.
    """
    headers = dict(scope.get("headers") or [])
    credential = headers.get(b"authorization") or headers.get(b"x-api-key")
    if credential:
        return "cred:" + hashlib.sha256(credential).hexdigest()
    client = scope.get("client")
    return f"addr:{client[0] if client else 'unknown'}"


class LimitsMiddleware:
    """413 for bodies over `max_body_bytes` (declared or streamed), 429 + Retry-After when a
    client's bucket is empty."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, limiter: RateLimiter) -> None:
        self.app, self.max_body_bytes, self.limiter = app, max_body_bytes, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        wait = self.limiter.wait_seconds(client_identity(scope))
        if wait > 0:
            THROTTLED.labels(limit="rate").inc()
            retry_after = str(max(1, math.ceil(min(wait, 3600))))
            response = problem(
                429, "Too many requests", f"rate limit exceeded; retry after {retry_after} s",
                instance=scope["path"], kind="rate-limited", headers={"Retry-After": retry_after},
            )
            await response(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            # Chunked bodies declare no length: count as they stream in. FastAPI passes an
            # HTTPException raised here through to the problem handlers.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    THROTTLED.labels(limit="body_size").inc()
                    raise HTTPException(413, self._too_large_detail())
            return message

        await self.app(scope, counting_receive, send)

    def _too_large_detail(self) -> str:
        return f"request bodies are limited to {self.max_body_bytes} bytes"

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        THROTTLED.labels(limit="body_size").inc()
        response = problem(
            413, "Content too large", self._too_large_detail(),
            instance=scope["path"], kind="body-too-large",
        )
        await response(scope, receive, send)
