"""A message an agent could not process: the reason, where it came from and, from topics without
patient data, the original bytes."""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import Field

from schemas.envelope import Event
from schemas.topics import ALL_TOPICS, PATIENT_DATA

# The source topics whose records carry no patient data: only their dead letters copy the
# original. deadletter.v1 is compacted and kept for good, and a dead letter can be written after
# its case's erasure tombstone, so from any other topic (the patient-data topics, the services'
# table changelogs, a topic added later) a dead letter keeps the location only.
ORIGINAL_KEPT_FROM = frozenset(spec.name for spec in ALL_TOPICS if spec.config is not PATIENT_DATA)


class DeadLettered(Event):
    """case_id is "unknown" when the original could not even be parsed far enough to tell.

    The source topic, partition and offset say where the whole record is (until compaction
    replaces it, or an erasure removes it); replay reads it there. From a topic in
    ORIGINAL_KEPT_FROM the original is copied whole when it fits; a larger one (a record near
    the topic's limit would make a dead letter past the producer's) keeps only its first bytes,
    with `original_truncated` set and the full size in `original_value_size`. From any other
    topic `original_value_b64` holds a reference, never the record: JSON
    `{"withheld": true, "size": <bytes>, "event_type": <when it is one the topic carries>}`
    (as notify's own dead letters hold ids only).
    """

    event_type: Literal["DeadLettered"] = "DeadLettered"
    service: str
    source_topic: str
    source_partition: int
    source_offset: int
    reason: str = Field(max_length=4_000)  # field paths and messages only, never input values
    original_key_b64: str | None = None
    original_value_b64: str
    # Written only when set: the previous release refuses unknown fields, so during a rolling
    # deploy it must still read every dead letter that kept its original whole.
    original_truncated: bool = Field(default=False, exclude_if=lambda cut: not cut)
    original_value_size: int | None = Field(default=None, ge=0,
                                            exclude_if=lambda size: size is None)

    def original_value(self) -> bytes:
        """The exact bytes that failed (their first bytes only if `original_truncated`), for
        replay after a fix; from a topic not in ORIGINAL_KEPT_FROM, the reference instead."""
        return base64.b64decode(self.original_value_b64)
