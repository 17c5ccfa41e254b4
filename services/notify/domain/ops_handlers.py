"""Handlers of the events that reach ops and the lanes rather than the case's people:
escalations, stalls, clock ticks, acknowledgements and delivery outcomes (handlers.py
dispatches them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas.envelope import Event
from schemas.notifications import NotificationDelivered, NotificationFailed
from schemas.routing import CaseEscalated
from services.notify.domain import clockwork
from services.notify.domain.commands import AcknowledgeEscalation, CheckClocks, ReportStall
from services.notify.domain.context import Context
from services.notify.domain.state import Outcome


def needs_directory(event: Event) -> bool:
    """True if applying `event` may name a recipient from the specialist directory (the
    assignee's team lead): a tick (a chain's lead step) or an escalation to a team lead that
    routing did not name. Applied before the directory is read, it falls back to the
    subscribers file's lead for the team, or ops; the agent holds it until then."""
    if isinstance(event, CheckClocks):
        return True
    return (isinstance(event, CaseEscalated) and event.escalate_to == "team_lead"
            and not event.team_lead_id)


def escalated(out: Outcome, event: CaseEscalated, ctx: Context) -> None:
    data = {"step_id": event.step_id, "team": event.team, "reason": event.reason}
    if event.escalate_to == "team_lead":
        step = out.state.steps.get(event.step_id)
        lead = event.team_lead_id or ctx.contacts.team_lead_for(
            step.specialist_id if step else None, event.team
        )
        if lead is not None:
            out.notify(audience="team_lead", subscriber_id=lead, kind="case_escalated",
                       cause_event_id=event.event_id, now=ctx.at, data=data)
            return  # without a known lead the escalation falls through to ops
    for ops in ctx.contacts.ops_ids():
        out.notify(audience="ops", subscriber_id=ops, kind="case_escalated",
                   cause_event_id=event.event_id, now=ctx.at, data=data)


def stall_reported(out: Outcome, event: ReportStall, ctx: Context) -> None:
    if out.state.closed:
        return  # the case ended between the watchdog's look and this command
    data = {"stage": event.stage, "waiting_seconds": round(event.waiting_seconds),
            "source_topic": event.source_topic, "urgency": out.state.urgency}
    recipients: list[str | None] = [*ctx.contacts.ops_ids()] or [None]
    for ops in recipients:  # nobody to tell is recorded as skipped
        out.notify(audience="ops", subscriber_id=ops, kind="case_stalled",
                   cause_event_id=event.event_id, now=ctx.at, data=data)


def tick(out: Outcome, event: CheckClocks, ctx: Context) -> None:
    clockwork.tick(out, policy=ctx.policy, contacts=ctx.contacts, now=ctx.at)


def acknowledged(out: Outcome, event: AcknowledgeEscalation, ctx: Context) -> None:
    # Not only the HTTP edge: no command on the topic may let a specialist stop another's chain.
    holder = event.acknowledged_by if event.role == "specialist" else None
    clockwork.acknowledge(out, step_id=event.step_id, by=event.acknowledged_by, holder=holder)
    # The paged surgeon acknowledging an emergency is exactly what its acceptance clock awaits.
    for step_id, step in out.state.steps.items():
        if (step.urgency == "emergency" and step.specialist_id == event.acknowledged_by
                and event.step_id in (None, step_id)):
            clockwork.meet_clock(out, step_id=step_id, kind="acceptance",
                                 cause_id=event.event_id, now=ctx.at)


def delivery_settled(
    out: Outcome, event: NotificationDelivered | NotificationFailed, ctx: Context
) -> None:
    state = out.state
    if isinstance(event, NotificationFailed) and not event.final:
        state.outbox = [
            n.model_copy(update={"attempts": max(n.attempts, event.attempts)})
            if n.notification_id == event.notification_id else n
            for n in state.outbox
        ]
        return
    state.outbox = [n for n in state.outbox if n.notification_id != event.notification_id]


OPS_HANDLERS: dict[type[Event], Callable[[Outcome, Any, Context], None]] = {
    CaseEscalated: escalated,
    CheckClocks: tick,
    AcknowledgeEscalation: acknowledged,
    ReportStall: stall_reported,
    NotificationDelivered: delivery_settled,
    NotificationFailed: delivery_settled,
}
