"""Apply one consumed event to a case: clocks, chains, and the messages it causes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from schemas.cases import CaseErased, CaseTriaged, ReferralCancelled, ReferralReceived
from schemas.envelope import Event
from schemas.notifications import NotificationDelivered, NotificationFailed
from schemas.routing import (
    AssignmentAccepted,
    AssignmentCompleted,
    AssignmentDeclined,
    AssignmentOffered,
    CaseCompleted,
    EmergencyAssigned,
    OfferExpired,
    OfferExpiryChanged,
    PlanExtended,
    ReportAmended,
    ReviewDeadlineChanged,
    RoutingStopped,
)
from schemas.sla import ClockKind
from schemas.triage import text_flags_to_confirm
from services.notify.domain import clockwork, sla
from services.notify.domain.commands import CheckClocks
from services.notify.domain.context import Context
from services.notify.domain.ops_handlers import OPS_HANDLERS
from services.notify.domain.policy import NotifyPolicy
from services.notify.domain.state import APPLIED_MEMORY, CaseState, Contacts, Outcome, StepInfo

EMERGENCY_INSTRUCTION = "Send the patient to emergency care now; the on-call surgeon is paged."
BOTH_CLOCKS: tuple[ClockKind, ...] = ("acceptance", "turnaround")
# What an erased case still applies. Its other inputs come late (other topics, other agents)
# or again (at-least-once) and would queue patient text again (status_triaged quotes the
# referrer's sentences). Ticks find every clock stopped, delivery outcomes only drop or count
# queued messages, and RoutingStopped tells the holders to stop work with routing's fixed
# reason (routing emits it on the erasure, so it usually arrives after it).
AFTER_ERASURE = (CheckClocks, NotificationDelivered, NotificationFailed, RoutingStopped)


def apply_event(
    state: CaseState | None, event: Event, *, policy: NotifyPolicy, contacts: Contacts,
    now: datetime, partition: int | None = None,
) -> Outcome:
    """The case after `event`, plus what to publish; a redelivered event changes nothing.

    The input state is never modified; when nothing changes, the outcome holds that same object.
    """
    handler = _HANDLERS.get(type(event))
    if state is not None and state.erased and not isinstance(event, AFTER_ERASURE):
        handler = None
    moved = partition is not None and (state is None or state.partition != partition)
    if state is not None and not moved and (handler is None or event.event_id in state.applied):
        return Outcome(state=state)  # e.g. our own SLA events read back, or a redelivery
    current = state.working_copy() if state is not None else CaseState(case_id=event.case_id)
    if partition is not None:
        current.partition = partition
    out = Outcome(state=current)
    if handler is None or event.event_id in current.applied:
        return out
    handler(out, event, Context(policy=policy, contacts=contacts, at=event_time(event, now)))
    if not isinstance(event, (CheckClocks, NotificationDelivered, NotificationFailed)):
        # Ticks and outcomes are idempotent by state; remembering them would crowd out real ids.
        current.applied = [*current.applied, event.event_id][-APPLIED_MEMORY:]
    clockwork.refresh_next_due(current, policy, now)
    return out


def event_time(event: Event, now: datetime) -> datetime:
    """When a clock transition caused by `event` took place: when it happened, as its producer
    stamped it (a late read must not hand out budget), but never in the future (a producer's
    clock ahead of ours). A tick looks at the clocks as of when the timer sent it, not as of
    its read: read again after a crash (its row lost before the commit), it raises exactly
    what it raised, the same alarms with the same sequence numbers; what fell due since is
    the next tick's (the row's next due instant is already past, so the timer sends one)."""
    return min(event.occurred_at, now)


def _tell_referrer(out: Outcome, ctx: Context, event: Event, kind: str, **data: Any) -> None:
    referrer = out.state.referrer_id
    if referrer is None or not ctx.contacts.has_referrer(referrer):
        out.skipped.append(f"{kind}: referrer not subscribed")
        return
    # The case's FHIR Task (intake's FHIR base), for referral systems that follow status in FHIR.
    task = {"fhir_task": {"reference": f"Task/{event.case_id}"}}
    out.notify(audience="referrer", subscriber_id=referrer, kind=kind,
               cause_event_id=event.event_id, now=ctx.at, data=data | task)


def _received(out: Outcome, event: ReferralReceived, ctx: Context) -> None:
    state = out.state
    if event.revision < state.revision:
        return  # an older revision arriving late must not undo a newer one
    state.revision, state.referrer_id = event.revision, event.referrer_id
    was_waiting = bool(state.waiting_for)
    state.waiting_for = list(event.missing_records)
    if state.waiting_for:
        clockwork.pause_all(out, cause_id=event.event_id, reason="waiting_for_records", now=ctx.at)
        _tell_referrer(out, ctx, event, "status_waiting_for_records",
                       revision=event.revision, missing_records=state.waiting_for)
        return
    if was_waiting:
        clockwork.resume_all(out, cause_id=event.event_id, now=ctx.at)
    _tell_referrer(out, ctx, event, "status_received", revision=event.revision)


def _cancelled(out: Outcome, event: ReferralCancelled, ctx: Context) -> None:
    out.state.referrer_id = out.state.referrer_id or event.referrer_id
    if out.state.completed:
        return  # told status_completed; routing keeps the case completed, so the reports stand
    out.state.closed = True
    clockwork.stop_all(out, by="cancelled", now=ctx.at)
    _tell_referrer(out, ctx, event, "status_cancelled")


def _triaged(out: Outcome, event: CaseTriaged, ctx: Context) -> None:
    out.state.referrer_id = out.state.referrer_id or event.context.referrer_id
    out.state.urgency = event.triage.urgency
    _tell_referrer(out, ctx, event, "status_triaged", urgency=event.triage.urgency,
                   emergency_pathway=event.triage.emergency_pathway,
                   teams=list(event.triage.required_teams),
                   # the referrer's own sentences that raised an urgent/emergency flag: confirm
                   confirm_from_text=text_flags_to_confirm(event.triage))


def _offered(out: Outcome, event: AssignmentOffered, ctx: Context) -> None:
    out.state.steps[event.step_id] = StepInfo(
        team=event.team, urgency=event.urgency, specialist_id=event.specialist_id
    )
    clockwork.start_clock(out, kind="acceptance", step_id=event.step_id, team=event.team,
                          urgency=event.urgency, policy=ctx.policy, now=ctx.at)
    out.notify(audience="specialist", subscriber_id=event.specialist_id,
               kind="assignment_offered", cause_event_id=event.event_id, now=ctx.at,
               data=_offer_data(event))


def _offer_data(event: AssignmentOffered) -> dict[str, Any]:
    """The offer webhook: when, what is asked, what is missing, and where the case is read.

    The summary is structured (region, likely causes, rule ids, the team's question): no
    direct identifiers and no free text from the referral.
    """
    data: dict[str, Any] = {
        "step_id": event.step_id, "team": event.team, "urgency": event.urgency,
        "offer_expires_at": event.offer_expires_at.isoformat(), "attempt": event.attempt,
        "deadline": event.deadline.isoformat() if event.deadline else None,
        "attachments": list(event.attachments),
    }
    if event.summary is not None:
        data["summary"] = event.summary.model_dump(mode="json")
        data["missing_records"] = list(event.summary.missing_records)
        data["case_view"] = event.summary.case_view
    return data


def _offer_gone(out: Outcome, event: AssignmentDeclined | OfferExpired, ctx: Context) -> None:
    step = out.state.steps.get(event.step_id)
    if step is not None and step.specialist_id == event.specialist_id:
        step.specialist_id = None  # nobody holds the step until the next offer
    if isinstance(event, OfferExpired):  # the decliner knows; the holder of a lapsed offer not
        out.notify(audience="specialist", subscriber_id=event.specialist_id,
                   kind="offer_withdrawn" if event.reason == "withdrawn" else "offer_expired",
                   cause_event_id=event.event_id, now=ctx.at,
                   data={"step_id": event.step_id, "team": event.team, "reason": event.reason})


def _offer_shortened(out: Outcome, event: OfferExpiryChanged, ctx: Context) -> None:
    # A re-triage cut the holder's window: their app shows the time they were first given,
    # and an accept after the new one is refused. Routing names only holders it told of the
    # offer, and its events of a case come in order, so this precedes any end of that offer.
    out.notify(audience="specialist", subscriber_id=event.specialist_id,
               kind="offer_expiry_changed", cause_event_id=event.event_id, now=ctx.at,
               data={"step_id": event.step_id, "team": event.team, "urgency": event.urgency,
                     "offer_expires_at": event.offer_expires_at.isoformat(),
                     "attempt": event.attempt})


def _accepted(out: Outcome, event: AssignmentAccepted, ctx: Context) -> None:
    out.state.steps[event.step_id] = StepInfo(
        team=event.team, urgency=event.urgency, specialist_id=event.specialist_id
    )
    clockwork.meet_clock(out, step_id=event.step_id, kind="acceptance",
                         cause_id=event.event_id, now=ctx.at)
    clockwork.start_clock(out, kind="turnaround", step_id=event.step_id, team=event.team,
                          urgency=event.urgency, policy=ctx.policy, now=ctx.at,
                          due_at=event.deadline)
    _tell_referrer(out, ctx, event, "status_assigned", step_id=event.step_id, team=event.team,
                   urgency=event.urgency, accepted_by=event.specialist_id,
                   report_due=event.deadline.isoformat() if event.deadline else None)


def _emergency(out: Outcome, event: EmergencyAssigned, ctx: Context) -> None:
    out.state.urgency = "emergency"
    out.state.steps[event.step_id] = StepInfo(
        team=event.team, urgency="emergency", specialist_id=event.specialist_id
    )
    # The page is on the step an earlier urgent offer may have opened a clock on (routing's
    # spine surgery step): that clock and its chain give way to the emergency's, or the
    # surgeon's 15 minutes would run on the offer's hours.
    key = sla.clock_key(event.step_id, "acceptance")
    earlier = out.state.clocks.get(key)
    if earlier is not None and earlier.urgency != "emergency" and earlier.status in (
            "running", "paused"):
        del out.state.clocks[key]
        out.state.chains.pop(key, None)
    for kind in BOTH_CLOCKS:  # acknowledge within minutes, report within hours
        clockwork.start_clock(out, kind=kind, step_id=event.step_id, team=event.team,
                              urgency="emergency", policy=ctx.policy, now=ctx.at,
                              due_at=event.deadline if kind == "turnaround" else None)
    out.notify(audience="specialist", subscriber_id=event.specialist_id, kind="emergency_page",
               cause_event_id=event.event_id, now=ctx.at,
               data={"step_id": event.step_id, "team": event.team, "urgency": "emergency"})
    _tell_referrer(out, ctx, event, "status_emergency", instruction=EMERGENCY_INSTRUCTION,
                   team=event.team)


def _completed_step(out: Outcome, event: AssignmentCompleted, ctx: Context) -> None:
    for kind in BOTH_CLOCKS:  # an emergency may report without accepting
        clockwork.meet_clock(out, step_id=event.step_id, kind=kind,
                             cause_id=event.event_id, now=ctx.at)
    _tell_referrer(out, ctx, event, "status_report_ready", step_id=event.step_id,
                   team=event.team, report_ref=event.report_ref)


def _deadline_changed(out: Outcome, event: ReviewDeadlineChanged, ctx: Context) -> None:
    key = sla.clock_key(event.step_id, "turnaround")
    clock = out.state.clocks.get(key)
    if clock is not None:
        out.state.clocks[key] = sla.retarget(clock, event.deadline)
    out.notify(audience="specialist", subscriber_id=event.specialist_id,
               kind="review_deadline_changed", cause_event_id=event.event_id, now=ctx.at,
               data={"step_id": event.step_id, "team": event.team,
                     "deadline": event.deadline.isoformat()})


def _plan_extended(out: Outcome, event: PlanExtended, ctx: Context) -> None:
    # The reviewer's free-text reason stays off the webhook; the team and deadline are enough.
    _tell_referrer(out, ctx, event, "status_plan_extended", step_id=event.step_id,
                   team=event.team,
                   report_due=event.deadline.isoformat() if event.deadline else None)


def _report_amended(out: Outcome, event: ReportAmended, ctx: Context) -> None:
    _tell_referrer(out, ctx, event, "status_report_amended", step_id=event.step_id,
                   team=event.team, report_ref=event.report_ref, version=event.addendum.version)


def _case_completed(out: Outcome, event: CaseCompleted, ctx: Context) -> None:
    out.state.closed = out.state.completed = True
    clockwork.stop_all(out, by="case_completed", now=ctx.at)
    _tell_referrer(out, ctx, event, "status_completed", report_refs=list(event.report_refs))


def _stopped(out: Outcome, event: RoutingStopped, ctx: Context) -> None:
    out.state.closed = True
    clockwork.stop_all(out, by="routing_stopped", now=ctx.at)
    for specialist in event.specialist_ids:  # offer holders and assignees stop work on it
        out.notify(audience="specialist", subscriber_id=specialist, kind="case_withdrawn",
                   cause_event_id=event.event_id, now=ctx.at, data={"reason": event.reason})


def _erased(out: Outcome, event: CaseErased, ctx: Context) -> None:
    out.state.closed = out.state.erased = True
    out.state.waiting_for = []
    # Undelivered notifications may carry the referrer's sentences (confirm_from_text); the row's
    # latest value is what compaction keeps on the changelog, so an erased case sends nothing more.
    out.state.outbox = []
    clockwork.stop_all(out, by="erased", now=ctx.at)


_HANDLERS: dict[type[Event], Callable[[Outcome, Any, Context], None]] = {
    ReferralReceived: _received,
    ReferralCancelled: _cancelled,
    CaseErased: _erased,
    CaseTriaged: _triaged,
    AssignmentOffered: _offered,
    AssignmentDeclined: _offer_gone,
    OfferExpired: _offer_gone,
    OfferExpiryChanged: _offer_shortened,
    AssignmentAccepted: _accepted,
    EmergencyAssigned: _emergency,
    AssignmentCompleted: _completed_step,
    CaseCompleted: _case_completed,
    PlanExtended: _plan_extended,
    ReviewDeadlineChanged: _deadline_changed,
    ReportAmended: _report_amended,
    RoutingStopped: _stopped,
    **OPS_HANDLERS,
}
