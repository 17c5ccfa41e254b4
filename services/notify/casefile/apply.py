"""apply_event: fold one event into a case summary. Pure, order-tolerant and idempotent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from schemas import cases, notifications, routing
from schemas.dead_letter import DeadLettered
from schemas.envelope import Event
from services.notify.casefile.clocks import (
    close_clock,
    earliest,
    on_sla_event,
    start_clock,
    stop_clock,
    stop_open_clocks,
)
from services.notify.casefile.models import (
    CaseStatus,
    CaseSummary,
    Delivery,
    Escalation,
    StageTimes,
    StepState,
)
from services.notify.casefile.timeline import entry_for

Handler = Callable[[CaseSummary, Any], None]
_STATUS_ORDER: tuple[CaseStatus, ...] = (
    "report_ready", "accepted", "offered", "triaged", "received",
)


def _mark_stage(s: CaseSummary, stage: str, at: datetime) -> None:
    setattr(s.stages, stage, earliest(getattr(s.stages, stage), at))


def _step(s: CaseSummary, e: routing._StepEvent) -> StepState:
    step = s.steps.get(e.step_id)
    if step is None:
        step = s.steps[e.step_id] = StepState(step_id=e.step_id, team=e.team)
    if e.team not in s.teams:
        s.teams.append(e.team)
    return step


def _on_received(s: CaseSummary, e: cases.ReferralReceived) -> None:
    s.referrer_id = e.referrer_id
    _mark_stage(s, "received", e.occurred_at)
    if e.revision >= s.revision:
        s.revision = e.revision
        s.missing_records = list(e.missing_records)


def _on_cancelled(s: CaseSummary, e: cases.ReferralCancelled) -> None:
    s.referrer_id = s.referrer_id or e.referrer_id
    if s.stages.completed is not None:
        return  # the opinion is given: routing ignores a late cancel, and so do we
    _mark_stage(s, "cancelled", e.occurred_at)
    stop_open_clocks(s, e.occurred_at)


def _on_erased(s: CaseSummary, e: cases.CaseErased) -> None:
    s.erased = True
    s.missing_records = []
    if s.stages.completed is None:
        _mark_stage(s, "cancelled", e.occurred_at)
    stop_open_clocks(s, e.occurred_at)


def _on_triaged(s: CaseSummary, e: cases.CaseTriaged) -> None:
    _mark_stage(s, "triaged", e.occurred_at)
    s.referrer_id = s.referrer_id or e.context.referrer_id
    if e.revision < s.triage_revision:
        return  # a stale triage of an older revision must not overwrite the newer one
    s.triage_revision = e.revision
    s.urgency = e.triage.urgency
    s.emergency_pathway = e.triage.emergency_pathway
    step_teams = [step.team for step in s.steps.values()]
    s.teams = list(dict.fromkeys([*e.triage.required_teams, *step_teams]))


def _on_offered(s: CaseSummary, e: routing.AssignmentOffered) -> None:
    step = _step(s, e)
    _mark_stage(s, "offered", e.occurred_at)
    s.urgency = s.urgency or e.urgency
    s.offers.offered += 1
    if step.status in ("pending", "offered") and e.attempt >= step.attempts:
        step.status = "offered"
        step.specialist_id = e.specialist_id
        step.offered_at = e.occurred_at
        step.offer_expires_at = e.offer_expires_at
        step.review_due = e.deadline or step.review_due
        step.attempts = e.attempt
        step.waiting_since = earliest(step.waiting_since, e.occurred_at)
    start_clock(s, e.step_id, "acceptance", e.occurred_at)


def _on_offer_shortened(s: CaseSummary, e: routing.OfferExpiryChanged) -> None:
    step = _step(s, e)
    # Only the offer it names, while it is open: one read late (after the offer was declined or
    # made again) must not put an old window back on the step.
    if step.status == "offered" and step.specialist_id == e.specialist_id \
            and step.attempts == e.attempt:
        step.offer_expires_at = e.offer_expires_at


def _accept(s: CaseSummary, step: StepState, specialist_id: str, at: datetime) -> None:
    step.status = "accepted" if step.status != "completed" else step.status
    step.specialist_id = specialist_id
    step.accepted_at = earliest(step.accepted_at, at)
    _mark_stage(s, "accepted", at)


def _on_accepted(s: CaseSummary, e: routing.AssignmentAccepted) -> None:
    step = _step(s, e)
    s.offers.accepted += 1
    if step.offered_at is not None and step.specialist_id == e.specialist_id:
        s.offers.acceptance_seconds.append((e.occurred_at - step.offered_at).total_seconds())
    step.review_due = e.deadline or step.review_due
    _accept(s, step, e.specialist_id, e.occurred_at)
    close_clock(s, e.step_id, "acceptance", e.occurred_at)
    start_clock(s, e.step_id, "turnaround", e.occurred_at, deadline=step.review_due)


def _offer_ended(s: CaseSummary, e: routing.AssignmentDeclined | routing.OfferExpired) -> None:
    step = _step(s, e)
    if step.status == "offered" and step.specialist_id == e.specialist_id:
        step.status = "pending"
        step.specialist_id = None
        step.offer_expires_at = None


def _on_declined(s: CaseSummary, e: routing.AssignmentDeclined) -> None:
    s.offers.declined += 1
    _offer_ended(s, e)


def _on_expired(s: CaseSummary, e: routing.OfferExpired) -> None:
    if e.reason != "withdrawn":
        s.offers.expired += 1
        _offer_ended(s, e)
        return
    s.offers.withdrawn += 1
    step = _step(s, e)
    if step.status in ("pending", "offered"):
        step.status, step.specialist_id, step.offer_expires_at = "withdrawn", None, None
        stop_clock(s, e.step_id, "acceptance", e.occurred_at)


def _on_escalated(s: CaseSummary, e: routing.CaseEscalated) -> None:
    _step(s, e)
    s.escalations.append(Escalation(
        at=e.occurred_at, step_id=e.step_id, team=e.team, escalate_to=e.escalate_to,
        reason=e.reason[:200],
    ))


def _on_emergency(s: CaseSummary, e: routing.EmergencyAssigned) -> None:
    step = _step(s, e)
    step.emergency = True
    step.review_due = e.deadline or step.review_due
    step.waiting_since = earliest(step.waiting_since, e.occurred_at)
    s.emergency_pathway = True
    s.urgency = s.urgency or "emergency"
    _mark_stage(s, "offered", e.occurred_at)
    _accept(s, step, e.specialist_id, e.occurred_at)


def _on_released(s: CaseSummary, e: routing.PlanStepReleased) -> None:
    step = _step(s, e)
    step.waiting_since = earliest(step.waiting_since, e.occurred_at)


def _on_plan_extended(s: CaseSummary, e: routing.PlanExtended) -> None:
    step = _step(s, e)
    step.review_due = e.deadline or step.review_due


def _on_deadline_changed(s: CaseSummary, e: routing.ReviewDeadlineChanged) -> None:
    step = _step(s, e)
    step.review_due = e.deadline
    clock = s.clocks.get(f"{e.step_id}:turnaround")
    if clock is not None and clock.is_open:
        # Routing's changes arrive in order on one partition, so each one stands, and SLA
        # events no longer move a moved deadline (clocks.on_sla_event): a warning raised against
        # the old one and read after the change cannot put it back, nor can one dated by a
        # later tick hide the change (review of review 21).
        clock.deadline = clock.routing_deadline = e.deadline


def _on_step_completed(s: CaseSummary, e: routing.AssignmentCompleted) -> None:
    step = _step(s, e)
    if step.accepted_at is None:
        _accept(s, step, e.specialist_id, e.occurred_at)
    step.status = "completed"
    step.specialist_id = e.specialist_id
    step.completed_at = earliest(step.completed_at, e.occurred_at)
    if e.report_ref and e.report_ref not in s.report_refs:
        s.report_refs.append(e.report_ref)
    _mark_stage(s, "report_ready", e.occurred_at)
    close_clock(s, e.step_id, "acceptance", e.occurred_at)
    close_clock(s, e.step_id, "turnaround", e.occurred_at)


def _on_case_completed(s: CaseSummary, e: routing.CaseCompleted) -> None:
    s.report_refs = list(dict.fromkeys([*s.report_refs, *e.report_refs]))
    _mark_stage(s, "completed", e.occurred_at)
    stop_open_clocks(s, e.occurred_at)


def _on_routing_stopped(s: CaseSummary, e: routing.RoutingStopped) -> None:
    if s.stages.completed is None:
        _mark_stage(s, "cancelled", e.occurred_at)
    stop_open_clocks(s, e.occurred_at)


def _on_notification(s: CaseSummary, e: Any) -> None:
    delivered = isinstance(e, notifications.NotificationDelivered)
    outcome = Delivery(
        notification_id=e.notification_id, at=e.occurred_at, audience=e.audience, kind=e.kind,
        outcome="delivered" if delivered else "failed", attempts=e.attempts,
        final=True if delivered else e.final,
    )
    for i, known in enumerate(s.deliveries):
        if known.notification_id == e.notification_id:
            if known.at <= e.occurred_at:
                s.deliveries[i] = outcome
            return
    s.deliveries.append(outcome)


def _on_dead_letter(s: CaseSummary, e: DeadLettered) -> None:
    s.dead_letters += 1


def _timeline_only(s: CaseSummary, e: Event) -> None:
    """Commands and unknown types: recorded in the timeline, no other state."""


_HANDLERS: dict[str, Handler] = {
    "ReferralReceived": _on_received,
    "ReferralCancelled": _on_cancelled,
    "CaseErased": _on_erased,
    "CaseTriaged": _on_triaged,
    "AssignmentOffered": _on_offered,
    "AssignmentAccepted": _on_accepted,
    "AssignmentDeclined": _on_declined,
    "OfferExpired": _on_expired,
    "OfferExpiryChanged": _on_offer_shortened,
    "CaseEscalated": _on_escalated,
    "EmergencyAssigned": _on_emergency,
    "PlanStepReleased": _on_released,
    "AssignmentCompleted": _on_step_completed,
    "CaseCompleted": _on_case_completed,
    "RoutingStopped": _on_routing_stopped,
    "PlanExtended": _on_plan_extended,
    "ReviewDeadlineChanged": _on_deadline_changed,
    "ReportAmended": _timeline_only,
    "SlaWarningRaised": on_sla_event,
    "SlaBreached": on_sla_event,
    "SlaPaused": on_sla_event,
    "SlaResumed": on_sla_event,
    "SlaMet": on_sla_event,
    "NotificationDelivered": _on_notification,
    "NotificationFailed": _on_notification,
    "DeadLettered": _on_dead_letter,
    "AcceptOffer": _timeline_only,
    "DeclineOffer": _timeline_only,
    "CompleteAssignment": _timeline_only,
    "AmendReport": _timeline_only,
    "RequestTeam": _timeline_only,
}
# Periodic clock ticks change nothing a reader cares about and would flood the timeline;
# capacity decisions are routing's internal reservations (the offer that follows is recorded).
IGNORED_EVENT_TYPES = frozenset({"ExpireOffers", "CapacityDecided"})


def _status(stages: StageTimes) -> CaseStatus:
    # Completed first: routing completes only a case it has not stopped, so a cancel read
    # before the CaseCompleted (another topic) came after the completion and changed nothing.
    if stages.completed is not None:
        return "completed"
    if stages.cancelled is not None:
        return "cancelled"
    return next((st for st in _STATUS_ORDER if getattr(stages, st) is not None), "received")


# Every list that grows with events is capped (oldest dropped), so no row outgrows a message.
MAX_TIMELINE = 400
TRIMMED_MEMORY = 512  # ids of trimmed lines kept for dedupe, as the domain's CaseState.applied
MAX_LIST_ITEMS = 100
_CAPPED = ("escalations", "breaches", "deliveries", "report_refs")
_SPECIALIST_COMMANDS = frozenset({
    "AcceptOffer", "DeclineOffer", "CompleteAssignment", "AmendReport", "RequestTeam"})


def _from_stranger(summary: CaseSummary | None, event_type: str, event: Event) -> bool:
    # Commands reach notify before routing decides them: one from someone who holds nothing
    # on the case must leave no line (and no row) behind.
    if event_type not in _SPECIALIST_COMMANDS:
        return False
    sid = getattr(event, "specialist_id", None)
    return summary is None or all(st.specialist_id != sid for st in summary.steps.values())


def apply_event(summary: CaseSummary | None, event: Event) -> CaseSummary | None:
    """The summary after `event`; the input is not modified, and a seen event id changes nothing.
    None only when there was no summary and the event is a stranger's command."""
    event_type = getattr(event, "event_type", type(event).__name__)
    if _from_stranger(summary, event_type, event):
        return summary
    if summary is None:
        summary = CaseSummary(case_id=event.case_id)
    if event_type in IGNORED_EVENT_TYPES or summary.has_applied(event.event_id):
        return summary
    updated = summary.mutable_copy()  # a deep copy costs ten times more per event
    _HANDLERS.get(event_type, _timeline_only)(updated, event)
    updated.status = _status(updated.stages)
    updated.timeline.append(entry_for(event))
    updated.timeline.sort(key=lambda entry: entry.at)
    trimmed = [entry.event_id for entry in updated.timeline[:-MAX_TIMELINE]]
    if trimmed:  # the oldest-dated lines go, maybe this event's own: still remembered as applied
        updated.trimmed_ids = [*updated.trimmed_ids, *trimmed][-TRIMMED_MEMORY:]
        del updated.timeline[:-MAX_TIMELINE]
    for name in _CAPPED:
        del getattr(updated, name)[:-MAX_LIST_ITEMS]
    del updated.offers.acceptance_seconds[:-MAX_LIST_ITEMS]
    if updated.updated_at is None or event.occurred_at > updated.updated_at:
        updated.updated_at = event.occurred_at
    return updated
