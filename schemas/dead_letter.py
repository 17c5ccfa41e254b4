"""A message an agent could not process: the reason, the original bytes and where it came from."""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import Field

from schemas.envelope import Event


class DeadLettered(Event):
    """case_id is "unknown" when the original could not even be parsed far enough to tell.

    The original is copied whole when it fits; a larger one (a record near the topic's limit
    would make a dead letter past the producer's) keeps only its first bytes, with
    `original_truncated` set and the full size in `original_value_size`: the source topic,
    partition and offset say where the whole record is (until compaction replaces it).
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
        replay after a fix."""
        return base64.b64decode(self.original_value_b64)
