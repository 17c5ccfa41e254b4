"""Offers as reservations: one specialist at a time per step, timeouts, decline, escalation."""

from __future__ import annotations

from collections import Counter

from schemas.routing import (
    AcceptOffer,
    AssignmentAccepted,
    AssignmentDeclined,
    AssignmentOffered,
    CapacityDecided,
    CaseEscalated,
    DeclineOffer,
    OfferExpired,
    OfferSummary,
    PlanStepReleased,
)
from services.routing.domain import eligibility as rules
from services.routing.domain.context import Ctx, case_facts, step_facts
from services.routing.domain.plans import DEFAULT_QUESTION, TEAM_QUESTIONS, attachments_for
from services.routing.domain.ranking import WithoutOwnSlot, decide, exclusion_summary
from services.routing.domain.state import CaseRouting, CommandOutcome, Offer, PlanStep


def offer_next(
    state: CaseRouting, step: PlanStep, ctx: Ctx, *, released: PlanStepReleased | None = None
) -> None:
    """Offer the step to the best eligible specialist not yet asked, or escalate. `released`:
    the step's release, said by its offer, or emitted before the escalation if nobody can
    take it."""
    facts = case_facts(state)
    loads = WithoutOwnSlot(ctx.loads, state.case_id, step.step_id)
    decision = decide(ctx.directory, loads, facts, step_facts(state, step, loads),
                      ctx.policy, ctx.now)
    if decision.chosen is None:
        if released is not None:
            ctx.emit(state, released)
        escalate(state, step, ctx, exclusion_summary(step.team, decision),
                 candidates=decision.candidates, outside=decision.not_licensed_elsewhere)
        return
    specialist_id = decision.chosen.specialist_id
    step.attempts += 1
    expires_at = ctx.now + ctx.policy.offer_timeout(state.urgency)
    step.offer = Offer(specialist_id=specialist_id, offered_at=ctx.now, expires_at=expires_at,
                       attempt=step.attempts, relaxed=decision.relaxed)
    step.status, step.retry_at = "offered", None
    state.offered_to.append(specialist_id)
    ctx.note(state, "offered", f"attempt {step.attempts}", step_id=step.step_id,
             specialist_id=specialist_id, relaxed=decision.relaxed,
             candidates=decision.candidates,
             not_licensed_elsewhere=decision.not_licensed_elsewhere)
    ctx.emit(state, AssignmentOffered(
        event_id=ctx.event_id("offered", step.step_id, step.attempts), case_id=state.case_id,
        occurred_at=ctx.now, step_id=step.step_id, team=step.team,
        specialist_id=specialist_id, urgency=state.urgency, offer_expires_at=expires_at,
        attempt=step.attempts, relaxed=decision.relaxed, deadline=step.deadline or state.deadline,
        attachments=attachments_for(state, step), summary=offer_summary(state, step, ctx),
    ))


def offer_summary(state: CaseRouting, step: PlanStep, ctx: Ctx) -> OfferSummary:
    """The offer's short summary: structured facts and a link, no direct identifiers."""
    context = state.context
    return OfferSummary(
        region=context.region if context else "unknown",
        likely_causes=state.likely_causes, fired_rules=state.fired_rules,
        question=TEAM_QUESTIONS.get(step.team, DEFAULT_QUESTION),
        missing_records=list(context.missing_records) if context else [],
        case_view=f"{ctx.policy.public_url}/cases/{state.case_id}/review",
    )


def team_lead_for(state: CaseRouting, step: PlanStep, ctx: Ctx) -> str | None:
    """The team lead most of the step's team report to (never a conflicted practitioner)."""
    facts = case_facts(state)
    leads = Counter(
        p.team_lead_id for p in ctx.directory.candidates(step.team, facts.jurisdiction)
        if p.team_lead_id and p.team_lead_id not in facts.excluded_practitioners
    )
    if not leads:
        return None
    return min(leads, key=lambda lead: (-leads[lead], lead))


