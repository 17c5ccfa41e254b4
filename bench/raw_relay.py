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
PRIMER = 2 * CASE_PARTITIONS  # messages sent and awaited at every hop before the clock starts


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


async def _sink(bootstrap: str, topic: str, count: int, ready: asyncio.Event,
                arrived: list[float]) -> None:
    """Consume `count` records from the last hop; each one's latency goes into `arrived`."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"{topic}.sink",
                                auto_offset_reset="earliest")
    await consumer.start()
    ready.set()
    try:
        async for record in consumer:
            (sent,) = struct.unpack(">d", record.value[:8])
            arrived.append(time.time() - sent)
            if len(arrived) >= count:
                return
    finally:
        await consumer.stop()


async def _send(producer: AIOKafkaProducer, topic: str, first: int, count: int,
                body: bytes) -> None:
    for n in range(first, first + count):
        value = struct.pack(">d", time.time()) + body
        await producer.send(topic, key=f"case-{n}".encode(), value=value)
    await producer.flush()


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
        ready, arrived = asyncio.Event(), list[float]()
        sink = asyncio.create_task(_sink(bootstrap, topics[2], PRIMER + count, ready, arrived))
        await ready.wait()
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **PRODUCER)
        await producer.start()
        try:
            # The clock starts once a primer has come through every hop: the relays have joined
            # their groups and own their partitions (a fixed wait of 3 s was sometimes short,
            # and 600 messages then measured a rebalance: 476-1,197 msgs/s, 2026-11-28).
            await _send(producer, topics[0], 0, PRIMER, body)
            deadline = time.monotonic() + 120
            while len(arrived) < PRIMER and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            t0 = time.time()
            await _send(producer, topics[0], PRIMER, count, body)
        finally:
            await producer.stop()
        await asyncio.wait_for(sink, timeout=300)
        elapsed = time.time() - t0
        latencies = arrived[PRIMER:]
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
