"""Request and response shapes of the specialists' API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

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


class AssignmentView(BaseModel):
    case_id: str
    step_id: str
    team: Team
    urgency: Urgency
    status: str
    assigned_at: datetime | None
    deadline: datetime | None
    attachments: list[str]


class DeclineBody(BaseModel):
    reason: str = Field(default="", max_length=500)


class CompleteBody(BaseModel):
    report_text: str = Field(default="", max_length=50_000)
    attachment_ref: str | None = Field(default=None, max_length=500)


class CommandResult(BaseModel):
    status: str  # ok | pending
    detail: str
    case_id: str
    step_id: str
    command_id: str
