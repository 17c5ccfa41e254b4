"""Routing's bounded copy of what a reviewer reads: the latest referral revision and triage result.

Kept per case from `ReferralReceived` (referral.events.v1) and `CaseTriaged`; dropped on erasure.
It holds patient data: served only through the case view's checks, never logged.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from schemas.cases import CaseTriaged, ReferralReceived
from schemas.envelope import Event
from schemas.referral import Referral
from schemas.triage import TriageResult


class CaseContent(BaseModel):
    """One case's referral and triage, as the case view needs them."""

    model_config = ConfigDict(extra="ignore")

    case_id: str
    revision: int = 0
    referral: Referral | None = None
    missing_records: list[str] = Field(default_factory=list)
    triage_revision: int = 0
    triage: TriageResult | None = None


def fold_content(current: CaseContent | None, event: Event) -> CaseContent | None:
    """The content after `event`, or None when it changes nothing (older revisions lose)."""
    base = current or CaseContent(case_id=event.case_id)
    if isinstance(event, ReferralReceived) and event.revision >= base.revision:
        return base.model_copy(update={"revision": event.revision, "referral": event.referral,
                                       "missing_records": list(event.missing_records)})
    if isinstance(event, CaseTriaged) and event.revision >= base.triage_revision:
        return base.model_copy(update={"triage_revision": event.revision,
                                       "triage": event.triage})
    return None
