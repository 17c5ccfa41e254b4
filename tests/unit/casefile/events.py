"""Event builders for read-model and dashboard tests: a fixed clock, deterministic event ids."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from schemas.cases import CaseContext, CaseErased, CaseTriaged, ReferralCancelled, ReferralReceived
from schemas.dead_letter import DeadLettered
from schemas.envelope import derive_id
from schemas.notifications import NotificationDelivered, NotificationFailed
from schemas.referral import Patient, Referral
from schemas.routing import (
    AssignmentAccepted,
    AssignmentCompleted,
    AssignmentDeclined,
    AssignmentOffered,
    CaseCompleted,
    CaseEscalated,
    EmergencyAssigned,
    OfferExpired,
    OfferExpiryChanged,
    PlanStepReleased,
    RoutingStopped,
)
from schemas.sla import SlaBreached, SlaMet, SlaPaused, SlaResumed, SlaWarningRaised
from schemas.triage import TriageResult

if TYPE_CHECKING:
    from schemas.envelope import Event
    from services.notify.casefile import CaseSummary

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
PATIENT_NAME = "Ada Testpatient"
CLINICAL_QUESTION = "Is the recurrent L5 pain from scar tissue? secret-free-text"
DECLINE_REASON = "on holiday, patient is my neighbour"


def at(minutes: float) -> datetime:
    """T0 plus some minutes."""
    return T0 + timedelta(minutes=minutes)


def _envelope(event_type: str, case_id: str, minutes: float, *key: object) -> dict[str, Any]:
    return {
        "event_id": derive_id(event_type, case_id, minutes, *key),
        "case_id": case_id,
        "occurred_at": at(minutes),
    }


def received(
    case_id: str, minutes: float = 0, *, referrer: str = "ref-1", revision: int = 1,
    missing: tuple[str, ...] = (),
) -> ReferralReceived:
    referral = Referral(
        referral_id=f"r-{case_id}", referral_type="post_surgery", region="lumbar", age=54, sex="F",
        patient=Patient(name=PATIENT_NAME, pseudonym="p-77"), clinical_question=CLINICAL_QUESTION,
    )
    return ReferralReceived(
        **_envelope("received", case_id, minutes, revision), referrer_id=referrer,
        revision=revision, referral=referral, missing_records=list(missing),
    )


def cancelled(case_id: str, minutes: float, *, referrer: str = "ref-1") -> ReferralCancelled:
    return ReferralCancelled(
        **_envelope("cancelled", case_id, minutes), referrer_id=referrer, reason=CLINICAL_QUESTION
    )


def erased(case_id: str, minutes: float, *, referrer: str = "ref-1") -> CaseErased:
    return CaseErased(
        **_envelope("erased", case_id, minutes), referrer_id=referrer, requested_by="ops-7",
        reason=f"erase {PATIENT_NAME}",
    )


def triaged(
    case_id: str, minutes: float, *, urgency: str = "urgent",
    teams: tuple[str, ...] = ("spine_surgery",), revision: int = 1, referrer: str = "ref-1",
) -> CaseTriaged:
    return CaseTriaged(
        **_envelope("triaged", case_id, minutes, revision), revision=revision,
        context=CaseContext(referrer_id=referrer, region="lumbar"),
        triage=TriageResult.model_validate({
            "urgency": urgency, "required_teams": list(teams), "rule_table_version": "v1",
            "fired_rules": [{"rule_id": "R7_radicular", "level": urgency, "reason": "x"}],
        }),
    )


def _step(case_id: str, minutes: float, step: str, team: str) -> dict[str, Any]:
    return {"case_id": case_id, "occurred_at": at(minutes), "step_id": step, "team": team}


def offered(
    case_id: str, minutes: float, *, specialist: str = "sp-1", step: str = "s1",
    team: str = "spine_surgery", attempt: int = 1, urgency: str = "urgent",
    review_due: float | None = None,
) -> AssignmentOffered:
    return AssignmentOffered(
        event_id=derive_id("offered", case_id, step, attempt),
        **_step(case_id, minutes, step, team),
        specialist_id=specialist, urgency=urgency, offer_expires_at=at(minutes + 60),
        attempt=attempt, deadline=None if review_due is None else at(review_due),
    )


def offer_shortened(
    case_id: str, minutes: float, *, expires: float, specialist: str = "sp-1", step: str = "s1",
    team: str = "spine_surgery", attempt: int = 1, urgency: str = "urgent",
) -> OfferExpiryChanged:
    return OfferExpiryChanged(
        event_id=derive_id("offer-expiry", case_id, step, attempt, minutes),
        **_step(case_id, minutes, step, team), specialist_id=specialist, urgency=urgency,
        offer_expires_at=at(expires), attempt=attempt,
    )


def accepted(
    case_id: str, minutes: float, *, specialist: str = "sp-1", step: str = "s1",
    team: str = "spine_surgery", urgency: str = "urgent",
) -> AssignmentAccepted:
    return AssignmentAccepted(
        event_id=derive_id("accepted", case_id, step, specialist),
        **_step(case_id, minutes, step, team), specialist_id=specialist, urgency=urgency,
    )


def declined(
    case_id: str, minutes: float, *, specialist: str = "sp-1", step: str = "s1",
    team: str = "spine_surgery",
) -> AssignmentDeclined:
    return AssignmentDeclined(
        event_id=derive_id("declined", case_id, step, specialist),
        **_step(case_id, minutes, step, team), specialist_id=specialist, reason=DECLINE_REASON,
    )


def expired(
    case_id: str, minutes: float, *, specialist: str = "sp-1", step: str = "s1",
    team: str = "spine_surgery", reason: str = "timeout",
) -> OfferExpired:
    return OfferExpired(
        event_id=derive_id("expired", case_id, step, specialist),
        **_step(case_id, minutes, step, team), specialist_id=specialist, reason=reason,
    )


def escalated(case_id: str, minutes: float, *, step: str = "s1",
              team: str = "spine_surgery") -> CaseEscalated:
    return CaseEscalated(
        event_id=derive_id("escalated", case_id, step, minutes),
        **_step(case_id, minutes, step, team), reason="no_eligible_specialist",
    )


def emergency(case_id: str, minutes: float, *, specialist: str = "oncall-1",
              step: str = "s1") -> EmergencyAssigned:
    return EmergencyAssigned(
        event_id=derive_id("emergency", case_id, step),
        **_step(case_id, minutes, step, "emergency_department"), specialist_id=specialist,
    )


def released(case_id: str, minutes: float, *, step: str = "s2",
             team: str = "spine_radiology") -> PlanStepReleased:
    return PlanStepReleased(
        event_id=derive_id("released", case_id, step), **_step(case_id, minutes, step, team),
        depends_on=["s1"],
    )


def step_completed(
    case_id: str, minutes: float, *, specialist: str = "sp-1", step: str = "s1",
    team: str = "spine_surgery",
) -> AssignmentCompleted:
    return AssignmentCompleted(
        event_id=derive_id("step_completed", case_id, step),
        **_step(case_id, minutes, step, team), specialist_id=specialist,
        report_ref=f"report-{case_id}-{step}",
    )


def case_completed(case_id: str, minutes: float) -> CaseCompleted:
    return CaseCompleted(**_envelope("completed", case_id, minutes),
                         report_refs=[f"report-{case_id}-s1"])


def stopped(case_id: str, minutes: float) -> RoutingStopped:
    return RoutingStopped(**_envelope("stopped", case_id, minutes), reason="cancelled")


_SLA = {
    "warning": SlaWarningRaised, "breached": SlaBreached, "paused": SlaPaused,
    "resumed": SlaResumed, "met": SlaMet,
}


def sla(
    kind: str, case_id: str, minutes: float, *, deadline: float, clock: str = "acceptance",
    step: str = "s1", urgency: str = "urgent", **extra: Any,
) -> Any:
    defaults = {"warning": {"elapsed_fraction": 0.75}, "paused": {"reason": "waiting_for_records"},
                "breached": {"late_by_seconds": max(0.0, (minutes - deadline) * 60)}}
    return _SLA[kind](
        event_id=derive_id("sla", kind, case_id, step, clock, minutes), case_id=case_id,
        occurred_at=at(minutes), clock=clock, step_id=step, urgency=urgency,
        deadline=at(deadline), **{**defaults.get(kind, {}), **extra},
    )


def delivered(case_id: str, minutes: float, *, notification: str = "n1",
              attempts: int = 1) -> NotificationDelivered:
    return NotificationDelivered(
        **_envelope("delivered", case_id, minutes, notification), notification_id=notification,
        audience="specialist", subscriber_id="sp-1", kind="assignment_offered",
        attempts=attempts, status_code=200, latency_ms=12.5,
    )


def failed(case_id: str, minutes: float, *, notification: str = "n1",
           attempts: int = 3) -> NotificationFailed:
    return NotificationFailed(
        **_envelope("failed", case_id, minutes, notification), notification_id=notification,
        audience="referrer", subscriber_id="ref-1", kind="status_triaged", attempts=attempts,
        reason=f"HTTP 500 body: {PATIENT_NAME}",
    )


def dead_lettered(case_id: str, minutes: float) -> DeadLettered:
    return DeadLettered(
        **_envelope("dead", case_id, minutes), service="routing",
        source_topic="routing.commands.v1", source_partition=0, source_offset=7,
        reason="step_id: Field required", original_value_b64="e30=",
    )


def case(events: Iterable[Event]) -> CaseSummary:
    """The summary folded from `events`, in order."""
    from services.notify.casefile import apply_event

    summary = None
    for event in events:
        summary = apply_event(summary, event)
    assert summary is not None
    return summary
