"""Follow a compacted topic to its end, then keep following it: a view every worker reads whole.

No consumer group, so every worker of a service sees every partition, whatever case partitions
the group gave it (a faust Table would only hold the partitions this worker owns). `loaded`
turns true once every partition has been read up to the end offsets it had when reading began;
readiness waits for that, so no decision is taken on half a directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

log = logging.getLogger("spine.compacted")


@dataclass(frozen=True)
class Record:
    """One record of the followed topic (value None or empty: a tombstone)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


RecordSink = Callable[[Record], Awaitable[None] | None]


class CompactedFollower:
    """Reads `topic` from the beginning into `on_record`, then follows it until cancelled."""

    def __init__(
        self, *, bootstrap: str, topic: str, on_record: RecordSink, client_id: str,
        retry_seconds: float = 1.0, metadata_timeout_seconds: float = 30.0,
    ) -> None:
        self.bootstrap, self.topic, self.on_record = bootstrap, topic, on_record
        self.client_id = client_id
        self.retry_seconds = retry_seconds
        self.metadata_timeout_seconds = metadata_timeout_seconds
        self._loaded = asyncio.Event()

    @property
    def loaded(self) -> bool:
        """True once the topic was read to the end it had when this worker started reading."""
        return self._loaded.is_set()

    async def wait_loaded(self, timeout: float) -> bool:
        """Wait (bounded) until loaded; False on timeout."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._loaded.wait(), timeout)
        return self.loaded

    async def run(self) -> None:
        """Follow the topic for the life of the worker, reconnecting after broker errors."""
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning("compacted topic follower lost the broker, retrying",
                            extra={"topic": self.topic, "error": type(exc).__name__})
            await asyncio.sleep(self.retry_seconds)

    async def _follow(self) -> None:
        # A reconnect re-reads from the beginning: records apply idempotently (last one wins).
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                    enable_auto_commit=False, auto_offset_reset="earliest",
                                    client_id=self.client_id)
        await consumer.start()
        try:
            partitions = await self._partitions(consumer)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            while True:
                if not self._loaded.is_set() and await self._at_end(consumer, ends):
                    self._loaded.set()
                    log.info("compacted topic read to its end", extra={"topic": self.topic})
                batch = await consumer.getmany(timeout_ms=500)
                for tp, records in batch.items():
                    for r in records:
                        done = self.on_record(Record(tp.topic, tp.partition, r.offset, r.key,
                                                     r.value))
                        if inspect.isawaitable(done):
                            await done
        finally:
            await consumer.stop()

    @staticmethod
    async def _at_end(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
        for tp, end in ends.items():
            if await consumer.position(tp) < end:
                return False
        return True

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.metadata_timeout_seconds
        while True:  # the topic may be created by another process just now
            found = consumer.partitions_for_topic(self.topic)
            if found:
                return [TopicPartition(self.topic, p) for p in sorted(found)]
            if loop.time() >= deadline:
                raise TimeoutError(f"topic {self.topic} not found")
            await consumer._client.force_metadata_update()
            await asyncio.sleep(0.5)
