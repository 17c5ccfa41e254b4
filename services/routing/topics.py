"""Routing's topics: every one is declared in schemas.topics and created up front."""

from __future__ import annotations

from schemas.topics import ALL_TOPICS, ROUTING_LOAD, TopicSpec

__all__ = ["ROUTING_LOAD", "topics_to_ensure"]


def topics_to_ensure() -> tuple[TopicSpec, ...]:
    """Every topic the routing worker reads or writes (the shared list includes its own)."""
    return ALL_TOPICS
