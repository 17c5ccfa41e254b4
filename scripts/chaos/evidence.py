"""What the topics say after a chaos run: every record with its partition and timestamp, and
the lag each consumer group has left."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas.topics import ALL_TOPICS

PARTITIONS = {spec.name: spec.partitions for spec in ALL_TOPICS}


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    timestamp: float  # seconds since the epoch (the producer's create time)
    key: bytes | None
    value: bytes | None


async def _read(bootstrap: str, topics: list[str]) -> dict[str, list[Record]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS[t])]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: dict[str, list[Record]] = {t: [] for t in topics}
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for tp, messages in (await consumer.getmany(timeout_ms=1000)).items():
                found[tp.topic] += [
                    Record(tp.topic, tp.partition, m.offset, m.timestamp / 1000, m.key, m.value)
                    for m in messages if m.offset < ends[tp]
                ]
        return found
    finally:
        await consumer.stop()


def read_topics(bootstrap: str, topics: list[str]) -> dict[str, list[Record]]:
    """Every record now on `topics`, in partition order."""
    return asyncio.run(asyncio.wait_for(_read(bootstrap, topics), 300))


async def _lag(bootstrap: str, prefix: str) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        groups = [g[0] for g in await admin.list_consumer_groups() if g[0].startswith(prefix)]
        lag: dict[str, int] = {}
        for group in groups:
            committed = await admin.list_consumer_group_offsets(group)
            inputs = {tp: meta.offset for tp, meta in committed.items()
                      if not tp.topic.endswith("-changelog") and meta.offset >= 0}
            if not inputs:
                continue
            ends = await consumer.end_offsets(list(inputs))
            lag[group] = sum(max(0, ends[tp] - offset) for tp, offset in inputs.items())
        return lag
    finally:
        await consumer.stop()
        await admin.close()


def group_lag(bootstrap: str, prefix: str) -> dict[str, int]:
    """Consumer group -> records not yet committed on its input topics."""
    return asyncio.run(asyncio.wait_for(_lag(bootstrap, prefix), 60))


def stage_stall(
    outputs: list[Record], inputs: list[Record], moment: float, partitions: int
) -> float | None:
    """Seconds the stage left work waiting after `moment` (None: a partition never resumed).

    Per partition: from `moment` (or, if the partition had nothing to do then, from the first
    input that arrived after its last output) to its first output after `moment`; the stage's
    figure is the worst partition. Idle partitions thus do not count as stalled, and with input
    on many partitions the worst one is close to the real outage.
    """
    stalls: list[float] = []
    for partition in range(partitions):
        out = sorted(r.timestamp for r in outputs if r.partition == partition)
        before = [t for t in out if t <= moment]
        after = [t for t in out if t > moment]
        last_out = before[-1] if before else 0.0
        waiting = [r.timestamp for r in inputs if r.partition == partition
                   and r.timestamp > last_out]
        if not waiting:
            continue  # nothing to do on this partition since its last output
        if not after:
            return None
        stalls.append(max(0.0, after[0] - max(moment, min(waiting))))
    return max(stalls, default=0.0)
