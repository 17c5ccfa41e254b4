"""Follow whole topics without a consumer group: every process reads every partition.

For read models that each worker of an HTTP service keeps in memory, so that any worker can
answer any read: assign all partitions, read from the beginning (loaded once the end offsets
seen at start are reached), then keep following. Reconnects with backoff; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from schemas.topics import TopicSpec
from services.common.logs import get_logger
from services.common.topics_admin import ensure_topics

log = get_logger("follow")
RecordSink = Callable[[str, bytes], None]  # (topic, value); the sink must not raise


class TopicFollower:
    """Reads `specs` in full into `sink` in a background task; `loaded` once caught up."""

    def __init__(
        self, *, bootstrap: str, specs: Sequence[TopicSpec], sink: RecordSink, client_id: str,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._bootstrap, self._specs, self._sink = bootstrap, tuple(specs), sink
        self._client_id, self._timeout = client_id, timeout_seconds
        self._loaded = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def is_loaded(self) -> bool:
        """True once every partition was read up to its end offset at start."""
        return self._loaded.is_set()

    async def start(self) -> None:
        """Begin following in the background."""
        self._task = asyncio.create_task(self._run(), name=f"{self._client_id}-follow")

    async def stop(self) -> None:
        """Stop following."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning("follower lost kafka, retrying",
                            extra={"client": self._client_id, "error": type(exc).__name__})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _follow(self) -> None:
        await asyncio.wait_for(ensure_topics(self._bootstrap, self._specs), self._timeout)
        partitions = [TopicPartition(s.name, p) for s in self._specs for p in range(s.partitions)]
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, client_id=self._client_id, group_id=None,
            enable_auto_commit=False, request_timeout_ms=int(self._timeout * 1000),
        )
        await asyncio.wait_for(consumer.start(), self._timeout)
        try:
            consumer.assign(partitions)
            # Position is kept across reconnects only by re-reading: sinks must be idempotent.
            await consumer.seek_to_beginning(*partitions)
            end = await asyncio.wait_for(consumer.end_offsets(partitions), self._timeout)
            while True:
                if not self._loaded.is_set():
                    positions = [await consumer.position(tp) for tp in partitions]
                    if all(pos >= end[tp] for pos, tp in zip(positions, partitions, strict=True)):
                        self._loaded.set()
                        log.info("follower caught up", extra={"client": self._client_id})
                batches = await consumer.getmany(timeout_ms=500, max_records=1000)
                for tp, messages in batches.items():
                    for message in messages:
                        if message.value is not None:
                            self._sink(tp.topic, message.value)
        finally:
            await consumer.stop()
