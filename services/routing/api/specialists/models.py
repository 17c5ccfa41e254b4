"""Request and response shapes of the specialists' API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from schemas.triage import Team, Urgency


class OfferView(BaseModel):
    case_id: str
    step_id: str
    team: Team
    urgency: Urgency
    offered_at: datetime
    expires_at: datetime
    attempt: int
    relaxed: list[str]
    deadline: datetime | None
    attachments: list[str]
    missing_records: list[str] = Field(default_factory=list)
    case_view: str = ""  # GET this path for the case (pseudonymised until accepted)


class AssignmentView(BaseModel):
    case_id: str
    step_id: str
    team: Team
    urgency: Urgency
    status: str
    assigned_at: datetime | None
    deadline: datetime | None
    attachments: list[str]
    case_view: str = ""
    report_ref: str | None = None
    report_version: int = 0


class DeclineBody(BaseModel):
    reason: str = Field(default="", max_length=500)


class AddendumBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=5_000)


class TeamRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: Team  # any routed team; the case view lists triage's "often added" suggestions
    reason: str = Field(min_length=1, max_length=1_000)


class CommandResult(BaseModel):
    status: str  # ok | pending
    detail: str
    case_id: str
    step_id: str
    command_id: str
