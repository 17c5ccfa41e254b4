"""Read a topic whole from the real broker (tests.support.kafka_io.read_topic trips over an
`await` inside all(), which makes an async generator; reported to the lead)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas.envelope import Event
from schemas.registry import parse_event


async def _read(bootstrap: str, topic: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = [TopicPartition(topic, p)
                      for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        values: list[bytes] = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            positions = [await consumer.position(tp) for tp in partitions]
            if all(pos >= ends[tp] for pos, tp in zip(positions, partitions, strict=True)):
                break
            for records in (await consumer.getmany(timeout_ms=200)).values():
                values.extend(r.value or b"" for r in records)
        return values
    finally:
        await consumer.stop()


def events_on(bootstrap: str, topic: str, case_ids: set[str]) -> list[Event]:
    """The parsed events of those cases currently on `topic`."""
    events = [parse_event(topic, raw) for raw in asyncio.run(_read(bootstrap, topic))]
    return [e for e in events if e.case_id in case_ids]


def wait_for(
    bootstrap: str, topic: str, case_ids: set[str], done: Callable[[list[Event]], bool],
    timeout: float = 90.0,
) -> list[Event]:
    """Poll until `done(events of those cases)` holds."""
    deadline = time.monotonic() + timeout
    events: list[Event] = []
    while time.monotonic() < deadline:
        events = events_on(bootstrap, topic, case_ids)
        if done(events):
            return events
        time.sleep(0.5)
    raise TimeoutError(f"{topic}: saw {[type(e).__name__ for e in events]}")


async def _produce(bootstrap: str, topic: str, items: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in items:
            await producer.send_and_wait(topic, key=key, value=value)
    finally:
        await producer.stop()


def produce(bootstrap: str, topic: str, items: list[tuple[bytes, bytes]]) -> None:
    """Send (key, value) pairs in order, each acknowledged."""
    asyncio.run(_produce(bootstrap, topic, items))


def produce_events(bootstrap: str, topic: str, events: list[Event]) -> None:
    """Send events keyed by case id."""
    produce(bootstrap, topic, [(e.case_id.encode(), e.to_bytes()) for e in events])
