"""Entry points: (state, event or command, directory, load, now) -> (new state, new events)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.cases import CaseErased, CaseTriaged, ReferralCancelled
from schemas.envelope import Event
from schemas.routing import (
    AcceptOffer,
    AmendReport,
    CapacityDecided,
    CaseCompleted,
    CompleteAssignment,
    DeclineOffer,
    ExpireOffers,
    PlanStepReleased,
    RequestTeam,
    RoutingStopped,
)
from schemas.triage import URGENCY_ORDER, TriageResult
from services.routing.domain import (
    emergency,
    extension,
    idempotency,
    offers,
    plans,
    reports,
    retriage_news,
)
from services.routing.domain.context import Ctx
from services.routing.domain.directory import DirectoryIndex
from services.routing.domain.load import LoadDelta
from services.routing.domain.policy import RoutingPolicy
from services.routing.domain.ranking import LoadView
from services.routing.domain.state import (
    CaseRouting,
    CommandOutcome,
    PlanStep,
    bounded,
    holds_anything,
    new_case,
)

Command = (
    AcceptOffer | DeclineOffer | CompleteAssignment | ExpireOffers | AmendReport | RequestTeam
    | CapacityDecided
)
CLOSED = CommandOutcome(status="conflict", detail="case is not open for routing")
# One answer for "no such case" and "not your case", so it never tells whether a case exists.
NOT_YOURS = CommandOutcome(status="not_found", detail="no offer or assignment of yours here")
NOTHING_TO_EXPIRE = CommandOutcome(status="ok", detail="nothing to expire")
FULL = CommandOutcome(status="conflict", detail="the case's routing record is full")
SpecialistCommand = AcceptOffer | DeclineOffer | CompleteAssignment | AmendReport | RequestTeam


@dataclass
class RoutingResult:
    """What one input did: the new state, the events to send, load changes, command outcome,
    report rows to write, and whether the case's patient data must be dropped (erasure)."""

    state: CaseRouting
    events: list[Event]
    load_deltas: list[LoadDelta]
    outcome: CommandOutcome | None = None
    report_writes: list[reports.ReportWrite] = field(default_factory=list)
    erase_case_data: bool = False


def handle(
    state: CaseRouting | None, event: Event, *, directory: DirectoryIndex, loads: LoadView,
    policy: RoutingPolicy, now: datetime,
) -> RoutingResult:
    """Apply one input to a case; a redelivered input changes nothing and emits nothing."""
    current = state or new_case(event.case_id)
    if event.event_id in current.applied:  # a redelivery, or a retry under an Idempotency-Key
        return RoutingResult(current, [], [], idempotency.replayed(current, event, CLOSED))
    work = current.working_copy()
    ctx = Ctx(directory=directory, loads=loads, policy=policy, now=now, source=event)
    outcome: CommandOutcome | None = None
    if isinstance(event, CaseTriaged):
        on_triaged(work, event, ctx)
    elif isinstance(event, ReferralCancelled | CaseErased):
        on_cancelled(work, event, ctx)
    elif isinstance(event, SpecialistCommand) and not holds_anything(
            current, event.specialist_id):
        return RoutingResult(current, [], [], NOT_YOURS)  # a stranger leaves no trace (F1)
    elif isinstance(event, Command):
        outcome = on_command(work, event, ctx)
        work.outcomes[event.event_id] = outcome
        idempotency.remember(work, event)
    else:
        return RoutingResult(current, [], [])  # other referral events are not routing's business
    work.applied.append(event.event_id)
    if not bounded(work):  # cannot happen within the caps; refuse rather than crash the worker
        return RoutingResult(current, [], [], FULL if outcome is not None else None)
    return RoutingResult(work, ctx.events, ctx.load_deltas, outcome, ctx.report_writes,
                         erase_case_data=isinstance(event, CaseErased))


