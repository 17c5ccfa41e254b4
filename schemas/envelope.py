"""The envelope every event carries, and the helpers that keep event ids deterministic."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# Fixed namespace: derived ids must be identical on every machine and every replay.
EVENT_NAMESPACE = uuid.UUID("6f1e2a4c-5b7d-4e8f-9a0b-1c2d3e4f5a6b")


def derive_id(*parts: object) -> str:
    """A stable UUID5 from the parts, so a redelivered input yields the same output ids."""
    return str(uuid.uuid5(EVENT_NAMESPACE, "\x1f".join(str(p) for p in parts)))


class Contract(BaseModel):
    """Base for every wire model: immutable, unknown fields rejected so typos name their field."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Event(Contract):
    """Envelope fields: what happened, to which case, when, in which contract version."""

    event_id: str = Field(min_length=1, max_length=64)
    case_id: str = Field(min_length=1, max_length=64)
    occurred_at: AwareDatetime
    schema_version: int = 1

    def to_bytes(self) -> bytes:
        """Serialise to the JSON bytes put on the wire."""
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Parse wire bytes; raises pydantic.ValidationError naming each bad field."""
        return cls.model_validate_json(raw)

    def derived(self, *parts: object) -> str:
        """An id for an event caused by this one: same input, same id, on every replay."""
        return derive_id(self.event_id, *parts)


def utc(dt: datetime) -> datetime:
    """Reject naive datetimes early: every clock in this system is timezone-aware."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime: pass an aware (UTC) datetime")
    return dt


def dump(model: BaseModel) -> dict[str, Any]:
    """JSON-compatible dict of a model (datetimes as ISO strings)."""
    return model.model_dump(mode="json")
