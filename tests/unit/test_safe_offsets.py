"""No commit passes a message nobody handled, and nothing re-read after a rebalance is dropped
(services/common/safe_offsets.py; issue 14 item 5). faust's own drain loop and commit bookkeeping
run here; only the broker side is a hand-written fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from faust.types import TP, Message

from services.common.faust_app import make_app
from services.common.safe_offsets import SafeOffsetsConsumer

TOPIC = "case.triaged.v1"
PART = TP(TOPIC, 1)
COMMITTED = 10  # the group's committed offset for PART: 10 is the next message to handle


def message(offset: int, generation: int) -> Message:
    return Message(TOPIC, 1, offset, 0.0, 0, None, b"case", b"{}", None, tp=PART,
                   generation_id=generation)


@dataclass
class Broker:
    """The fake broker side: fetches to replay, the committed offset, and what happens while the
    drain loop awaits its periodic commit (a rebalance, or the seek that ends one)."""

    fetches: list[list[Message]]
    during_commit: Callable[[FakeBrokerConsumer], Awaitable[None]] | None = None
    stopped: asyncio.Event = field(default_factory=asyncio.Event)


class FakeBrokerConsumer(SafeOffsetsConsumer):
    """The safe consumer against the fake broker: getmany, commit and seek are the broker's."""

    broker: Broker

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        if not self.broker.fetches:
            self.broker.stopped.set()  # ends faust's drain loop
            return
        await asyncio.sleep(0.02)  # a fetch round trip
        for fetched in self.broker.fetches.pop(0):
            yield fetched.tp, fetched

    async def commit(self, *args: Any, **kwargs: Any) -> bool:
        """The drain loop commits every `broker_commit_every` acks before delivering."""
        during, self.broker.during_commit = self.broker.during_commit, None
        if during is not None:
            await during(self)
        return True

    async def seek_to_committed(self) -> Mapping[TP, int]:
        return {PART: COMMITTED}


async def new_generation_seeked(consumer: SafeOffsetsConsumer) -> None:
    """A rebalance completes: new generation, committed offsets read back, flow resumed."""
    consumer.app.consumer_generation_id += 1
    await seek_and_resume(consumer)


async def seek_and_resume(consumer: SafeOffsetsConsumer) -> None:
    """What faust's Recovery.on_recovery_completed does once the tables are restored: resume the
    stream partitions, seek them to the committed offsets, resume flow -- which empties every
    agent's buffer (FlowControlEvent.resume clears its queues)."""
    await consumer.perform_seek()
    consumer.app.flow_control.resume()
    consumer.resume_flow()


async def seek_now_resume_soon(consumer: SafeOffsetsConsumer) -> None:
    """The same, with the drain loop running between the seek and the resume (faust returns
    through Service._wait first; a busy drain loop gets there in the meantime)."""
    seeked = asyncio.Event()

    async def recovery_completed() -> None:
        await consumer.perform_seek()
        seeked.set()
        await asyncio.sleep(0.01)
        consumer.app.flow_control.resume()
        consumer.resume_flow()

    consumer.add_future(recovery_completed())
    await seeked.wait()


class Fetcher:
    """What faust's drain loop needs of its fetcher: a stop flag."""

    def __init__(self, stopped: asyncio.Event) -> None:
        self._stopped = stopped


def consumer_for(
    broker: Broker, into: Callable[[Buffer, Message], Awaitable[None]] | None = None
) -> tuple[FakeBrokerConsumer, Buffer]:
    """The consumer and its agent's buffer (a busy agent: it takes them after the drain);
    `into` puts a message in the buffer, in place of appending at once."""
    app = make_app("safe-offsets-probe")
    app.consumer_generation_id = 1
    app.flow_control.resume()
    app.topics.acking_topics.add(TOPIC)  # as once an agent subscribes to the topic
    buffer = Buffer()
    app.flow_control.manage_queue(buffer)  # type: ignore[arg-type]  # emptied on resume

    async def deliver(msg: Message) -> None:  # faust's conductor: into the agent's buffer
        if into is not None:
            await into(buffer, msg)
        else:
            buffer.append(msg)

    async def on_rebalance(*args: Any) -> None:
        return None

    consumer = FakeBrokerConsumer(app.transport, callback=deliver,
                                  on_partitions_revoked=on_rebalance,
                                  on_partitions_assigned=on_rebalance)
    consumer.broker = broker
    return consumer, buffer


class Buffer(list[Message]):
    """An agent's buffer: a list FlowControlEvent can hold (weakly, by identity) and clear."""

    __hash__ = object.__hash__  # type: ignore[assignment]


async def drain(consumer: FakeBrokerConsumer, buffer: list[Message]) -> list[int]:
    """Run faust's own drain loop over the fake broker's fetches, starting with a commit; then
    the offsets the agent handles: what is in its buffer and the stream would not skip."""
    consumer._n_acked = 10**6  # past broker_commit_every: the first message waits for a commit
    fetcher: Any = Fetcher(consumer.broker.stopped)  # all the drain loop reads of a Fetcher
    await asyncio.wait_for(consumer._drain_messages(fetcher), 10)
    return [msg.offset for msg in buffer if not consumer.is_stale(msg)]


