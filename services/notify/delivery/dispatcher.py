"""Per-subscriber, per-case delivery lanes: in order, retried with backoff, never blocking others.

A lane delivers its head before the next message (notification n+1 of a case never overtakes
n for the same subscriber). Lanes run as background tasks, so a receiver that is down only
delays its own messages; a slow one holds at most its share of the request slots (slots.py),
and the emergency pathway's messages are served first. The durable copy of every message is
the case's outbox in the faust table; lanes are rebuilt from it after a restart, so only
in-memory retry timing is lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Hashable
from datetime import datetime
from typing import Protocol

from schemas.envelope import Event, derive_id
from schemas.notifications import NotificationDelivered, NotificationFailed
from services.notify import metrics
from services.notify.delivery.retry import (
    THROTTLED_STATUS,
    RetryPolicy,
    backoff_delay,
    gives_up,
    is_retryable,
)
from services.notify.delivery.slots import Gate, ReceiverGates, ReceiverHolds
from services.notify.delivery.webhook import (
    PER_RECEIVER_CONNECTIONS,
    AttemptResult,
    Endpoint,
    receiver_of,
)
from services.notify.domain.outbox import Notification, dead_letter

log = logging.getLogger("spine.notify.delivery")

SETTLED_MEMORY = 100_000  # ids settled but perhaps still in the table until the outcome is read
LaneKey = tuple[str, str]  # (subscriber id, case id)
# The emergency pathway: the on-call page and the referrer's "send the patient now" instruction.
URGENT_KINDS = frozenset({"emergency_page", "status_emergency"})


class EndpointResolver(Protocol):
    def endpoint(self, audience: str, subscriber_id: str) -> Endpoint | None:
        """Where to post, or None if the subscriber has no webhook."""

    def ready(self) -> bool:
        """False until the directory is loaded: unknown now may be known in a second."""


Post = Callable[[Endpoint, Notification], Awaitable[AttemptResult]]
Publish = Callable[[Event], Awaitable[None]]


class Dispatcher:
    """submit() from the agent (never blocks); lanes deliver and publish outcome events."""

    def __init__(
        self, *, post: Post, resolver: EndpointResolver, retry: RetryPolicy, publish: Publish,
        clock: Callable[[], datetime], owns: Callable[[Notification], bool] = lambda n: True,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random, concurrency: int = 16,
        receiver: Callable[[str], Hashable] = receiver_of,
    ) -> None:
        self._post, self._resolver, self._retry, self._publish = post, resolver, retry, publish
        self._clock, self._owns, self._sleep, self._rng = clock, owns, sleep, rng
        self._requests = Gate(concurrency)  # requests under way, all receivers together
        # One receiver's share: no more than its pool's connections (so no request waits in the
        # pool holding a slot) and no more than half the slots (so one slow receiver leaves the
        # other half to everyone else).
        self._receivers = ReceiverGates(max(1, min(PER_RECEIVER_CONNECTIONS, concurrency // 2)))
        self._receiver_of = receiver
        # A prober that went away (cancelled, case moved) frees its turn after two deadlines.
        self._holds = ReceiverHolds(probe_seconds=2 * retry.timeout_seconds,
                                    base_seconds=retry.base_seconds)
        self._lanes: dict[LaneKey, list[Notification]] = {}
        self._tasks: dict[LaneKey, asyncio.Task[None]] = {}
        self._known: set[str] = set()
        self._settled: OrderedDict[str, int | None] = OrderedDict()  # id -> case partition

    def submit(self, note: Notification) -> None:
        """Queue a notification unless it is already queued or settled (rescans are harmless)."""
        if note.notification_id in self._known or note.notification_id in self._settled:
            return
        key = (note.subscriber_id, note.case_id)
        lane = self._lanes.setdefault(key, [])
        # After the head (which may be mid-flight), keep the case's sequence order.
        position = len(lane)
        while position > 1 and lane[position - 1].seq > note.seq:
            position -= 1
        lane.insert(position, note)
        self._known.add(note.notification_id)
        metrics.OUTBOX_PENDING.set(len(self._known))
        if key not in self._tasks:
            self._tasks[key] = asyncio.get_running_loop().create_task(self._run_lane(key))

    def pending(self) -> int:
        """Notifications queued or in flight."""
        return len(self._known)

    async def idle(self) -> None:
        """Wait until every lane has drained (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self) -> None:
        """Cancel the lanes; what they held is still in the outbox table for the next start."""
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    def forget_settled(self, partitions: Collection[int]) -> int:
        """Forget what was settled for cases of revoked partitions; returns how many. Their
        unwritten rows are dropped, so a row coming back with its partition may still list a
        message delivered here: remembered as settled, its resubmission was skipped and the
        entry stayed in the outbox for good (counted against the cap, never settled)."""
        gone = [nid for nid, partition in self._settled.items() if partition in partitions]
        for nid in gone:
            del self._settled[nid]
        return len(gone)

    def forget_case(self, case_id: str) -> None:
        """Stop the case's lanes now (the case was erased): a lane in a retry sleep or a request
        would otherwise post the referrer's text for hours. Each lane's cleanup drops what it
        held; anything still in the outbox (only what came after the erasure) the rescan
        resubmits."""
        for (_, lane_case), task in list(self._tasks.items()):
            if lane_case == case_id:
                task.cancel()

    async def _run_lane(self, key: LaneKey) -> None:
        try:
            while self._lanes.get(key):
                note = self._lanes[key][0]
                try:
                    settled = await self._deliver(note)
                except Exception as exc:  # one bad message never ends its lane (F10)
                    await self._give_up(note, note.attempts, f"delivery error {type(exc).__name__}")
                    settled = True
                self._lanes[key].pop(0)
                self._known.discard(note.notification_id)
                if settled:  # an unsettled one is resubmitted if its partition comes back
                    self._remember_settled(note.notification_id, note.partition)
                metrics.OUTBOX_PENDING.set(len(self._known))
        finally:
            self._tasks.pop(key, None)
            if not self._lanes.get(key):
                self._lanes.pop(key, None)
            else:  # cancelled with work left: forget it so a later rescan can resubmit
                for note in self._lanes.pop(key):
                    self._known.discard(note.notification_id)

    def _remember_settled(self, notification_id: str, partition: int | None) -> None:
        self._settled[notification_id] = partition
        while len(self._settled) > SETTLED_MEMORY:
            self._settled.popitem(last=False)

    async def _deliver(self, note: Notification) -> bool:
        """Deliver or give up (True); False if the case moved to another worker meanwhile.

        The retry budget counts from when this lane began on the message, not from its
        `created_at`: that is the cause event's time (so a body re-queued after a redelivery is
        the same bytes), and a cause read hours late (an outage, a backlog) must still get its
        whole budget: an emergency page read 6 h late would have had one attempt. A restart
        begins the budget again; the attempt count carries over (`note.attempts`)."""
        attempts = note.attempts
        begun = self._clock()
        while True:
            if not self._owns(note):
                return False
            endpoint = self._resolver.endpoint(note.audience, note.subscriber_id)
            if endpoint is None:
                if not self._resolver.ready():
                    await self._sleep(1.0)  # the directory is still loading
                    continue
                await self._give_up(note, attempts, "no webhook configured for subscriber")
                return True
            urgent = note.kind in URGENT_KINDS
            receiver = self._receiver_of(endpoint.url)
            # An emergency is never held back by other lanes' throttling: its own attempt
            # costs the receiver one request, and its retries honour what it is told.
            me = note.notification_id
            wait = 0.0 if urgent else self._holds.wait_seconds(receiver, self._clock(), me)
            if wait > 0:
                age = (self._clock() - begun).total_seconds()
                if age + wait > self._retry.max_total_seconds:
                    await self._give_up(note, attempts, f"{self._holds.reason(receiver)}, "
                                        f"held past the retry budget after {attempts} attempts")
                    return True
                await self._holds.wait(receiver, wait, self._sleep)  # not an attempt
                continue
            # The receiver's slot first: waiting on a busy receiver must not hold a worker slot.
            async with self._receivers.slot(receiver, urgent=urgent):
                # Held meanwhile (the lanes ahead in its queue failed): wait, do not probe.
                if not urgent and self._holds.wait_seconds(receiver, self._clock(), me) > 0:
                    continue
                async with self._requests.slot(urgent=urgent):
                    result = await self._post(endpoint, note)
            attempts += 1
            metrics.REQUEST_SECONDS.labels(note.audience).observe(result.latency_seconds)
            now = self._clock()
            throttled = not result.final and (
                result.status_code is None or result.status_code in THROTTLED_STATUS)
            if not throttled:
                self._holds.answered(receiver, now)
            if result.ok:
                await self._delivered(note, attempts, result)
                return True
            # This lane's own back-off (an emergency's, which no hold keeps back: its retries
            # follow its own attempts, not how many other lanes failed).
            delay = backoff_delay(self._retry, attempts, self._rng)
            retry_after = None if result.retry_after_seconds is None else min(
                result.retry_after_seconds, self._retry.max_total_seconds)  # a year: give up
            if retry_after is not None:
                delay = max(delay, retry_after)
            age = (now - begun).total_seconds()
            if throttled:  # every lane of this receiver waits now, this one too (unless urgent)
                self._holds.failed(receiver, now=now, retry_after=retry_after,
                                   reason=result.describe())
            if result.final or not is_retryable(result.status_code) or gives_up(
                self._retry, attempts=attempts, age_seconds=age, next_delay=delay
            ):
                reason = f"{result.describe()} after {attempts} attempts"
                await self._give_up(note, attempts, reason)
                return True
            metrics.DELIVERIES.labels(note.audience, "retry").inc()
            if attempts & (attempts - 1) == 0:
                # Attempts 1, 2, 4, 8...: enough to show "retrying" and keep the attempt budget
                # across restarts, without one event per retry of a receiver down for hours.
                await self._emit(_failed(note, attempts, result.describe(), final=False,
                                         now=self._clock()))
            if throttled and not urgent:
                continue  # to wait for the receiver with its other lanes
            await self._sleep(delay)

    async def _delivered(self, note: Notification, attempts: int, result: AttemptResult) -> None:
        now = self._clock()
        metrics.DELIVERIES.labels(note.audience, "delivered").inc()
        metrics.DELIVERY_LATENCY.labels(note.audience).observe(
            max(0.0, (now - note.created_at).total_seconds())
        )
        await self._emit(NotificationDelivered(
            event_id=derive_id(note.notification_id, "delivered"), case_id=note.case_id,
            occurred_at=now, notification_id=note.notification_id, audience=note.audience,
            subscriber_id=note.subscriber_id, kind=note.kind, attempts=attempts,
            status_code=result.status_code or 0, latency_ms=result.latency_seconds * 1000,
        ))

    async def _give_up(self, note: Notification, attempts: int, reason: str) -> None:
        now = self._clock()
        metrics.DELIVERIES.labels(note.audience, "failed").inc()
        log.warning("notification failed for good", extra={
            "case_id": note.case_id, "notification_id": note.notification_id,
            "audience": note.audience, "kind": note.kind, "reason": reason})
        await self._emit(_failed(note, max(attempts, 1), reason, final=True, now=now))
        # Ids, kind and reason only: this may come after the case's erasure tombstone.
        await self._emit(dead_letter(note, reason, now=now))

    async def _emit(self, event: Event) -> None:
        # A lost outcome event only means a redelivery with the same Idempotency-Key later.
        try:
            await self._publish(event)
        except Exception as exc:
            log.error("could not publish delivery outcome", extra={
                "case_id": event.case_id, "event_type": type(event).__name__,
                "error": type(exc).__name__})


def _failed(
    note: Notification, attempts: int, reason: str, *, final: bool, now: datetime
) -> NotificationFailed:
    return NotificationFailed(
        event_id=derive_id(note.notification_id, "failed", "final" if final else attempts),
        case_id=note.case_id, occurred_at=now, notification_id=note.notification_id,
        audience=note.audience, subscriber_id=note.subscriber_id, kind=note.kind,
        attempts=attempts, reason=reason, final=final,
    )
