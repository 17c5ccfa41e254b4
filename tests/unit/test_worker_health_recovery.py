"""A worker whose table recovery waits for changelog records its consumer has read past is
wedged (/health/live fails, so it is restarted); one waiting on a broker that is away is not
(services/common/worker_health.py)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from faust.types import TP

from services.common.worker_health import WorkerHealth

CHANGELOG = TP("spine-notify-notify_cases-changelog", 5)


class FakeRecovery:
    """faust's Recovery as the probe reads it: recovery of one changelog partition whose last
    offset is 0, nothing read of it yet (faust's -1)."""

    def __init__(self) -> None:
        self.in_recovery = True
        self.active_highwaters = {CHANGELOG: 0}
        self.active_offsets = {CHANGELOG: -1}

    def active_remaining(self) -> Counter[TP]:
        return Counter({tp: hw - self.active_offsets[tp]
                        for tp, hw in self.active_highwaters.items()})


class FakeConsumer:
    def __init__(self, position: int) -> None:
        self.at = position

    async def position(self, tp: Any) -> int:
        return self.at


class FakeApp:
    def __init__(self, position: int) -> None:
        self.consumer = FakeConsumer(position)
        self.tables = type("Tables", (), {"recovery": FakeRecovery()})()


def health_for(app: FakeApp, now: list[float]) -> WorkerHealth:
    return WorkerHealth(app, stall_seconds=60, clock=lambda: now[0])  # type: ignore[arg-type]


async def test_recovery_waiting_for_records_read_past_wedges_the_worker() -> None:
    now, app = [0.0], FakeApp(position=1)  # offset 0 taken, never delivered to recovery
    health = health_for(app, now)

    await health._probe_recovery()
    now[0] = 59
    await health._probe_recovery()
    assert health.wedged() == []  # records in flight to recovery look like this for a moment
    now[0] = 61
    await health._probe_recovery()
    assert health.wedged() == [
        "tables: recovery waits for spine-notify-notify_cases-changelog[5], read past"]


async def test_recovery_waiting_on_an_absent_broker_is_not_wedged() -> None:
    now, app = [0.0], FakeApp(position=0)  # nothing fetched: the broker is away
    health = health_for(app, now)

    for now[0] in (0, 300, 600):
        await health._probe_recovery()
    assert health.wedged() == []


async def test_a_position_that_never_comes_does_not_hold_the_probe_up() -> None:
    now, app = [0.0], FakeApp(position=1)
    never = asyncio.Event()

    async def awaiting_reset(tp: Any) -> int:
        await never.wait()
        return 0
    app.consumer.position = awaiting_reset  # type: ignore[method-assign]
    health = WorkerHealth(app, probe_seconds=0.05, stall_seconds=60,  # type: ignore[arg-type]
                          clock=lambda: now[0])

    await asyncio.wait_for(health._probe_recovery(), 1)
    assert health.wedged() == []


async def test_recovery_that_reads_on_is_not_wedged() -> None:
    now, app = [0.0], FakeApp(position=1)
    health = health_for(app, now)
    await health._probe_recovery()

    app.tables.recovery.active_offsets[CHANGELOG] = 0  # the record reached recovery
    now[0] = 120
    await health._probe_recovery()
    assert health.wedged() == []

    app.tables.recovery.in_recovery = False
    await health._probe_recovery()
    assert health.wedged() == []
