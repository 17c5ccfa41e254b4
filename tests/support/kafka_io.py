"""Produce to and read from the real broker in tests, without consumer groups."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas.envelope import Event
from schemas.registry import parse_event


async def _produce(bootstrap: str, topic: str, items: list[tuple[bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for key, value in items:
            await producer.send_and_wait(topic, key=key, value=value)
    finally:
        await producer.stop()


def produce(bootstrap: str, topic: str, items: list[tuple[bytes | None, bytes]]) -> None:
    """Send (key, value) pairs in order and wait for every acknowledgement."""
    asyncio.run(_produce(bootstrap, topic, items))


def produce_events(bootstrap: str, topic: str, events: list[Event]) -> None:
    """Send events keyed by case id."""
    produce(bootstrap, topic, [(e.case_id.encode(), e.to_bytes()) for e in events])


async def _read_all(bootstrap: str, topic: str, timeout: float) -> list[tuple[bytes | None, bytes]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        out: list[tuple[bytes | None, bytes]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            positions = [await consumer.position(tp) for tp in partitions]
            if all(pos >= ends[tp] for pos, tp in zip(positions, partitions, strict=True)):
                break
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                out.extend((r.key, r.value or b"") for r in records)
        return out
    finally:
        await consumer.stop()


Record = tuple[bytes | None, bytes]


def read_topic(bootstrap: str, topic: str, timeout: float = 10.0) -> list[Record]:
    """Every (key, value) currently on `topic`."""
    return asyncio.run(_read_all(bootstrap, topic, timeout))


def wait_for_events(
    bootstrap: str, topic: str, predicate: Callable[[list[Event]], bool], timeout: float = 60.0
) -> list[Event]:
    """Poll `topic` until `predicate(parsed events)` holds; unparseable records are skipped."""
    deadline = time.monotonic() + timeout
    events: list[Event] = []
    while time.monotonic() < deadline:
        events = []
        for _, value in read_topic(bootstrap, topic):
            try:
                events.append(parse_event(topic, value))
            except ValueError:
                continue
        if predicate(events):
            return events
        time.sleep(0.5)
    raise TimeoutError(f"condition not met on {topic}; saw {[type(e).__name__ for e in events]}")
