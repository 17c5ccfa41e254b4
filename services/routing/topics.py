"""Routing's internal topic. Not yet in schemas.topics: the lead adds it to ALL_TOPICS."""

from __future__ import annotations

from schemas.topics import ALL_TOPICS, TopicSpec

# Load changes re-keyed by specialist id, so the load table is partitioned by specialist.
ROUTING_LOAD = "routing.load.v1"

INTERNAL_TOPICS: tuple[TopicSpec, ...] = (TopicSpec(ROUTING_LOAD),)


def topics_to_ensure() -> tuple[TopicSpec, ...]:
    """Every shared topic plus routing's internal ones (skipping any already listed upstream)."""
    shared = {spec.name for spec in ALL_TOPICS}
    return ALL_TOPICS + tuple(s for s in INTERNAL_TOPICS if s.name not in shared)