async def test_a_message_from_before_a_rebalance_does_not_drop_the_re_read_ones() -> None:
    # Generation 1 fetched offset 12; the drain loop commits before delivering it, and the
    # rebalance (generation 2, seek back to 10) completes during that commit. Then the
    # re-read 10..13 arrive in generation 2: every one must be handled.
    broker = Broker(fetches=[[message(12, 1)], [message(o, 2) for o in range(10, 14)]],
                    during_commit=new_generation_seeked)
    consumer, buffer = consumer_for(broker)

    assert await drain(consumer, buffer) == [10, 11, 12, 13]
    assert not consumer._gap[PART]  # no "gap" over 10..12 would count them as handled


async def test_a_message_delivered_during_the_seek_is_not_lost_when_flow_resumes() -> None:
    # Same generation: the seek that ends a rebalance runs while the drain loop is busy with
    # offset 12. Delivered before flow resumes, 12 would sit in the agent's buffer that resuming
    # empties, and its read offset would drop the re-read 10 and 11.
    broker = Broker(fetches=[[message(12, 1)], [message(o, 1) for o in range(10, 14)]],
                    during_commit=seek_now_resume_soon)
    consumer, buffer = consumer_for(broker)

    assert await drain(consumer, buffer) == [10, 11, 12, 13]
    assert not consumer._gap[PART]


async def test_nothing_is_committed_between_revocation_and_the_seek() -> None:
    consumer, _ = consumer_for(Broker(fetches=[]))
    await consumer.perform_seek()
    consumer.ack(message(COMMITTED, 1))
    assert consumer._filter_committable_offsets({PART}) == {PART: COMMITTED + 1}

    await consumer.on_partitions_revoked({PART})  # faust forgets the committed offset here
    consumer.app.consumer_generation_id = 2
    handled_late = message(15, 2)  # 11..14 never handled: a commit of 16 would skip them
    handled_late.refcount = 0
    consumer.ack(handled_late)
    assert consumer._filter_committable_offsets({PART}) == {}

    await consumer.perform_seek()  # committed offset 11 read back: 15 is not contiguous
    assert consumer._filter_committable_offsets({PART}) == {}
    for offset in range(11, 15):
        consumer.ack(message(offset, 2))
    assert consumer._filter_committable_offsets({PART}) == {PART: 16}


async def test_acks_count_only_in_the_current_generation_with_flow_active() -> None:
    consumer, _ = consumer_for(Broker(fetches=[]))
    await consumer.perform_seek()
    consumer.app.consumer_generation_id = 5

    stale = message(COMMITTED, 4)  # fetched before the rebalance, skipped by the stream
    assert consumer.ack(stale) is False and not stale.acked
    consumer.app.flow_control.suspend()  # a rebalance is under way
    during = message(COMMITTED, 5)
    assert consumer.ack(during) is False and not during.acked
    assert not consumer._acked[PART]  # nothing a commit could move past

    consumer.app.flow_control.resume()
    current = message(COMMITTED, 5)
    assert consumer.ack(current) is True and current.acked


async def test_a_delivery_that_need_not_wait_runs_in_the_drain_loop_itself() -> None:
    # faust's drain loop made four tasks per message for its delivery (note 5): here a delivery
    # that does not wait runs at once, in the drain loop's own task, in order.
    runs_in: list[asyncio.Task[Any] | None] = []

    async def into(buffer: Buffer, msg: Message) -> None:
        runs_in.append(asyncio.current_task())
        buffer.append(msg)

    broker = Broker(fetches=[[message(o, 1) for o in range(10, 14)]])
    consumer, buffer = consumer_for(broker, into)
    consumer.resume_flow()
    assert await drain(consumer, buffer) == [10, 11, 12, 13]
    loop_task = runs_in[0]
    assert loop_task is not None and loop_task.get_coro().__name__ == "_drain_messages"
    assert runs_in == [loop_task] * 4


async def test_a_delivery_that_waits_is_delivered_once_it_can_be() -> None:
    room = asyncio.Event()  # the agent's buffer is full until its agent takes some

    async def into(buffer: Buffer, msg: Message) -> None:
        if msg.offset == 10:
            await room.wait()
        buffer.append(msg)

    broker = Broker(fetches=[[message(10, 1), message(11, 1)]])
    consumer, buffer = consumer_for(broker, into)
    consumer.resume_flow()
    asyncio.get_running_loop().call_later(0.05, room.set)
    assert await drain(consumer, buffer) == [10, 11]


async def test_a_waiting_delivery_is_abandoned_when_flow_stops() -> None:
    # faust's contract: a delivery stuck behind a full buffer or flow control gives way to a
    # rebalance (suspend_flow); the message is read again from the committed offset.
    abandoned: list[int] = []

    async def into(buffer: Buffer, msg: Message) -> None:
        try:
            await asyncio.Event().wait()  # never room
        except asyncio.CancelledError:
            abandoned.append(msg.offset)
            raise

    broker = Broker(fetches=[[message(10, 1), message(11, 1)]])
    consumer, buffer = consumer_for(broker, into)
    consumer.resume_flow()
    asyncio.get_running_loop().call_later(0.05, consumer.stop_flow)
    assert await drain(consumer, buffer) == []
    assert abandoned == [10]  # and 11, drained with flow stopped, was held back unseen
