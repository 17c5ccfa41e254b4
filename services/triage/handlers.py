"""Triage's handler: a received referral in, a triaged case out. Pure: no I/O, clock passed in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from schemas.cases import CaseTriaged, ReferralReceived, context_of
from schemas.referral import Referral
from schemas.triage import TriageResult


def triage_case(
    event: ReferralReceived, *, now: datetime, engine: Callable[[Referral], TriageResult]
) -> CaseTriaged:
    """Triage one referral revision; a redelivery yields the same event id, so it counts once."""
    return CaseTriaged(
        event_id=event.derived("case-triaged"),
        case_id=event.case_id,
        occurred_at=now,
        revision=event.revision,
        context=context_of(event),
        triage=engine(event.referral),
    )
