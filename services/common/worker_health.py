"""Readiness of a faust worker that tells the truth (see /health/ready in services.common.http).

A worker is ready when it can do its work now:
- it holds partitions from a completed rebalance (not while one is under way),
- its tables are recovered from their changelogs,
- its producer reaches the broker (a metadata round trip within the last `producer_window` s),
- its consumer is not stuck: no input partition has had lag > 0 without any progress of the
  committed offset for `stuck_seconds`.

A worker is wedged (`wedged()`, for /health/live: restart it) when table recovery has waited
`stall_seconds` for changelog records its consumer has already read past: nothing more will
come, and faust only warns. Seen once the consumer had dropped them (services/common/
safe_fetch.py closes that); a broker that is away moves no position, so it wedges nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import faust
from aiokafka.errors import IllegalStateError, KafkaError

from services.common.logs import get_logger
from services.common.settings import env_float

log = get_logger("health")


class WorkerHealth:
    """Hooks on the app's rebalance signals plus a probe timer; `reasons()` feeds the route."""

    def __init__(
        self, app: faust.App, *, probe_seconds: float = 2.0, producer_window: float = 10.0,
        stuck_seconds: float = 30.0, stall_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app, self._clock = app, clock
        self._probe_seconds, self._window = probe_seconds, producer_window
        self._stuck = stuck_seconds
        self.assigned: bool | None = None  # None: no assignment yet
        self.rebalancing = False
        self._reached_at: float | None = None
        self._progress: dict[Any, tuple[int | None, float]] = {}  # tp -> (marker, since)
        self._stuck_partitions: list[str] = []
        self._stall = stall_seconds
        self._passed: dict[Any, float] = {}  # changelog tp recovery waits on, read past -> since

    def reasons(self) -> list[str]:
        """What keeps the worker from doing its work now ([] = ready)."""
        found = []
        if self.assigned is None or self.rebalancing:
            found.append("consumer: rebalance not complete")
        elif not self.assigned:
            found.append("consumer: no partitions assigned")
        if not self._app.tables.recovery.completed.is_set():  # type: ignore[attr-defined]
            found.append("tables: recovery not complete")
        if self._reached_at is None or self._clock() - self._reached_at > self._window:
            found.append("producer: broker not reachable")
        found += [f"consumer: no progress on {tp}" for tp in self._stuck_partitions]
        return found

    def wedged(self) -> list[str]:
        """What no waiting will mend ([] = alive): recovery stalled on records read past."""
        now = self._clock()
        return [f"tables: recovery waits for {tp.topic}[{tp.partition}], read past"
                for tp, since in self._passed.items() if now - since > self._stall]

    def install(self) -> WorkerHealth:
        """Connect to the app's signals and start the probe timer."""
        app = self._app

        @app.on_partitions_revoked.connect  # type: ignore[misc,arg-type]
        async def _revoked(sender: object, revoked: set[Any], **kwargs: object) -> None:
            self.rebalancing = True  # a rebalance has begun

        @app.on_partitions_assigned.connect  # type: ignore[misc,arg-type]
        async def _assigned(sender: object, assigned: set[Any], **kwargs: object) -> None:
            self.assigned = any(not tp.topic.endswith("-changelog") for tp in assigned)
            self._progress.clear()

        @app.on_rebalance_complete.connect  # type: ignore[misc,arg-type]
        async def _complete(sender: object, **kwargs: object) -> None:
            self.rebalancing = False

        @app.timer(interval=self._probe_seconds)
        async def _probe_worker() -> None:
            await self.probe()

        return self

    async def probe(self) -> None:
        """One round: reach the broker through the producer, then look for stuck partitions."""
        await self._probe_producer()
        await self._probe_recovery()
        if self.assigned and not self.rebalancing:
            await self._probe_progress()

    async def _probe_producer(self) -> None:
        # faust keeps its aiokafka producer private; its client answers a metadata request.
        client = getattr(getattr(self._app.producer, "_producer", None), "client", None)
        if client is None:
            return
        try:
            await asyncio.wait_for(client.fetch_all_metadata(), self._probe_seconds * 0.9)
        except (KafkaError, OSError, TimeoutError):
            return
        self._reached_at = self._clock()

    async def _probe_recovery(self) -> None:
        recovery, passed = self._app.tables.recovery, {}  # type: ignore[attr-defined]
        if recovery.in_recovery:
            for tp, remaining in recovery.active_remaining().items():
                last = recovery.active_highwaters.get(tp)  # faust's: the last offset
                if remaining <= 0 or last is None:
                    continue
                try:  # a partition still awaiting its position would hold the probe up
                    position = await asyncio.wait_for(
                        position_if_assigned(self._app.consumer, tp), self._probe_seconds)
                except TimeoutError:
                    continue
                if position is not None and position > last:
                    passed[tp] = self._passed.get(tp, self._clock())
        self._passed = passed

    async def _probe_progress(self) -> None:
        consumer, now = self._app.consumer, self._clock()
        committed = getattr(consumer, "_committed_offset", {})
        stuck = []
        for tp in consumer.assignment():
            if tp.topic.endswith("-changelog"):
                continue  # changelogs are read only during recovery
            marker = committed.get(tp)
            position = marker + 1 if marker is not None else await position_if_assigned(
                consumer, tp)
            highwater = highwater_if_assigned(consumer, tp)
            if highwater is None:
                continue  # nothing fetched from it yet: no end offset known (None - int crashed)
            lag = highwater - (position or 0)
            seen, since = self._progress.get(tp, (None, now))
            if marker != seen or lag <= 0:
                since = now
            self._progress[tp] = (marker, since)
            if lag > 0 and now - since > self._stuck:
                stuck.append(f"{tp.topic}[{tp.partition}]")
        if stuck and stuck != self._stuck_partitions:
            log.warning("consumer makes no progress", extra={"partitions": stuck})
        self._stuck_partitions = stuck


async def position_if_assigned(consumer: Any, tp: Any) -> int | None:
    """The consumer's position on `tp`, or None if a rebalance took `tp` away since the
    caller read the assignment: aiokafka raises IllegalStateError then, and from a faust timer
    that crashed the whole worker (a routing worker, as a second one joined, 2026-11-28)."""
    try:
        return int(await consumer.position(tp))
    except IllegalStateError:
        return None


def highwater_if_assigned(consumer: Any, tp: Any) -> int | None:
    """The end offset fetched for `tp` (None before the first fetch), or None if a rebalance
    took `tp` away while the caller awaited: aiokafka asserts "Partition is not assigned",
    and from the lag timer that crashed a routing worker as a second one joined (2026-11-28,
    fresh-clone suite), after position_if_assigned had stopped the same crash one call
    earlier."""
    try:
        return consumer.highwater(tp)  # type: ignore[no-any-return]
    except (AssertionError, IllegalStateError):
        return None


def worker_health(app: faust.App) -> WorkerHealth:
    """The app's WorkerHealth (one per app, installed on first use); HEALTH_STUCK_SECONDS and
    RECOVERY_STALL_SECONDS tune the stuck-consumer and stalled-recovery rules."""
    health = getattr(app, "_spine_health", None)
    if health is None:
        health = WorkerHealth(app, stuck_seconds=env_float("HEALTH_STUCK_SECONDS", 30.0),
                              stall_seconds=env_float("RECOVERY_STALL_SECONDS", 60.0)).install()
        app._spine_health = health  # type: ignore[attr-defined]
    return health
