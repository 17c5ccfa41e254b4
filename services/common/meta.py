"""Where a Kafka message came from: shared by the agents' loop (consume.py) and the topic
followers (follow.py), in a module of its own so intake's followers need not import faust."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EventMeta:
    """Where a message came from: enough to find it again and to dead-letter it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
