"""The specialist directory, read whole from its compacted topic into memory by every worker.

No consumer group: each worker reads every partition from the beginning at start, so it knows
every specialist's webhook and team lead regardless of which case partitions it owns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from schemas.directory import Specialist
from schemas.topics import SPECIALIST_DIRECTORY

log = logging.getLogger("spine.notify.directory")


class DirectoryCache(Mapping[str, Specialist]):
    """specialist id -> Specialist; `loaded` turns true once the topic was read to its end."""

    def __init__(self) -> None:
        self._entries: dict[str, Specialist] = {}
        self.loaded = False

    def __getitem__(self, key: str) -> Specialist:
        return self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One record of the compacted topic: an entry, or a tombstone that removes it."""
        if value is None:
            if key is not None:
                self._entries.pop(key.decode(errors="replace"), None)
            return
        try:
            entry = Specialist.model_validate_json(value)
        except ValidationError as exc:
            log.warning("skipped invalid directory entry", extra={"errors": exc.error_count()})
            return
        self._entries[entry.specialist_id] = entry

    async def follow(self, bootstrap: str, topic: str = SPECIALIST_DIRECTORY) -> None:
        """Read the topic from the beginning, then keep following it until cancelled."""
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                    group_id=None, auto_offset_reset="earliest")
        await consumer.start()
        try:
            partitions = await self._partitions(consumer, topic)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            announced = False
            while True:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        self.apply(record.key, record.value)
                if not self.loaded:
                    positions = [await consumer.position(tp) for tp in partitions]
                    self.loaded = all(
                        pos >= ends[tp] for pos, tp in zip(positions, partitions, strict=True)
                    )
                if self.loaded and not announced:
                    announced = True
                    log.info("directory loaded", extra={"specialists": len(self._entries)})
        finally:
            await consumer.stop()

    @staticmethod
    async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
        for _ in range(60):  # the topic may be created by another process just now
            found = consumer.partitions_for_topic(topic)
            if found:
                return [TopicPartition(topic, p) for p in sorted(found)]
            await consumer._client.force_metadata_update()
            await asyncio.sleep(0.5)
        raise RuntimeError(f"topic {topic} not found")
