"""The raw ceiling: plain aiokafka moving a payload through three topic hops, no processing.

Same shape as the pipeline (intake produces; triage and routing relay; notify consumes), with
each relay in its own process as the services are, and the same producer settings.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import struct
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas.topics import CASE_PARTITIONS

HOPS = ("bench.raw.hop1", "bench.raw.hop2", "bench.raw.hop3")
# The services' producer settings (services/common/faust_app.py), so hops compare like for like.
PRODUCER = {"acks": "all", "enable_idempotence": True, "linger_ms": 0}


async def _create_topics(bootstrap: str, suffix: str) -> list[str]:
    names = [f"{h}.{suffix}" for h in HOPS]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(n, num_partitions=CASE_PARTITIONS, replication_factor=1) for n in names]
        )
    finally:
        await admin.close()
    return names


async def _relay(bootstrap: str, src: str, dst: str, group: str) -> None:
    consumer = AIOKafkaConsumer(src, bootstrap_servers=bootstrap, group_id=group,
                                auto_offset_reset="earliest")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **PRODUCER)
    await consumer.start()
    await producer.start()
    try:
        async for record in consumer:
            await producer.send(dst, key=record.key, value=record.value)
    finally:
        await producer.stop()
        await consumer.stop()


def _relay_process(bootstrap: str, src: str, dst: str, group: str) -> None:
    asyncio.run(_relay(bootstrap, src, dst, group))


async def _sink(bootstrap: str, topic: str, count: int, ready: asyncio.Event) -> list[float]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"{topic}.sink",
                                auto_offset_reset="earliest")
    await consumer.start()
    ready.set()
    latencies: list[float] = []
    try:
        async for record in consumer:
            (sent,) = struct.unpack(">d", record.value[:8])
            latencies.append(time.time() - sent)
            if len(latencies) >= count:
                return latencies
    finally:
        await consumer.stop()
    return latencies


async def raw_ceiling(bootstrap: str, count: int, payload: dict[str, Any]) -> dict[str, Any]:
    """Throughput (messages/s) and latency of `count` payloads through three hops."""
    topics = await _create_topics(bootstrap, str(int(time.time() * 1000)))
    body = json.dumps(payload).encode()
    ctx = mp.get_context("spawn")
    relays = [
        ctx.Process(target=_relay_process, args=(bootstrap, topics[i], topics[i + 1],
                                                 f"{topics[i]}.relay"), daemon=True)
        for i in range(2)
    ]
    for proc in relays:
        proc.start()
    try:
        ready = asyncio.Event()
        sink = asyncio.create_task(_sink(bootstrap, topics[2], count, ready))
        await ready.wait()
        await asyncio.sleep(3.0)  # let the relays join their groups
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **PRODUCER)
        await producer.start()
        t0 = time.time()
        try:
            for n in range(count):
                value = struct.pack(">d", time.time()) + body
                await producer.send(topics[0], key=f"case-{n}".encode(), value=value)
            await producer.flush()
        finally:
            await producer.stop()
        latencies = await asyncio.wait_for(sink, timeout=300)
        elapsed = time.time() - t0
    finally:
        for proc in relays:
            proc.terminate()
            proc.join(10)
    latencies.sort()
    return {
        "messages": len(latencies),
        "throughput_per_s": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "payload_bytes": len(body),
    }
