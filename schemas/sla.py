"""SLA clock events raised by notify: warnings before a deadline, breaches at and after it."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.envelope import Event
from schemas.triage import Urgency

ClockKind = Literal["acceptance", "turnaround"]


class _ClockEvent(Event):
    clock: ClockKind
    step_id: str
    urgency: Urgency
    deadline: AwareDatetime


class SlaWarningRaised(_ClockEvent):
    event_type: Literal["SlaWarningRaised"] = "SlaWarningRaised"
    elapsed_fraction: float = Field(ge=0)  # the configured threshold crossed, e.g. 0.75


class SlaBreached(_ClockEvent):
    event_type: Literal["SlaBreached"] = "SlaBreached"
    late_by_seconds: float = Field(ge=0)


class SlaPaused(_ClockEvent):
    event_type: Literal["SlaPaused"] = "SlaPaused"
    reason: str


class SlaResumed(_ClockEvent):
    event_type: Literal["SlaResumed"] = "SlaResumed"


class SlaMet(_ClockEvent):
    event_type: Literal["SlaMet"] = "SlaMet"


SlaEvent = SlaWarningRaised | SlaBreached | SlaPaused | SlaResumed | SlaMet