def on_triaged(state: CaseRouting, event: CaseTriaged, ctx: Ctx) -> None:
    """First triage opens the plan; a higher revision re-triages; anything else is recorded."""
    if state.status in ("completed", "stopped"):
        ctx.note(state, "ignored", f"triage revision {event.revision} after case {state.status}")
        return
    if state.status == "open":
        if event.revision <= state.revision:
            ctx.note(state, "ignored", f"stale triage revision {event.revision}")
            return
        retriage(state, event, ctx)
        return
    triage, context = event.triage, event.context
    teams = plans.plan_teams(triage)
    state.status, state.revision, state.urgency = "open", event.revision, triage.urgency
    state.context, state.triaged_at = context, ctx.now
    remember_triage(state, triage)
    state.deadline = plans.review_deadline(triage.urgency, context, ctx.now, ctx.policy)
    state.desired_skills = plans.desired_skills(triage, context, teams, ctx.policy)
    state.steps = plans.build_steps(teams)
    plans.set_step_deadlines(state, triage.urgency, context, ctx.now, ctx.policy)
    state.emergency = triage.emergency_pathway
    ctx.note(state, "triaged", f"urgency {triage.urgency}; plan: {', '.join(teams) or 'none'}")
    if state.emergency:
        emergency.assign_on_call(state, ctx)
    release_ready(state, ctx)


def remember_triage(state: CaseRouting, triage: TriageResult) -> None:
    """Keep what offers summarise and what the case view suggests (structured, no free text)."""
    causes = sorted(triage.likely_causes, key=lambda c: -c.probability)
    state.likely_causes = [c.cause for c in causes[:3]]
    state.fired_rules = [r.rule_id for r in triage.fired_rules][:30]
    state.optional_teams = list(dict.fromkeys([*state.optional_teams, *triage.optional_teams]))


def retriage(state: CaseRouting, event: CaseTriaged, ctx: Ctx) -> None:
    """Raise (never lower) urgency, add newly required teams, keep everyone's declines."""
    triage = event.triage
    state.revision, state.context = event.revision, event.context
    remember_triage(state, triage)
    urgency = max(state.urgency, triage.urgency, key=URGENCY_ORDER.index)
    state.urgency = urgency
    deadline = plans.review_deadline(urgency, event.context, ctx.now, ctx.policy)
    state.deadline = min(state.deadline, deadline) if state.deadline else deadline
    shortest = ctx.now + ctx.policy.offer_timeout(urgency)
    teams = list(state.steps) + [t for t in plans.plan_teams(triage) if t not in state.steps]
    for team, step in plans.build_steps(teams).items():
        existing = state.steps.setdefault(team, step)
        if existing.status == "waiting":
            existing.depends_on = step.depends_on
    before = {sid: step.deadline for sid, step in state.steps.items()}
    plans.set_step_deadlines(state, urgency, event.context, ctx.now, ctx.policy)
    retriage_news.announce_deadlines(state, before, ctx)
    for team, skills in plans.desired_skills(triage, event.context, teams, ctx.policy).items():
        state.desired_skills[team] = sorted(set(state.desired_skills.get(team, [])) | set(skills))
    ctx.note(state, "retriaged", f"revision {event.revision}; urgency {urgency}")
    facts_conflicted = retriage_news.conflicted_holders(state, ctx)
    shortened: list[tuple[PlanStep, int]] = []
    for step in state.steps.values():
        if step.offer is None:
            continue
        if step.offer.specialist_id in facts_conflicted:
            offers.withdraw(state, step, ctx, reason="withdrawn")
            offers.offer_next(state, step, ctx)
        elif shortest < step.offer.expires_at:
            step.offer.expires_at = shortest
            shortened.append((step, step.offer.attempt))
    if triage.emergency_pathway and not state.emergency:
        state.emergency = True
        emergency.assign_on_call(state, ctx)  # withdraws the surgery step's offer, if any
    release_ready(state, ctx)
    for step, attempt in shortened:
        if step.offer is not None and step.offer.attempt == attempt:  # not withdrawn since
            retriage_news.announce_shortened(state, step, ctx)


def release_ready(state: CaseRouting, ctx: Ctx) -> None:
    """Release every step whose prerequisites are complete and offer it.

    The step's first offer says it is released; PlanStepReleased goes out only for a step
    nobody can be offered now (before its escalation). Every consumer took the two events
    of each step one after the other (issue 13: one event per step, not two).
    """
    for step in plans.ready_steps(state):
        ctx.note(state, "released", step_id=step.step_id)
        offers.offer_next(state, step, ctx, released=PlanStepReleased(
            event_id=ctx.event_id("released", step.step_id), case_id=state.case_id,
            occurred_at=ctx.now, step_id=step.step_id, team=step.team,
            depends_on=step.depends_on, attachments=plans.attachments_for(state, step),
        ))


