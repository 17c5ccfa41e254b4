"""The stuck-consumer probe survives partitions nothing was fetched from yet (no end offset)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.errors import IllegalStateError
from faust.types import TP

from services.common.metrics import CONSUMER_LAG
from services.common.worker import measure_lag
from services.common.worker_health import WorkerHealth


class FakeConsumer:
    """Two assigned partitions: one fetched (end offset known), one not yet (None)."""

    def __init__(self) -> None:
        self.fetched, self.unfetched = TP("case.triaged.v1", 0), TP("case.triaged.v1", 7)
        self._committed_offset: dict[Any, int] = {self.fetched: 9}

    def assignment(self) -> set[Any]:
        return {self.fetched, self.unfetched}

    async def position(self, tp: Any) -> int:
        return 0

    def highwater(self, tp: Any) -> int | None:
        return 20 if tp == self.fetched else None


class FakeApp:
    def __init__(self) -> None:
        self.consumer = FakeConsumer()


def test_a_partition_without_an_end_offset_is_skipped_not_a_crash() -> None:
    now = [0.0]
    health = WorkerHealth(FakeApp(), stuck_seconds=5, clock=lambda: now[0])  # type: ignore[arg-type]
    asyncio.run(health._probe_progress())  # raised TypeError (None - int) and crashed the app
    now[0] = 10.0
    asyncio.run(health._probe_progress())
    assert health._stuck_partitions == ["case.triaged.v1[0]"]  # lag 10, no progress


class RevokingConsumer(FakeConsumer):
    """A rebalance takes one partition away between assignment() and position()."""

    def __init__(self) -> None:
        super().__init__()
        self._committed_offset = {}

    async def position(self, tp: Any) -> int:
        if tp == self.unfetched:
            raise IllegalStateError(f"Partition {tp} is not assigned")
        return 4


def test_a_partition_revoked_meanwhile_is_skipped_by_both_probes_not_a_crash() -> None:
    app = FakeApp()
    app.consumer = RevokingConsumer()
    health = WorkerHealth(app, stuck_seconds=5, clock=lambda: 0.0)  # type: ignore[arg-type]
    asyncio.run(health._probe_progress())  # raised IllegalStateError from a faust timer: a crash
    asyncio.run(measure_lag(app.consumer, "bench-test"))
    fetched = app.consumer.fetched
    lag = CONSUMER_LAG.labels("bench-test", fetched.topic, str(fetched.partition))._value.get()
    assert lag == 16  # highwater 20 - position 4, measured for the partition still assigned
    assert set(health._progress) == {fetched}


class RevokedDuringTheAwait(FakeConsumer):
    """The rebalance lands while position() is awaited: position answers, then aiokafka's
    highwater() asserts that the partition is no longer assigned."""

    def __init__(self) -> None:
        super().__init__()
        self._committed_offset = {}
        self.revoked: set[Any] = set()

    async def position(self, tp: Any) -> int:
        if tp == self.unfetched:
            self.revoked.add(tp)
        return 4

    def highwater(self, tp: Any) -> int | None:
        assert tp not in self.revoked, "Partition is not assigned"
        return 20


def test_a_partition_revoked_while_its_position_is_awaited_is_skipped_not_a_crash() -> None:
    app = FakeApp()
    app.consumer = RevokedDuringTheAwait()
    health = WorkerHealth(app, stuck_seconds=5, clock=lambda: 0.0)  # type: ignore[arg-type]
    asyncio.run(health._probe_progress())  # raised AssertionError from a faust timer: a crash
    asyncio.run(measure_lag(app.consumer, "bench-test-revoked"))
    fetched = app.consumer.fetched
    lag = CONSUMER_LAG.labels("bench-test-revoked", fetched.topic,
                              str(fetched.partition))._value.get()
    assert lag == 16 and set(health._progress) == {fetched}
