"""Shapes of the reviewers' case view and of report reads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from schemas.referral import (
    Comorbidities,
    DiagnosticBlock,
    ImagingFindings,
    NeuroExam,
    PatientIdentifier,
    ProposedSurgery,
    RedFlags,
    Surgery,
    Symptoms,
    Timeline,
)
from schemas.triage import TriageResult
from services.routing.domain.content import Cut


class PatientView(BaseModel):
    """A pseudonym before acceptance; the direct identifiers once the caller has accepted."""

    pseudonym: str
    identified: bool  # False: name, birth date and identifiers are withheld
    age: int | None = None
    sex: str | None = None
    jurisdiction: str | None = None
    preferred_language: str | None = None
    name: str | None = None
    birth_date: date | None = None
    identifiers: list[PatientIdentifier] = Field(default_factory=list)


class ImagingView(BaseModel):
    modality: str
    weeks_ago: float | None
    study_uid: str | None  # DICOM study instance UID, for the second reader
    report_text: str | None
    # True: routing keeps a shortened copy (its start and end around " [...] ", see `truncated`)
    report_text_truncated: bool = False
    report_text_chars: int | None = None  # the full report's length, when truncated
    findings: ImagingFindings


class ReviewStep(BaseModel):
    """A plan step as the case view shows it; `yours` says how the caller holds it."""

    step_id: str
    team: str
    status: str
    yours: Literal["offer", "assignment", "none"]
    question: str  # what this team is asked to answer
    deadline: datetime | None  # the step's review deadline (schemas.sla_policy)
    offer_expires_at: datetime | None = None
    depends_on: list[str] = Field(default_factory=list)
    prior_reports: list[str] = Field(default_factory=list)  # refs served by routing
    requested_by: str | None = None  # the reviewer whose request added this step
    request_reason: str | None = None  # why they asked (free text: never logged)


class CaseReview(BaseModel):
    """What a reviewer needs to answer the case's question."""

    case_id: str
    urgency: str
    emergency: bool
    referral_revision: int
    clinical_question: str | None  # the referrer's own question (free text)
    steps: list[ReviewStep]
    patient: PatientView
    referral_type: str | None = None
    region: str | None = None
    missing_records: list[str] = Field(default_factory=list)
    triage: TriageResult | None = None  # urgency reasons, instrument scores, likely causes
    imaging: list[ImagingView] = Field(default_factory=list)
    surgeries: list[Surgery] = Field(default_factory=list)
    proposed_surgery: ProposedSurgery | None = None
    comorbidities: Comorbidities | None = None
    symptoms: Symptoms | None = None
    timeline: Timeline | None = None
    neuro_exam: NeuroExam | None = None
    red_flags: RedFlags | None = None
    diagnostic_blocks: list[DiagnosticBlock] = Field(default_factory=list)
    suggested_teams: list[str] = Field(default_factory=list)  # triage's "often added", not planned
    # What routing's copy of the referral and triage does not hold whole (it is capped at
    # 512 KiB): each cut text or dropped part with its original and kept length. Empty for
    # nearly every case; the whole referral stays with the referrer and intake.
    truncated: list[Cut] = Field(default_factory=list)
