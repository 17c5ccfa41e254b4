"""The one topic follower behind every whole-topic view (directory, load view, registry, Tasks)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaProducer

from schemas.topics import TopicSpec
from services.common.follow import Record, TopicFollower
from services.common.topics_admin import ensure_topics

pytestmark = pytest.mark.kafka


async def _send(bootstrap: str, items: list[tuple[str, bytes, bytes | None]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for topic, key, value in items:
            await producer.send_and_wait(topic, key=key, value=value)
    finally:
        await producer.stop()


async def test_reads_every_partition_of_every_topic_to_its_end_then_follows(
    kafka_bootstrap: str,
) -> None:
    run = uuid.uuid4().hex[:8]
    compacted = TopicSpec(f"follow-a-{run}", partitions=3, config={"cleanup.policy": "compact"})
    events = TopicSpec(f"follow-b-{run}", partitions=2)
    seen: dict[tuple[str, bytes | None], bytes | None] = {}

    def sink(record: Record) -> None:
        seen[(record.topic, record.key)] = record.value  # last one wins, tombstones included

    follower = TopicFollower(bootstrap=kafka_bootstrap, topics=[compacted.name, events.name],
                             ensure=[compacted, events], on_record=sink, client_id="test-follow")
    before = [(compacted.name, f"k{i}".encode(), b"v") for i in range(12)]
    before += [(events.name, f"e{i}".encode(), b"x") for i in range(6)]
    before.append((compacted.name, b"k3", None))  # a tombstone reaches the sink too
    await ensure_topics(kafka_bootstrap, [compacted, events])
    await _send(kafka_bootstrap, before)
    await follower.start()
    try:
        assert await follower.wait_loaded(30.0)
        # Loaded means every record up to the end offsets seen at start has reached the sink.
        assert len(seen) == 18
        assert seen[(compacted.name, b"k3")] is None
        assert seen[(compacted.name, b"k4")] == b"v"
        assert seen[(events.name, b"e5")] == b"x"
        await _send(kafka_bootstrap, [(events.name, b"late", b"y")])
        for _ in range(100):
            if (events.name, b"late") in seen:
                break
            await asyncio.sleep(0.1)
        assert seen[(events.name, b"late")] == b"y"
    finally:
        await follower.stop()


async def test_not_loaded_while_a_topic_is_missing() -> None:
    follower = TopicFollower(bootstrap="127.0.0.1:1", topics=["nowhere"], on_record=print,
                             client_id="test-follow-missing", timeout_seconds=0.5)
    await follower.start()
    try:
        assert not await follower.wait_loaded(1.0)
    finally:
        await follower.stop()
