"""LiveFeed: in-process pub/sub of case events for the dashboard's server-sent events."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from typing import Any

from schemas.envelope import Event


class _Subscriber:
    """One browser connection: a bounded queue on the event loop that serves it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=size)
        self.dropped = 0

    def offer(self, message: dict[str, Any]) -> bool:
        """Hand the message to the subscriber's loop; False if that loop is gone."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._put(message)
            return True
        try:
            self.loop.call_soon_threadsafe(self._put, message)
        except RuntimeError:  # loop closed: the connection is over
            return False
        return True

    def _put(self, message: dict[str, Any]) -> None:
        # A slow browser loses its oldest messages instead of growing memory without limit.
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(message)


def urgency_of(event: Event) -> str | None:
    """The urgency an event carries, directly or inside its triage result."""
    urgency = getattr(event, "urgency", None)
    if urgency is None:
        triage = getattr(event, "triage", None)
        urgency = getattr(triage, "urgency", None)
    return str(urgency) if urgency is not None else None


class LiveFeed:
    """publish() from the agents (any thread, never blocks); subscribe() from SSE handlers."""

    def __init__(
        self, *, backlog_size: int = 200, queue_size: int = 500, known_cases: int = 10_000
    ) -> None:
        self._lock = threading.Lock()
        self._backlog: deque[dict[str, Any]] = deque(maxlen=backlog_size)
        self._subscribers: set[_Subscriber] = set()
        self._queue_size = queue_size
        self._seq = 0
        self._known_cases = known_cases
        self._urgency: OrderedDict[str, str] = OrderedDict()  # case id -> urgency, LRU-bounded

    def _remember_urgency(self, event: Event) -> str | None:
        urgency = urgency_of(event)
        if urgency is not None:
            self._urgency[event.case_id] = urgency
        urgency = self._urgency.get(event.case_id)
        if urgency is not None:
            self._urgency.move_to_end(event.case_id)
            while len(self._urgency) > self._known_cases:
                self._urgency.popitem(last=False)
        return urgency

    def publish(self, event: Event) -> None:
        """Announce a case event: ids, type, time and urgency only, never its payload."""
        with self._lock:
            self._seq += 1
            message = {
                "seq": self._seq,
                "event_id": event.event_id,
                "case_id": event.case_id,
                "event_type": getattr(event, "event_type", type(event).__name__),
                "occurred_at": event.occurred_at.isoformat(),
                "urgency": self._remember_urgency(event),
            }
            self._backlog.append(message)
            subscribers = list(self._subscribers)
        gone = [sub for sub in subscribers if not sub.offer(message)]
        if gone:
            with self._lock:
                self._subscribers.difference_update(gone)

    def backlog(self) -> list[dict[str, Any]]:
        """The most recent messages, oldest first."""
        with self._lock:
            return list(self._backlog)

    @property
    def last_seq(self) -> int:
        """Sequence number of the newest message (0 before any): a version of the case data."""
        with self._lock:
            return self._seq

    @property
    def subscriber_count(self) -> int:
        """Open subscriptions (browsers connected)."""
        with self._lock:
            return len(self._subscribers)

    async def subscribe(self, *, after_seq: int | None = None) -> AsyncIterator[dict[str, Any]]:
        """The backlog (after `after_seq`, if given), then every new message as it comes."""
        subscriber = _Subscriber(asyncio.get_running_loop(), self._queue_size)
        with self._lock:
            replay = [m for m in self._backlog if after_seq is None or m["seq"] > after_seq]
            self._subscribers.add(subscriber)
        try:
            for message in replay:
                yield message
            while True:
                message = await subscriber.queue.get()
                if subscriber.dropped:
                    yield {"gap": subscriber.dropped}
                    subscriber.dropped = 0
                yield message
        finally:
            with self._lock:
                self._subscribers.discard(subscriber)
