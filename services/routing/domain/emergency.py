"""Emergency path: no offer round; the on-call spine surgeon is assigned at once."""

from __future__ import annotations

from collections import Counter

from schemas.routing import EmergencyAssigned
from services.routing.domain.context import Ctx, case_facts
from services.routing.domain.eligibility import emergency_exclusions
from services.routing.domain.load import day_start
from services.routing.domain.offers import escalate, withdraw
from services.routing.domain.plans import surgery_days
from services.routing.domain.ranking import WithoutOwnSlot
from services.routing.domain.state import CandidateOutcome, CaseRouting, PlanStep

EMERGENCY_TEAM = "spine_surgery"


def emergency_step(state: CaseRouting, ctx: Ctx) -> PlanStep:
    """The case's spine surgery step, created if the plan had none; it waits for nobody."""
    step = state.steps.get(EMERGENCY_TEAM)
    if step is None:
        step = PlanStep(step_id=EMERGENCY_TEAM, team=EMERGENCY_TEAM)
        state.steps[EMERGENCY_TEAM] = step
    step.depends_on, step.emergency = [], True
    if state.context is not None and state.triaged_at is not None:
        due = ctx.policy.sla.review_due(urgency="emergency", team=step.team, triaged_at=ctx.now,
                                        surgery_in_days=surgery_days(state.context))
        step.deadline = min(step.deadline, due) if step.deadline else due
    return step


def assign_on_call(state: CaseRouting, ctx: Ctx) -> None:
    """Assign the on-call surgeon now (shift covering now first, then load); else page ops."""
    step = emergency_step(state, ctx)
    if step.status in ("assigned", "completed"):
        ctx.note(state, "emergency_already_covered", step_id=step.step_id,
                 specialist_id=step.assignee)
        return
    withdraw(state, step, ctx, reason="withdrawn")
    facts = case_facts(state)
    loads = WithoutOwnSlot(ctx.loads, state.case_id, step.step_id)  # a replay decides the same
    eligible, excluded = [], []
    for profile in ctx.directory.candidates(EMERGENCY_TEAM, facts.jurisdiction):
        load = loads.figures(profile.specialist_id, day_start(ctx.now, profile.zone))
        reasons = emergency_exclusions(profile, facts, ctx.now)
        if reasons:
            excluded.append(CandidateOutcome(specialist_id=profile.specialist_id,
                                             excluded=reasons, held=load.held,
                                             capacity=profile.max_open))
            continue
        on_shift = any(s <= ctx.now < e for s, e in profile.on_call)
        key = (not on_shift, load.held / max(profile.max_open, 1), profile.specialist_id)
        eligible.append((key, profile, load))
    eligible.sort(key=lambda item: item[0])
    candidates = [
        CandidateOutcome(specialist_id=p.specialist_id, rank=i + 1, held=load.held,
                         capacity=p.max_open)
        for i, (_, p, load) in enumerate(eligible)
    ] + sorted(excluded, key=lambda c: c.specialist_id)
    if not eligible:
        counts = Counter(r for c in excluded for r in c.excluded)
        detail = ", ".join(f"{n} {r}" for r, n in sorted(counts.items())) or "nobody listed"
        escalate(state, step, ctx, f"no on-call spine surgeon available: {detail}",
                 candidates=candidates)
        return
    chosen = eligible[0][1]
    step.status, step.assignee, step.assigned_at = "assigned", chosen.specialist_id, ctx.now
    step.attempts += 1
    state.offered_to.append(chosen.specialist_id)
    ctx.note(state, "emergency_assigned", "on-call surgeon assigned without an offer round",
             step_id=step.step_id, specialist_id=chosen.specialist_id, candidates=candidates)
    ctx.emit(state, EmergencyAssigned(
        event_id=ctx.event_id("emergency", step.step_id, step.attempts), case_id=state.case_id,
        occurred_at=ctx.now, step_id=step.step_id, team=EMERGENCY_TEAM,
        specialist_id=chosen.specialist_id, deadline=step.deadline or state.deadline,
    ))
