"""What a re-triage tells the people it concerns: review deadlines brought forward, offer
windows cut short, and which offer holders the new facts rule out (handlers.retriage)."""

from __future__ import annotations

from datetime import datetime

from schemas.routing import OfferExpiryChanged, ReviewDeadlineChanged
from services.routing.domain.context import Ctx, case_facts
from services.routing.domain.eligibility import conflicts
from services.routing.domain.state import CaseRouting, PlanStep


def announce_shortened(state: CaseRouting, step: PlanStep, ctx: Ctx) -> None:
    """Tell the holder of an offer whose window a re-triage cut: their app still showed the
    old time, and an accept after the new one is refused. The id derives from the triage
    event, so a redelivered or replayed re-triage announces it once."""
    offer = step.offer
    assert offer is not None
    ctx.note(state, "offer_shortened", f"now {offer.expires_at.isoformat()}",
             step_id=step.step_id, specialist_id=offer.specialist_id)
    ctx.emit(state, OfferExpiryChanged(
        event_id=ctx.event_id("offer-expiry", step.step_id, offer.attempt),
        case_id=state.case_id, occurred_at=ctx.now, step_id=step.step_id, team=step.team,
        specialist_id=offer.specialist_id, urgency=state.urgency,
        offer_expires_at=offer.expires_at, attempt=offer.attempt,
    ))


def announce_deadlines(
    state: CaseRouting, before: dict[str, datetime | None], ctx: Ctx
) -> None:
    """Tell about every announced, still open step whose deadline a re-triage brought forward."""
    for sid, step in state.steps.items():
        old = before.get(sid)
        if step.deadline is None or old is None or step.deadline >= old:
            continue
        if step.status in ("waiting", "completed", "cancelled") and step.offer is None:
            continue  # not announced yet, or over: nobody holds a deadline to correct
        holder = step.offer.specialist_id if step.offer else step.assignee
        ctx.note(state, "deadline_moved", f"now {step.deadline.isoformat()}", step_id=sid)
        ctx.emit(state, ReviewDeadlineChanged(
            event_id=ctx.event_id("deadline", sid), case_id=state.case_id, occurred_at=ctx.now,
            step_id=sid, team=step.team, deadline=step.deadline, specialist_id=holder,
        ))


def conflicted_holders(state: CaseRouting, ctx: Ctx) -> set[str]:
    """Offer holders that the updated exclusions now rule out."""
    facts = case_facts(state)
    found = set()
    for step in state.steps.values():
        profile = ctx.directory.get(step.offer.specialist_id) if step.offer else None
        if profile is not None and conflicts(profile, facts):
            found.add(profile.specialist_id)
    return found
