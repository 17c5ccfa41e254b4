"""Notify's internal commands, on its own case-keyed topic so the agent applies them in order."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, TypeAdapter

from schemas.envelope import Event


class CheckClocks(Event):
    """A timer tick for one case: raise whatever has fallen due by the time it is applied."""

    event_type: Literal["CheckClocks"] = "CheckClocks"


class AcknowledgeEscalation(Event):
    """Someone took responsibility: the case's escalation chains (or one step's) stop."""

    event_type: Literal["AcknowledgeEscalation"] = "AcknowledgeEscalation"
    step_id: str | None = None
    acknowledged_by: str = Field(min_length=1, max_length=100)
    role: Literal["specialist", "ops", "system"]


NotifyCommand = CheckClocks | AcknowledgeEscalation

_ADAPTER: TypeAdapter[Any] = TypeAdapter(
    Annotated[Union[CheckClocks, AcknowledgeEscalation], Field(discriminator="event_type")]  # noqa: UP007
)


def parse_command(topic: str, raw: bytes) -> Event:
    """Parser for the command topic, with the same signature as schemas.registry.parse_event."""
    command: Event = _ADAPTER.validate_json(raw)
    return command
