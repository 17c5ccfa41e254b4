"""What intake's referral endpoints answer (requests use schemas.referral.Referral)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.intake.domain.decisions import Decision
from services.intake.domain.registry import CaseRecord


class CaseReceipt(BaseModel):
    """The state of a case as intake stored it; a resend gets the same body back."""

    case_id: str
    referrer_id: str | None = None
    revision: int | None = None
    status: Literal["open", "cancelled", "erased"]
    received_via: Literal["json", "fhir"] | None = None
    missing_records: list[str] = Field(
        default_factory=list, description="records the case waits on (its SLA clock is paused)"
    )
    unmapped: list[str] = Field(
        default_factory=list, description="FHIR paths of content intake could not map"
    )
    updated_at: datetime | None = None

    @classmethod
    def of(cls, case: CaseRecord) -> CaseReceipt:
        """The receipt for a stored case."""
        return cls(
            case_id=case.case_id, referrer_id=case.referrer_id, revision=case.revision,
            status=case.status, received_via=case.received_via,
            missing_records=case.missing_records, unmapped=case.unmapped,
            updated_at=case.updated_at,
        )

    @classmethod
    def of_decision(cls, decision: Decision) -> CaseReceipt:
        """The receipt for a decision (an erased case has no state left to show)."""
        if decision.case is None:
            return cls(case_id=decision.case_id, status="erased")
        return cls.of(decision.case)


class FieldError(BaseModel):
    path: str
    message: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem+json, as every error of this API is answered."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ProblemDetails, "content": {"application/problem+json": {}}}
    for status in (401, 403, 404, 409, 410, 412, 413, 422, 429, 503)
}
