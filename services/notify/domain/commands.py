"""Notify's internal commands, on its own case-keyed topic so the agent applies them in order."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, TypeAdapter

from schemas.envelope import Event


class CheckClocks(Event):
    """A timer tick for one case: raise whatever has fallen due by the time it is applied."""

    event_type: Literal["CheckClocks"] = "CheckClocks"


class AcknowledgeEscalation(Event):
    """Someone took responsibility: the case's escalation chains (or one step's) stop; a
    specialist's only for the steps they hold when it is applied (`role` says whose it is)."""

    event_type: Literal["AcknowledgeEscalation"] = "AcknowledgeEscalation"
    step_id: str | None = None
    acknowledged_by: str = Field(min_length=1, max_length=100)
    role: Literal["specialist", "ops", "system"]


class ReportStall(Event):
    """The watchdog found a stage that never answered this case: tell ops (once per stage)."""

    event_type: Literal["ReportStall"] = "ReportStall"
    stage: Literal["triage", "routing", "emergency_page"]
    waiting_seconds: float = Field(ge=0)
    source_topic: str = Field(max_length=100)  # where the unanswered event lives, for a replay


NotifyCommand = CheckClocks | AcknowledgeEscalation | ReportStall

_ADAPTER: TypeAdapter[Any] = TypeAdapter(
    Annotated[Union[CheckClocks, AcknowledgeEscalation, ReportStall],  # noqa: UP007
              Field(discriminator="event_type")]
)


def parse_command(topic: str, raw: bytes) -> Event:
    """Parser for the command topic, with the same signature as schemas.registry.parse_event."""
    command: Event = _ADAPTER.validate_json(raw)
    return command
