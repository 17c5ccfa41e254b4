"""A message an agent could not process: the reason, the original bytes and where it came from."""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import Field

from schemas.envelope import Event


class DeadLettered(Event):
    """case_id is "unknown" when the original could not even be parsed far enough to tell."""

    event_type: Literal["DeadLettered"] = "DeadLettered"
    service: str
    source_topic: str
    source_partition: int
    source_offset: int
    reason: str = Field(max_length=4_000)  # field paths and messages only, never input values
    original_key_b64: str | None = None
    original_value_b64: str

    def original_value(self) -> bytes:
        """The exact bytes that failed, for replay after a fix."""
        return base64.b64decode(self.original_value_b64)
