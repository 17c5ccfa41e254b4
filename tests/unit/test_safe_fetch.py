"""A fetch that outlasts a rebalance loses no changelog record that table recovery must read
(services/common/safe_fetch.py). faust's own getmany runs here; the consumer thread is a
hand-written fake that answers as aiokafka's does: an empty partition set means every
partition, and whatever a fetch returns moves the position past it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka.structs import ConsumerRecord
from faust.types import TP

from services.common.faust_app import make_app
from services.common.safe_fetch import undelivered
from services.common.safe_offsets import SafeOffsetsConsumer

app = make_app("safe-fetch-probe")
ROWS = app.Table("rows", default=None)
STREAM = TP("case.triaged.v1", 3)
CHANGELOG = TP(ROWS.changelog_topic.get_topic_name(), 3)


class FakeConsumerThread:
    """aiokafka's consumer on faust's consumer thread: records buffered per partition from the
    position on, a fetch that waits until `release` is set (the rebalance happens meanwhile),
    then an optional step run after the records are taken (a recovery seek)."""

    beacon = None  # what mode's add_dependency reads

    def __init__(self, ends: dict[TP, int], position: dict[TP, int]) -> None:
        self.ends, self.at = ends, dict(position)
        self.release = asyncio.Event()
        self.after_take: Callable[[], None] | None = None
        self.fetched: list[set[TP] | None] = []

    async def getmany(self, active_partitions: set[TP] | None, timeout: float) -> dict:
        await self.release.wait()
        self.fetched.append(active_partitions)
        records = {}
        for tp, end in self.ends.items():
            if active_partitions and tp not in active_partitions:  # aiokafka's own test
                continue
            if self.at[tp] < end:
                records[tp] = [record(tp, o) for o in range(self.at[tp], end)]
                self.at[tp] = end
        if self.after_take is not None:
            self.after_take()
        return records

    async def call_thread(self, fun: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        return await fun(*args)

    def _ensure_consumer(self) -> FakeConsumerThread:
        return self

    def assignment(self) -> set[TP]:
        return set(self.ends)

    async def position(self, tp: TP) -> int:
        return self.at[tp]

    def seek(self, tp: TP, offset: int) -> None:
        self.at[tp] = offset

    def highwater(self, tp: TP) -> int:
        return self.ends[tp]

    async def seek_to_committed(self) -> dict[TP, int]:
        return {}


def record(tp: TP, offset: int) -> ConsumerRecord:
    return ConsumerRecord(tp.topic, tp.partition, offset, 0, 0, b"k", b"{}", None, 1, 2, [])


class ProbeConsumer(SafeOffsetsConsumer):
    """The production consumer over the fake thread."""

    def _new_consumer_thread(self) -> Any:
        return FakeConsumerThread({STREAM: 5, CHANGELOG: 2}, {STREAM: 3, CHANGELOG: 0})


def consumer_with(active: set[TP]) -> tuple[ProbeConsumer, FakeConsumerThread]:
    async def nothing(*args: Any) -> None:
        return None

    app.consumer_generation_id = 1
    app.flow_control.resume()
    consumer = ProbeConsumer(app.transport, callback=nothing, on_partitions_revoked=nothing,
                             on_partitions_assigned=nothing)
    thread: Any = consumer._thread
    consumer._set_active_tps(active | {CHANGELOG})
    consumer.pause_partitions({CHANGELOG} - active)
    consumer.resume_flow()
    return consumer, thread


async def fetch_across(consumer: ProbeConsumer, thread: FakeConsumerThread,
                       rebalance: Callable[[], None]) -> list[tuple[TP, int]]:
    """One getmany whose fetch waits while `rebalance` runs; what it handed on."""
    async def run() -> list[tuple[TP, int]]:
        return [(tp, m.offset) async for tp, m in consumer.getmany(timeout=1.0)]

    task = asyncio.ensure_future(run())
    await asyncio.sleep(0.01)  # the fetch is waiting on the consumer thread
    rebalance()
    thread.release.set()
    return await asyncio.wait_for(task, 5)


def pause_everything(consumer: ProbeConsumer) -> Callable[[], None]:
    """faust's _on_partitions_revoked: stop flow, pause every assigned partition."""
    def rebalance() -> None:
        consumer.stop_flow()
        consumer.pause_partitions({STREAM, CHANGELOG})
    return rebalance


async def test_a_fetch_waiting_through_a_rebalance_takes_no_changelog_record() -> None:
    # Streams active, the changelog paused (recovery done). faust's live set, emptied by the
    # rebalance, read to aiokafka as "every partition": the changelog's records were taken,
    # dropped with flow stopped, and the next recovery waited for them for ever.
    consumer, thread = consumer_with({STREAM})

    assert await fetch_across(consumer, thread, pause_everything(consumer)) == []
    assert thread.fetched == [{STREAM}]  # the set as it was when the fetch began
    assert thread.at[CHANGELOG] == 0  # still there for recovery to read


async def test_changelog_records_dropped_in_a_rebalance_are_put_back() -> None:
    # Recovery reading the changelog when the next rebalance stops flow: what the fetch took is
    # dropped by faust's getmany; its position goes back to the first of them.
    consumer, thread = consumer_with({STREAM, CHANGELOG})

    assert await fetch_across(consumer, thread, pause_everything(consumer)) == []
    assert thread.at[CHANGELOG] == 0


async def test_a_seek_after_the_records_were_taken_wins() -> None:
    # The new recovery seeks the changelog (here to offset 1) after the stale fetch took 0..1:
    # putting back must not move it again.
    consumer, thread = consumer_with({STREAM, CHANGELOG})
    thread.after_take = lambda: thread.seek(CHANGELOG, 1)

    assert await fetch_across(consumer, thread, pause_everything(consumer)) == []
    assert thread.at[CHANGELOG] == 1


async def test_a_put_back_that_fails_does_not_end_the_fetching() -> None:
    consumer, thread = consumer_with({STREAM, CHANGELOG})

    async def unanswered(tp: TP) -> int:
        raise TimeoutError
    thread.position = unanswered  # type: ignore[method-assign]

    assert await fetch_across(consumer, thread, pause_everything(consumer)) == []
    assert thread.at[CHANGELOG] == 2  # not put back; the liveness rule is behind it


async def test_records_handed_on_stay_taken() -> None:
    consumer, thread = consumer_with({STREAM, CHANGELOG})

    handed = await fetch_across(consumer, thread, lambda: None)

    assert sorted(handed) == sorted([(STREAM, 3), (STREAM, 4), (CHANGELOG, 0), (CHANGELOG, 1)])
    assert thread.at == {STREAM: 5, CHANGELOG: 2}


def test_only_what_follows_the_last_record_handed_on_is_undelivered() -> None:
    taken = {CHANGELOG: (3, 6), STREAM: (0, 1)}
    assert undelivered(taken, {CHANGELOG: 4, STREAM: 1}) == {CHANGELOG: (5, 6)}
    assert undelivered(taken, {}) == taken