def escalate(
    state: CaseRouting, step: PlanStep, ctx: Ctx, reason: str, *,
    candidates: list | None = None, outside: int = 0,
) -> None:
    """Nobody can take the step: tell the team lead first, then ops; retry after a timeout."""
    lead = None if step.emergency else team_lead_for(state, step, ctx)
    level = "team_lead" if step.escalated_to is None and lead else "ops"
    already = step.escalated_to == "ops"
    step.status, step.offer = "escalated", None
    step.escalated_to = level  # type: ignore[assignment]
    step.retry_at = ctx.now + ctx.policy.offer_timeout(state.urgency)
    ctx.note(state, "escalated" if not already else "still_unassigned", reason,
             step_id=step.step_id, candidates=candidates or [], not_licensed_elsewhere=outside)
    if already:
        return  # ops already knows; keep looking quietly on each retry
    ctx.emit(state, CaseEscalated(
        event_id=ctx.event_id("escalated", step.step_id, level, step.attempts),
        case_id=state.case_id, occurred_at=ctx.now, step_id=step.step_id, team=step.team,
        reason=reason, escalate_to=level,  # type: ignore[arg-type]
        team_lead_id=lead if level == "team_lead" else None, attempts=step.attempts,
    ))


def withdraw(state: CaseRouting, step: PlanStep, ctx: Ctx, reason: str = "timeout") -> None:
    """Close the step's open offer (timed out, or made moot by a re-triage)."""
    offer = step.offer
    if offer is None:
        return
    step.offer, step.status = None, "waiting"
    ctx.note(state, "expired" if reason == "timeout" else "withdrawn", step_id=step.step_id,
             specialist_id=offer.specialist_id)
    ctx.emit(state, OfferExpired(
        event_id=ctx.event_id("expired", step.step_id, offer.attempt), case_id=state.case_id,
        occurred_at=ctx.now, step_id=step.step_id, team=step.team,
        specialist_id=offer.specialist_id, reason=reason,  # type: ignore[arg-type]
    ))


def expire_due(state: CaseRouting, ctx: Ctx) -> list[PlanStep]:
    """Expire offers past their timeout; return those steps plus escalated steps due a retry."""
    due: list[PlanStep] = []
    for step in state.steps.values():
        if step.offer is not None and not step.offer.open_at(ctx.now):
            withdraw(state, step, ctx)
            due.append(step)
        elif step.status == "escalated" and step.retry_at and step.retry_at <= ctx.now:
            due.append(step)
    return due


# An answer to an offer whose window had closed: the same whether the case's tick closed it
# first or the answer itself did (on_command expires due offers before deciding a command).
OFFER_EXPIRED = CommandOutcome(status="conflict", detail="your offer expired before this answer",
                               reason="offer_expired")
# What closed a specialist's offer on a step, as the record says (its latest such line).
_OFFER_LINES = ("offered", "expired", "withdrawn", "declined", "accepted")


def _holder_problem(
    state: CaseRouting, step: PlanStep | None, specialist_id: str
) -> CommandOutcome:
    if step is None:
        return CommandOutcome(status="not_found", detail="no such step on this case")
    if step.status in ("assigned", "completed"):
        return CommandOutcome(status="conflict", detail="step already assigned to someone else")
    if specialist_id in state.offered_to:
        if _last_offer_line(state, step.step_id, specialist_id) == "expired":
            return OFFER_EXPIRED
        return CommandOutcome(status="conflict", detail="your offer is no longer open")
    return CommandOutcome(status="conflict", detail="you hold no offer on this step")


def _last_offer_line(state: CaseRouting, step_id: str, specialist_id: str) -> str | None:
    """The kind of the record's latest offer line for this specialist on this step (None once
    the record's cap has trimmed it: the answer is then the plain "no longer open")."""
    for entry in reversed(state.record):
        if entry.step_id == step_id and entry.specialist_id == specialist_id \
                and entry.kind in _OFFER_LINES:
            return entry.kind
    return None


# What a holder refused at acceptance is told: plain words, never which practitioner,
# institution or group the case involves (the record keeps the exact reasons).
_NO_LONGER = {
    rules.NOT_LISTED: "you are no longer listed in the specialist directory",
    rules.INACTIVE: "your directory entry is inactive",
    rules.WRONG_TEAM: "your role no longer serves this team",
    rules.NOT_LICENSED: "your licence does not cover this case",
    rules.LICENCE_EXPIRED: "your licence does not cover this case",
    rules.LICENCE_ENDS_BEFORE_DEADLINE: "your licence does not cover this case",
    rules.CONFLICT_PRACTITIONER: "a conflict of interest with this case",
    rules.CONFLICT_INSTITUTION: "a conflict of interest with this case",
    rules.CONFLICT_GROUP: "a conflict of interest with this case",
}


