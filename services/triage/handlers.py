"""Triage's handler: a received referral in, a triaged case out. Pure: no I/O, clock passed in."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol

from schemas.cases import CaseTriaged, ReferralReceived, context_of
from schemas.referral import Referral
from schemas.triage import TriageResult


class Engine(Protocol):
    def __call__(self, referral: Referral, *, as_of: date | None = None) -> TriageResult: ...


def triage_case(event: ReferralReceived, *, now: datetime, engine: Engine) -> CaseTriaged:
    """Triage one referral revision; a redelivery yields the same event id, so it counts once.
    The letter's calendar dates count from the day intake received this revision, so a
    redelivery, or a replay months later, reads them as they were meant."""
    return CaseTriaged(
        event_id=event.derived("case-triaged"),
        case_id=event.case_id,
        occurred_at=now,
        revision=event.revision,
        context=context_of(event),
        triage=engine(event.referral, as_of=event.occurred_at.astimezone(UTC).date()),
    )
