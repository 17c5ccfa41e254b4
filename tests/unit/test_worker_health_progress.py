"""The stuck-consumer probe survives partitions nothing was fetched from yet (no end offset)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
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


@pytest.mark.parametrize("consumer", [RevokingConsumer, RevokedDuringTheAwait])
def test_a_partition_revoked_meanwhile_is_skipped_by_both_probes_not_a_crash(
    consumer: type[FakeConsumer],
) -> None:
    """Revoked before position() (IllegalStateError) or while it was awaited (highwater()
    asserts): from a faust timer either crashed the whole worker."""
    app = FakeApp()
    app.consumer = consumer()
    health = WorkerHealth(app, stuck_seconds=5, clock=lambda: 0.0)  # type: ignore[arg-type]
    asyncio.run(health._probe_progress())
    service = f"bench-test-{consumer.__name__}"
    asyncio.run(measure_lag(app.consumer, service))
    fetched = app.consumer.fetched
    lag = CONSUMER_LAG.labels(service, fetched.topic, str(fetched.partition))._value.get()
    assert lag == 16  # highwater 20 - position 4, measured for the partition still assigned
    assert set(health._progress) == {fetched}
