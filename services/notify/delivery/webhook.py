"""One signed webhook POST with httpx; the outcome is data, never an exception."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from services.notify.delivery.signing import sign
from services.notify.domain.outbox import Notification, webhook_body


@dataclass(frozen=True)
class Endpoint:
    """Where a subscriber receives webhooks and the secret its signatures use."""

    url: str
    secret: bytes


@dataclass(frozen=True)
class AttemptResult:
    """Status code (None if no response came back) and, on error, the exception type."""

    status_code: int | None
    error: str | None
    latency_seconds: float

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def describe(self) -> str:
        """A reason safe to log: a status code or an exception type, never a body."""
        return f"HTTP {self.status_code}" if self.status_code is not None else f"{self.error}"


def signed_headers(
    endpoint: Endpoint, note: Notification, body: bytes, timestamp: str
) -> dict[str, str]:
    """The headers of one attempt; Idempotency-Key is stable across retries and redeliveries."""
    return {
        "Content-Type": "application/json",
        "X-Timestamp": timestamp,
        "X-Signature": sign(endpoint.secret, timestamp, body),
        "Idempotency-Key": note.notification_id,
        "X-Notification-Kind": note.kind,
        "User-Agent": "spine-router-notify/1",
    }


class WebhookPoster:
    """Posts notifications with a shared httpx.AsyncClient (connection reuse per receiver)."""

    def __init__(self, client: httpx.AsyncClient, wall_clock: Callable[[], float] = time.time):
        self._client = client
        self._wall_clock = wall_clock

    async def __call__(self, endpoint: Endpoint, note: Notification) -> AttemptResult:
        body = webhook_body(note)
        headers = signed_headers(endpoint, note, body, str(int(self._wall_clock())))
        started = time.perf_counter()
        try:
            response = await self._client.post(endpoint.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return AttemptResult(None, type(exc).__name__, time.perf_counter() - started)
        return AttemptResult(response.status_code, None, time.perf_counter() - started)
