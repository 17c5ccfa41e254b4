"""Events about the case itself: received and cancelled at intake, triaged by triage."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.envelope import Contract, Event
from schemas.referral import Referral
from schemas.triage import TriageResult

# A surgery planned further out than ten years is no date to review before: the referral's own
# bound (ProposedSurgery.days_until_scheduled). Unbounded here, a huge value overflowed routing's
# deadline arithmetic (OverflowError) and the CaseTriaged was dead-lettered with no field named.
SURGERY_DAYS_MAX = 3650


class ReferralReceived(Event):
    """Intake stored a new referral, or a new revision of an open one (revision > 1)."""

    event_type: Literal["ReferralReceived"] = "ReferralReceived"
    referrer_id: str
    revision: int = Field(default=1, ge=1)
    received_via: Literal["json", "fhir"] = "json"
    referral: Referral
    unmapped: list[str] = Field(default_factory=list)  # FHIR content we could not map
    missing_records: list[str] = Field(default_factory=list)  # case waits on the referrer


class ReferralCancelled(Event):
    event_type: Literal["ReferralCancelled"] = "ReferralCancelled"
    referrer_id: str
    reason: str = "cancelled by referrer"


class CaseErased(Event):
    """Ops erased the case's patient data; consumers drop theirs. Carries no patient data itself."""

    event_type: Literal["CaseErased"] = "CaseErased"
    referrer_id: str
    requested_by: str  # the ops principal, kept for the audit trail
    reason: str = "patient data erasure request"


class CaseContext(Contract):
    """What routing and notify need from the referral, without patient-identifying data."""

    referrer_id: str
    jurisdiction: str | None = None
    preferred_language: str | None = None
    patient_pseudonym: str | None = None
    region: str
    excluded_practitioner_ids: list[str] = Field(default_factory=list)
    excluded_institution_ids: list[str] = Field(default_factory=list)
    excluded_group_ids: list[str] = Field(default_factory=list)
    related_case_ids: list[str] = Field(default_factory=list)
    surgery_in_days: int | None = Field(default=None, ge=0, le=SURGERY_DAYS_MAX)
    missing_records: list[str] = Field(default_factory=list)


class CaseTriaged(Event):
    event_type: Literal["CaseTriaged"] = "CaseTriaged"
    revision: int = Field(default=1, ge=1)
    context: CaseContext
    triage: TriageResult


def context_of(received: ReferralReceived) -> CaseContext:
    """Lift the routing-relevant, non-identifying facts out of a referral."""
    r = received.referral
    practitioners = {s.surgeon_id for s in r.surgeries} | {
        i.reporting_radiologist_id for i in r.imaging
    }
    institutions = {s.institution_id for s in r.surgeries} | {i.institution_id for i in r.imaging}
    groups = {s.group_id for s in r.surgeries}
    if r.proposed_surgery:
        practitioners.add(r.proposed_surgery.surgeon_id)
        institutions.add(r.proposed_surgery.institution_id)
        groups.add(r.proposed_surgery.group_id)
    return CaseContext(
        referrer_id=received.referrer_id,
        jurisdiction=r.patient.jurisdiction,
        preferred_language=r.patient.preferred_language,
        patient_pseudonym=r.patient.pseudonym,
        region=r.region,
        excluded_practitioner_ids=sorted(p for p in practitioners if p),
        excluded_institution_ids=sorted(i for i in institutions if i),
        excluded_group_ids=sorted(g for g in groups if g),
        related_case_ids=list(r.related_case_ids),
        surgery_in_days=r.proposed_surgery.days_until_scheduled if r.proposed_surgery else None,
        missing_records=list(received.missing_records),
    )
