"""A broker for TopicFollower tests without Kafka: one partition per topic, held in memory.

`install` puts `FakeConsumer` in place of aiokafka's consumer (and skips topic creation); every
follower gets a consumer of its own over the shared `FakeTopics`, so several followers (several
workers) read the same records. `fail_with` makes every fetch raise, as a follower meets an
error it does not retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition

import services.common.follow as follow


@dataclass
class FakeTopics:
    records: dict[str, list[tuple[bytes | None, bytes | None]]] = field(default_factory=dict)
    fail_with: BaseException | None = None
    consumers: int = 0  # how many consumers were made: one per (re)connect

    def add(self, topic: str, key: bytes | None, value: bytes | None) -> int:
        """Append a record; its offset."""
        log = self.records.setdefault(topic, [])
        log.append((key, value))
        return len(log) - 1


class FakeConsumer:
    def __init__(self, topics: FakeTopics) -> None:
        self.topics = topics
        self.position_of: dict[TopicPartition, int] = {}
        topics.consumers += 1

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return {0} if topic in self.topics.records else None

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.position_of = {tp: 0 for tp in partitions}

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        for tp in partitions:
            self.position_of[tp] = 0

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: len(self.topics.records[tp.topic]) for tp in partitions}

    async def position(self, tp: TopicPartition) -> int:
        return self.position_of[tp]

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, Any]:
        await asyncio.sleep(0.005)
        if self.topics.fail_with is not None:
            raise self.topics.fail_with
        batch = {}
        for tp, at in self.position_of.items():
            log = self.topics.records[tp.topic][at:at + max_records]
            if log:
                batch[tp] = [SimpleNamespace(offset=at + i, key=key, value=value)
                             for i, (key, value) in enumerate(log)]
                self.position_of[tp] = at + len(log)
        return batch


def install(monkeypatch: pytest.MonkeyPatch, topics: FakeTopics) -> None:
    """Followers made from now on read `topics`."""

    async def no_topics_to_create(*args: object, **kwargs: object) -> None:
        return None

    monkeypatch.setattr(follow, "AIOKafkaConsumer", lambda **settings: FakeConsumer(topics))
    monkeypatch.setattr(follow, "ensure_topics", no_topics_to_create)


async def until(check: Callable[[], object], seconds: float = 3.0) -> None:
    """Wait (bounded) for `check` to hold; fail the test if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
