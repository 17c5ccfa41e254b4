"""The lead reviewer extends the plan: another team's review, asked for with a reason."""

from __future__ import annotations

from schemas.routing import PlanExtended, RequestTeam
from services.routing.domain.context import Ctx
from services.routing.domain.plans import DEPENDS_ON, NOT_ROUTED, surgery_days
from services.routing.domain.state import CaseRouting, CommandOutcome, PlanStep


def request_team(state: CaseRouting, cmd: RequestTeam, ctx: Ctx) -> CommandOutcome:
    """Add a step for `cmd.team` (any routed team; triage's optional teams are the suggestions).

    Only the assignee of a step on the case may ask. The new step waits for the teams it
    depends on that are still in the plan and gets its own deadline from the SLA policy,
    counted from the request. The caller releases and offers it.
    """
    own = state.steps.get(cmd.step_id)
    if own is None or own.assignee != cmd.specialist_id or own.status not in (
            "assigned", "completed"):
        return CommandOutcome(status="conflict",
                              detail="only a reviewer assigned to this case may add a team")
    if cmd.team in NOT_ROUTED:
        return CommandOutcome(status="invalid", detail=(
            f"{cmd.team} is never routed: the referrer sends the patient there"))
    existing = state.steps.get(cmd.team)
    if existing is not None and existing.status != "cancelled":
        return CommandOutcome(status="conflict", detail=f"{cmd.team} is already in the plan")
    live = {sid for sid, s in state.steps.items() if s.status != "cancelled"}
    deadline = None
    if state.context is not None:
        deadline = ctx.policy.sla.review_due(
            urgency=state.urgency, team=cmd.team, triaged_at=ctx.now,
            surgery_in_days=surgery_days(state.context))
    state.steps[cmd.team] = PlanStep(
        step_id=cmd.team, team=cmd.team,
        depends_on=[d for d in DEPENDS_ON.get(cmd.team, ()) if d in live],
        deadline=deadline, requested_by=cmd.specialist_id, request_reason=cmd.reason,
    )
    # The reason is free text that may quote the patient: on the event, not in the record.
    ctx.note(state, "plan_extended", f"requested from step {cmd.step_id}", step_id=cmd.team,
             specialist_id=cmd.specialist_id)
    ctx.emit(state, PlanExtended(
        event_id=ctx.event_id("plan-extended", cmd.team), case_id=state.case_id,
        occurred_at=ctx.now, step_id=cmd.team, team=cmd.team,
        requested_by=cmd.specialist_id, requested_from_step=cmd.step_id, reason=cmd.reason,
        deadline=deadline,
    ))
    return CommandOutcome(status="ok", detail=f"{cmd.team} added to the plan")
