"""Intake's producer keeper: a fatal producer error or a wedged producer gets a new producer;
a broker that is away does not; a record too large is refused with a reason, never retried."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError, OutOfOrderSequenceNumber

from services.intake.producer import BrokerUnavailable, ProducerKeeper, RecordTooLarge


class FakeBroker:
    """What every fake producer talks to: reachable or not, and what a send does."""

    def __init__(self) -> None:
        self.reachable = True
        self.probe_failures = 0  # metadata probes still to fail although reachable (slow answers)
        self.probes = 0
        self.stored: list[tuple[str, bytes | None]] = []


class FakeProducer:
    """One producer instance; `mode` decides what its sends do ("ok", "hang" or an exception)."""

    def __init__(self, broker: FakeBroker, max_record_bytes: int, mode: object) -> None:
        self.broker, self.max_record_bytes, self.mode = broker, max_record_bytes, mode
        self.client = self
        self.started = self.stopped = False

    async def start(self) -> None:
        if not self.broker.reachable:
            raise KafkaConnectionError()
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def fetch_all_metadata(self) -> None:
        self.broker.probes += 1
        if self.broker.probe_failures > 0:
            self.broker.probe_failures -= 1
            raise KafkaConnectionError()
        if not self.broker.reachable:
            raise KafkaConnectionError()

    async def send_and_wait(self, topic: str, value: bytes | None, key: bytes) -> None:
        if self.mode == "hang" or not self.broker.reachable:
            await asyncio.Event().wait()
        if isinstance(self.mode, BaseException):
            raise self.mode
        self.broker.stored.append((key.decode(), value))


def _factory(broker: FakeBroker, modes: list[object]) -> tuple[Callable[[int], Any], list[Any]]:
    """Producers in the order built, each with the next mode (the last one repeats)."""
    built: list[FakeProducer] = []

    def build(max_record_bytes: int) -> FakeProducer:
        mode = modes[min(len(built), len(modes) - 1)]
        built.append(FakeProducer(broker, max_record_bytes, mode))
        return built[-1]

    return build, built


@contextlib.asynccontextmanager
async def _running(keeper: ProducerKeeper, *, ready: bool = True) -> AsyncIterator[ProducerKeeper]:
    """The keeper's run() in the background; with `ready`, entered once it takes writes."""
    task = asyncio.create_task(keeper.run())
    try:
        if ready:
            await _until(lambda: not keeper.reasons())
        yield keeper
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _until(check: Callable[[], bool], seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not check():
            await asyncio.sleep(0.01)


def _keeper(factory: Callable[[int], Any], **kwargs: Any) -> ProducerKeeper:
    settings = {"send_timeout": 0.1, "max_record_bytes": 10_000, "probe_seconds": 0.02,
                "health_window": 0.5, "wedge_seconds": 0.1} | kwargs
    return ProducerKeeper(factory=factory, **settings)


async def test_a_fatal_sequence_error_replaces_the_producer_and_writes_go_on() -> None:
    broker = FakeBroker()
    factory, built = _factory(broker, [OutOfOrderSequenceNumber(), "ok"])
    async with _running(_keeper(factory)) as keeper:
        with pytest.raises(BrokerUnavailable, match="OutOfOrderSequenceNumber"):
            await keeper.send("referral.events.v1", "case-1", b"{}")
        await _until(lambda: len(built) == 2 and not keeper.reasons())
        await keeper.send("referral.events.v1", "case-1", b"{}")
    assert broker.stored == [("case-1", b"{}")]  # only what was acknowledged counts as stored
    assert keeper.rebuilds == 1 and built[0].stopped


async def test_timeouts_while_the_broker_is_away_keep_the_producer() -> None:
    broker = FakeBroker()
    factory, built = _factory(broker, ["ok"])
    async with _running(_keeper(factory, wedge_seconds=10.0)) as keeper:
        broker.reachable = False
        for _ in range(3):
            with pytest.raises(BrokerUnavailable):
                await keeper.send("referral.events.v1", "case-2", b"{}")
        await _until(lambda: keeper.reasons() == ["kafka producer: broker not reachable"])
        assert len(built) == 1 and keeper.rebuilds == 0
        broker.reachable = True
        await _until(lambda: not keeper.reasons())
        await keeper.send("referral.events.v1", "case-2", b"{}")
    assert broker.stored == [("case-2", b"{}")] and len(built) == 1


async def test_failed_probes_make_it_not_ready_and_one_good_one_ready() -> None:
    broker = FakeBroker()
    factory, built = _factory(broker, ["ok"])
    # a health window far longer than the test: only the failed probe can make it unready
    async with _running(_keeper(factory, health_window=60.0, probe_seconds=0.05)) as keeper:
        broker.reachable = False
        await _until(lambda: keeper.reasons() == ["kafka producer: broker not reachable"],
                     seconds=1.0)
        broker.reachable = True
        await _until(lambda: not keeper.reasons(), seconds=1.0)
    assert len(built) == 1 and keeper.rebuilds == 0  # unreachable alone keeps the producer


async def test_one_slow_probe_alone_keeps_it_ready() -> None:
    broker = FakeBroker()
    factory, _built = _factory(broker, ["ok"])
    async with _running(_keeper(factory, health_window=60.0, probe_seconds=0.05)) as keeper:
        broker.probe_failures, seen = 1, set()
        probes = broker.probes
        async with asyncio.timeout(5):
            while broker.probes < probes + 4:  # the failed probe and good ones after it
                seen.add(tuple(keeper.reasons()))
                await asyncio.sleep(0.005)
    assert seen == {()}


async def test_a_producer_that_times_out_while_the_broker_answers_is_replaced() -> None:
    broker = FakeBroker()
    factory, built = _factory(broker, ["hang", "ok"])
    async with _running(_keeper(factory)) as keeper:
        with pytest.raises(BrokerUnavailable, match="no acknowledgement"):
            await keeper.send("referral.events.v1", "case-3", b"{}")
        await _until(lambda: len(built) == 2 and not keeper.reasons())
        await keeper.send("referral.events.v1", "case-3", b"{}")
    assert keeper.rebuilds == 1 and broker.stored == [("case-3", b"{}")]


async def test_a_record_over_the_topic_limit_is_refused_without_sending() -> None:
    broker = FakeBroker()
    factory, built = _factory(broker, ["ok"])
    async with _running(_keeper(factory, max_record_bytes=2_000)) as keeper:
        with pytest.raises(RecordTooLarge, match="exceeds Kafka's limit of 2000 bytes"):
            await keeper.send("referral.events.v1", "case-4", b"x" * 2_000)
    assert broker.stored == [] and keeper.rebuilds == 0
    assert built[0].max_record_bytes == 2_000  # the producer is built with the same limit


async def test_a_record_the_broker_refuses_as_too_large_is_not_fatal() -> None:
    broker = FakeBroker()
    factory, _built = _factory(broker, [MessageSizeTooLargeError()])
    async with _running(_keeper(factory)) as keeper:
        with pytest.raises(RecordTooLarge, match="too large"):
            await keeper.send("referral.events.v1", "case-5", b"{}")
        assert keeper.rebuilds == 0 and not keeper.reasons()


async def test_not_ready_until_a_producer_has_started() -> None:
    broker = FakeBroker()
    broker.reachable = False
    factory, _built = _factory(broker, ["ok"])
    async with _running(_keeper(factory), ready=False) as keeper:
        await asyncio.sleep(0.1)
        assert keeper.reasons() == ["kafka producer: not connected"]
        with pytest.raises(BrokerUnavailable, match="not connected"):
            await keeper.send("referral.events.v1", "case-6", b"{}")
        broker.reachable = True
        await _until(lambda: not keeper.reasons(), seconds=10)


async def test_rebuilds_while_the_broker_is_away_are_retried_at_most_the_cap_apart() -> None:
    broker = FakeBroker()
    broker.reachable = False
    built_at: list[float] = []
    factory, _built = _factory(broker, ["ok"])

    def build(max_record_bytes: int) -> Any:
        built_at.append(asyncio.get_running_loop().time())
        return factory(max_record_bytes)

    async with _running(_keeper(build, max_backoff=0.2), ready=False) as keeper:
        await _until(lambda: len(built_at) >= 6, seconds=5)
        gaps = [b - a for a, b in itertools.pairwise(built_at[1:])]
        assert max(gaps) < 0.2 + 0.15, gaps  # the doubling back-off stops at the cap
        broker.reachable = True
        await _until(lambda: not keeper.reasons(), seconds=2)