def accept(state: CaseRouting, cmd: AcceptOffer, ctx: Ctx) -> CommandOutcome:
    """The offer's holder takes the step if still eligible; anyone else (or a late accept) is
    refused."""
    step = state.steps.get(cmd.step_id)
    if step is not None and step.assignee == cmd.specialist_id and step.status == "assigned":
        return CommandOutcome(status="ok", detail="already assigned to you")
    if step is None or step.offer is None or step.offer.specialist_id != cmd.specialist_id:
        outcome = _holder_problem(state, step, cmd.specialist_id)
        ctx.note(state, "accept_refused", outcome.detail, step_id=cmd.step_id,
                 specialist_id=cmd.specialist_id)
        return outcome
    reasons = _ruled_out(state, step, cmd.specialist_id, case_facts(state), ctx)
    if reasons:
        why = "; ".join(dict.fromkeys(_NO_LONGER.get(r, r) for r in reasons))
        offer_next(state, step, ctx)
        return CommandOutcome(status="forbidden",
                              detail=f"you can no longer take this case: {why}")
    step.status, step.offer, step.retry_at = "assigned", None, None
    step.assignee, step.assigned_at = cmd.specialist_id, ctx.now
    ctx.note(state, "accepted", step_id=step.step_id, specialist_id=cmd.specialist_id)
    ctx.emit(state, AssignmentAccepted(
        event_id=ctx.event_id("accepted", step.step_id), case_id=state.case_id,
        occurred_at=ctx.now, step_id=step.step_id, team=step.team,
        specialist_id=cmd.specialist_id, urgency=state.urgency,
        deadline=step.deadline or state.deadline,
    ))
    return CommandOutcome(status="ok", detail="assigned to you")


def _ruled_out(
    state: CaseRouting, step: PlanStep, holder: str, facts: rules.CaseFacts, ctx: Ctx,
) -> list[str]:
    """Why the directory now rules out the offer's holder; if it does, the offer is withdrawn
    (the caller asks the next candidate)."""
    reasons = rules.holder_exclusions(ctx.directory.get(holder), step.team, facts, ctx.now)
    if reasons:
        ctx.note(state, "no_longer_eligible", ", ".join(reasons), step_id=step.step_id,
                 specialist_id=holder)
        withdraw(state, step, ctx, reason="withdrawn")
    return reasons


def withdraw_ineligible(state: CaseRouting, ctx: Ctx) -> list[PlanStep]:
    """Withdraw the offers whose holders the directory now rules out; return their steps.

    On the case's clock tick, which a directory change brings forward for its specialist's
    cases (RoutingProcessor.on_directory_record): the offer goes at once, not when its window
    (up to 12 h) ends."""
    facts = case_facts(state)
    return [step for step in state.steps.values() if step.offer is not None
            and _ruled_out(state, step, step.offer.specialist_id, facts, ctx)]


def decline(state: CaseRouting, cmd: DeclineOffer, ctx: Ctx) -> CommandOutcome:
    """The holder declines: record it and offer the step to the next candidate."""
    step = state.steps.get(cmd.step_id)
    if step is None or step.offer is None or step.offer.specialist_id != cmd.specialist_id:
        outcome = _holder_problem(state, step, cmd.specialist_id)
        ctx.note(state, "decline_refused", outcome.detail, step_id=cmd.step_id,
                 specialist_id=cmd.specialist_id)
        return outcome
    attempt = step.offer.attempt
    step.offer, step.status = None, "waiting"
    # The free-text reason may name the patient: it goes on the event, not into the record.
    ctx.note(state, "declined", step_id=step.step_id, specialist_id=cmd.specialist_id)
    ctx.emit(state, AssignmentDeclined(
        event_id=ctx.event_id("declined", step.step_id, attempt), case_id=state.case_id,
        occurred_at=ctx.now, step_id=step.step_id, team=step.team,
        specialist_id=cmd.specialist_id, reason=cmd.reason,
    ))
    offer_next(state, step, ctx)
    return CommandOutcome(status="ok", detail="declined")


def capacity_refused(state: CaseRouting, cmd: CapacityDecided, ctx: Ctx) -> CommandOutcome:
    """The specialist's load owner refused to hold one more offer: ask the next candidate.

    The refused offer was never published, so withdrawing it tells nobody; the specialist stays
    in `offered_to` and is not asked again for this case.
    """
    step = state.steps.get(cmd.step_id)
    if cmd.granted or step is None or step.offer is None \
            or step.offer.specialist_id != cmd.specialist_id:
        return CommandOutcome(status="ok", detail="no held offer to replace")
    ctx.note(state, "capacity_refused", cmd.reason, step_id=step.step_id,
             specialist_id=cmd.specialist_id)
    withdraw(state, step, ctx, reason="withdrawn")
    offer_next(state, step, ctx)
    return CommandOutcome(status="ok", detail="offered to the next candidate")