def on_cancelled(state: CaseRouting, event: ReferralCancelled | CaseErased, ctx: Ctx) -> None:
    """Stop routing: close offers, free assignees, and tell them via RoutingStopped."""
    if isinstance(event, CaseErased):
        erase_patient_links(state, ctx)
    if state.status in ("completed", "stopped"):
        ctx.note(state, "ignored", f"{event.event_type} after case {state.status}")
        return
    holders = state.holders()
    for step in state.steps.values():
        held_by = step.offer.specialist_id if step.offer else (
            step.assignee if step.status == "assigned" else None)
        if held_by:
            ctx.load_change(state, step, held_by, "released")
        if step.status != "completed":
            step.status, step.offer, step.retry_at = "cancelled", None, None
    state.status = "stopped"
    ctx.note(state, "stopped", event.event_type)
    ctx.emit(state, RoutingStopped(
        event_id=ctx.event_id("stopped"), case_id=state.case_id, occurred_at=ctx.now,
        reason=event.reason, specialist_ids=holders,
    ))


def erase_patient_links(state: CaseRouting, ctx: Ctx) -> None:
    """Mark the case erased; forget the pseudonym here and in reviewers' continuity history,
    the reviewers' free-text team requests and commands' body digests (either may quote or
    confirm the patient's details)."""
    state.erased = True
    state.body_digests.clear()
    if state.context is not None:
        state.context = state.context.model_copy(update={"patient_pseudonym": None})
    for step in state.steps.values():
        step.request_reason = None
        if step.assignee:
            ctx.load_change(state, step, step.assignee, "erased")


def on_command(state: CaseRouting, cmd: Command, ctx: Ctx) -> CommandOutcome:
    """Specialists' commands and clock ticks, decided one at a time per case."""
    if state.erased:  # nothing more to say about an erased case, not even an addendum
        return NOTHING_TO_EXPIRE if isinstance(cmd, ExpireOffers) else CLOSED
    if state.status == "completed" and isinstance(cmd, AmendReport | CompleteAssignment):
        # Reports outlive the case: addenda are still welcome, a second report still refused.
        return reports.amend(state, cmd, ctx) if isinstance(cmd, AmendReport) else (
            reports.complete(state, cmd, ctx)[0])
    if state.status != "open":
        if isinstance(cmd, ExpireOffers):
            return NOTHING_TO_EXPIRE
        return CLOSED if state.status != "new" else NOT_YOURS
    for step in offers.expire_due(state, ctx):
        if step.emergency and step.status == "escalated":
            emergency.assign_on_call(state, ctx)
        else:
            offers.offer_next(state, step, ctx)
    decide = _COMMANDS.get(type(cmd))
    if decide is None:  # a clock tick (ExpireOffers): expiries, and holders ruled out since
        for step in offers.withdraw_ineligible(state, ctx):
            offers.offer_next(state, step, ctx)
        return CommandOutcome(status="ok", detail="offers checked")
    return decide(state, cmd, ctx)


def _request_team(state: CaseRouting, cmd: RequestTeam, ctx: Ctx) -> CommandOutcome:
    """A lead reviewer adds a team; its step is offered at once if nothing holds it back."""
    outcome = extension.request_team(state, cmd, ctx)
    release_ready(state, ctx)
    return outcome


def complete(state: CaseRouting, cmd: CompleteAssignment, ctx: Ctx) -> CommandOutcome:
    """The assignee reports: release dependent steps; the last step completes the case."""
    outcome, step = reports.complete(state, cmd, ctx)
    if step is None:
        return outcome
    release_ready(state, ctx)
    if plans.plan_complete(state):
        state.status = "completed"
        ctx.note(state, "case_completed")
        ctx.emit(state, CaseCompleted(
            event_id=ctx.event_id("case-completed"), case_id=state.case_id,
            occurred_at=ctx.now, report_refs=list(state.report_refs),
        ))
    return outcome


# One decision per command type: a dict keyed by type, as every service dispatches events.
_COMMANDS: dict[type[Command], Callable[[CaseRouting, Any, Ctx], CommandOutcome]] = {
    AcceptOffer: offers.accept,
    DeclineOffer: offers.decline,
    CompleteAssignment: complete,
    AmendReport: reports.amend,
    RequestTeam: _request_team,
    CapacityDecided: offers.capacity_refused,
}
