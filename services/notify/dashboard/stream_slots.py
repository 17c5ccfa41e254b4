"""How many live event streams the ops dashboard holds open: per principal and per worker.

Each open stream holds a task, a bounded queue and a socket for as long as its client stays.
The request guard's token buckets bound how fast a caller opens streams, not how many stay
open: a client opening them in a loop (a ticket is reusable for its 60 s, and tickets are free
to an ops principal) would hold every one of them forever. So a stream takes a slot before it
starts and gives it back when its response ends, however it ends (`SlotStream`).
"""

from __future__ import annotations

import threading
from typing import Any

from sse_starlette import EventSourceResponse
from starlette.types import Receive, Scope, Send

from services.notify import metrics

DEFAULT_PER_PRINCIPAL = 4  # a few tabs or screens per person; a reconnect frees its old slot
DEFAULT_TOTAL = 256
DEFAULT_RETRY_AFTER_SECONDS = 10  # a slot frees only when a client leaves: no exact time


class StreamsFull(Exception):
    """No slot: `limit` is "principal" or "worker"; the message names the limit, not the
    caller."""

    def __init__(self, limit: str, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.limit, self.detail, self.retry_after_seconds = limit, detail, retry_after_seconds


class Slot:
    """One open stream's place; release() is idempotent, so every exit path may call it."""

    def __init__(self, owner: StreamSlots, subject: str) -> None:
        self._owner, self._subject = owner, subject
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._owner._release(self._subject)


class StreamSlots:
    """Counts open streams per principal (its subject) and in total for one worker. Memory:
    one entry per principal holding a stream, so never more than `total` entries."""

    def __init__(self, *, per_principal: int = DEFAULT_PER_PRINCIPAL,
                 total: int = DEFAULT_TOTAL,
                 retry_after_seconds: int = DEFAULT_RETRY_AFTER_SECONDS) -> None:
        if per_principal < 1 or total < 1 or retry_after_seconds < 1:
            raise ValueError("stream limits and Retry-After must be at least 1")
        self.per_principal, self.total = per_principal, total
        self.retry_after_seconds = retry_after_seconds
        # The HTTP loop is the only writer today; the lock keeps counts right if that changes.
        self._lock = threading.Lock()
        self._held: dict[str, int] = {}
        self._open = 0

    @property
    def open_count(self) -> int:
        with self._lock:
            return self._open

    def held_by(self, subject: str) -> int:
        with self._lock:
            return self._held.get(subject, 0)

    def check(self, subject: str) -> None:
        """Raise StreamsFull if `subject` could not open a stream now (takes nothing)."""
        with self._lock:
            self._refusal(subject)

    def acquire(self, subject: str) -> Slot:
        """A slot for one more stream of `subject`, or StreamsFull."""
        with self._lock:
            self._refusal(subject)
            self._held[subject] = self._held.get(subject, 0) + 1
            self._open += 1
        metrics.DASHBOARD_STREAMS.inc()
        return Slot(self, subject)

    def _refusal(self, subject: str) -> None:
        # Caller holds the lock. The principal's own limit first: it is the one they can fix.
        if self._held.get(subject, 0) >= self.per_principal:
            limit, detail = "principal", (
                f"this principal already has {self.per_principal} live dashboard streams open "
                "(the most allowed); close one (another tab or screen) or retry later")
        elif self._open >= self.total:
            limit, detail = "worker", (
                f"this notify worker already serves {self.total} live dashboard streams (the "
                "most allowed); retry later")
        else:
            return
        metrics.DASHBOARD_STREAMS_REFUSED.labels(limit).inc()
        raise StreamsFull(limit, detail, self.retry_after_seconds)

    def _release(self, subject: str) -> None:
        with self._lock:
            left = self._held.get(subject, 0) - 1
            if left > 0:
                self._held[subject] = left
            else:
                self._held.pop(subject, None)  # no entry for principals holding nothing
            self._open -= 1
        metrics.DASHBOARD_STREAMS.dec()


class SlotStream(EventSourceResponse):
    """An event stream that gives its slot back when the response ends, however it ends.

    The release wraps the whole ASGI call rather than sitting in the event generator's
    `finally`: a generator that never started (the client gone or the task cancelled before the
    first event was asked for; sse_starlette's HEAD answer) never runs its `finally`, while this
    call returns or raises on every ending (client gone, generator error, cancellation, server
    shutdown)."""

    def __init__(self, *args: Any, slot: Slot, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.slot.release()
