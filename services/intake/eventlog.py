"""Intake's Kafka edge: an idempotent producer that waits for acks, and the registry reader.

`IntakeLog` is the protocol the HTTP layer depends on; `KafkaIntakeLog` is the real one and the
tests use a hand-written fake. Writes are acknowledged by every in-sync replica (acks=all) before
intake answers; a write that is not acknowledged within the send timeout raises BrokerUnavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from schemas.topics import ALL_TOPICS, INTAKE_REGISTRY, REFERRAL_EVENTS
from services.common.logs import get_logger
from services.common.topics_admin import ensure_topics

log = get_logger("intake")
RecordSink = Callable[[str, bytes | None], None]  # (registry key, value or None for a tombstone)
INTAKE_TOPICS = tuple(s for s in ALL_TOPICS if s.name in {REFERRAL_EVENTS, INTAKE_REGISTRY})


class BrokerUnavailable(Exception):
    """Kafka did not acknowledge a write in time (or intake is not connected yet)."""


@dataclass(frozen=True)
class OutRecord:
    topic: str
    key: str
    value: bytes | None  # None = tombstone (registry only)


class IntakeLog(Protocol):
    async def start(self, on_registry_record: RecordSink) -> None:
        """Begin connecting in the background; replay the registry into `on_registry_record`."""

    async def stop(self) -> None:
        """Close the producer and the registry reader."""

    def is_ready(self) -> bool:
        """True once the producer is connected and the registry has been read to its end."""

    async def write(self, records: Sequence[OutRecord]) -> None:
        """Write records in order, each acknowledged before the next; raises BrokerUnavailable."""


class KafkaIntakeLog:
    """The real IntakeLog over aiokafka."""

    def __init__(self, *, bootstrap: str, send_timeout: float, client_id: str = "intake") -> None:
        self._bootstrap, self._timeout, self._client_id = bootstrap, send_timeout, client_id
        self._producer: AIOKafkaProducer | None = None
        self._connected = asyncio.Event()
        self._loaded = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, on_registry_record: RecordSink) -> None:
        self._task = asyncio.create_task(self._run(on_registry_record), name="intake-kafka")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def is_ready(self) -> bool:
        return self._connected.is_set() and self._loaded.is_set()

    async def write(self, records: Sequence[OutRecord]) -> None:
        producer = self._producer
        if producer is None or not self._connected.is_set():
            raise BrokerUnavailable("not connected to Kafka")
        try:
            for record in records:
                await asyncio.wait_for(
                    producer.send_and_wait(record.topic, record.value, key=record.key.encode()),
                    self._timeout,
                )
        except (TimeoutError, KafkaError) as exc:
            raise BrokerUnavailable(type(exc).__name__) from exc

    async def _run(self, on_record: RecordSink) -> None:
        delay = 0.5
        while True:
            try:
                await self._connect_and_follow(on_record)
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning("kafka unavailable, retrying", extra={"error": type(exc).__name__})
            finally:
                self._connected.clear()
                if self._producer is not None:
                    with contextlib.suppress(Exception):
                        await self._producer.stop()
                    self._producer = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _connect_and_follow(self, on_record: RecordSink) -> None:
        await asyncio.wait_for(ensure_topics(self._bootstrap, INTAKE_TOPICS), self._timeout * 2)
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap, client_id=self._client_id, acks="all",
            enable_idempotence=True, request_timeout_ms=int(self._timeout * 1000),
        )
        await producer.start()
        self._producer = producer
        self._connected.set()
        await self._follow_registry(on_record)

    async def _follow_registry(self, on_record: RecordSink) -> None:
        """Read the registry from the beginning (ready at its end), then keep following it."""
        spec = next(s for s in INTAKE_TOPICS if s.name == INTAKE_REGISTRY)
        partitions = [TopicPartition(INTAKE_REGISTRY, p) for p in range(spec.partitions)]
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, client_id=f"{self._client_id}-registry",
            group_id=None, enable_auto_commit=False,
        )
        await consumer.start()
        try:
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            end = await consumer.end_offsets(partitions)
            while True:
                if not self._loaded.is_set():
                    positions = [await consumer.position(tp) for tp in partitions]
                    if all(pos >= end[tp] for pos, tp in zip(positions, partitions, strict=True)):
                        self._loaded.set()
                        log.info("intake registry loaded")
                batches = await consumer.getmany(timeout_ms=500)
                for messages in batches.values():
                    for message in messages:
                        if message.key is not None:
                            on_record(message.key.decode(), message.value)
        finally:
            await consumer.stop()
