"""Reports: completing a step requires one, a second completion is refused, addenda are versioned.

The report is stored in routing's report table (written by the processor from
`ReportWrite`s, after the events are published) and served at its `report_ref`.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.reports import MAX_ADDENDA, ReportAddendum, StoredReport, report_ref
from schemas.routing import AmendReport, AssignmentCompleted, CompleteAssignment, ReportAmended
from services.routing.domain.context import Ctx
from services.routing.domain.state import CaseRouting, CommandOutcome, PlanStep


@dataclass(frozen=True)
class AddendumWrite:
    """Append this addendum to the stored report at `key`."""

    key: str
    addendum: ReportAddendum


ReportWrite = StoredReport | AddendumWrite


def report_key(case_id: str, step_id: str) -> str:
    """The report table's key of one step's report."""
    return f"{case_id}/{step_id}"


def with_addendum(stored: StoredReport, addendum: ReportAddendum) -> StoredReport:
    """The stored report with one more addendum (a replay of the same version changes nothing)."""
    if any(a.version == addendum.version for a in stored.addenda):
        return stored
    addenda = sorted([*stored.addenda, addendum], key=lambda a: a.version)
    return stored.model_copy(update={"addenda": addenda,
                                     "version": max(stored.version, addendum.version)})


def _assignee_problem(
    state: CaseRouting, step: PlanStep | None, cmd: CompleteAssignment | AmendReport, ctx: Ctx,
) -> CommandOutcome | None:
    if step is None:
        return CommandOutcome(status="not_found", detail="no such step on this case")
    if step.assignee != cmd.specialist_id or step.status not in ("assigned", "completed"):
        ctx.note(state, "report_refused", "not the assignee", step_id=cmd.step_id,
                 specialist_id=cmd.specialist_id)
        return CommandOutcome(status="conflict", detail="this step is not assigned to you")
    return None


def complete(
    state: CaseRouting, cmd: CompleteAssignment, ctx: Ctx
) -> tuple[CommandOutcome, PlanStep | None]:
    """The assignee reports; returns the outcome and the step if it was completed now."""
    step = state.steps.get(cmd.step_id)
    problem = _assignee_problem(state, step, cmd, ctx)
    if problem is not None or step is None:
        return problem or CommandOutcome(status="not_found", detail="no such step"), None
    if step.status == "completed":
        return CommandOutcome(status="conflict", detail=(
            "this step is already completed; send an addendum to add to its report")), None
    if cmd.report is None:
        return CommandOutcome(status="invalid", detail="a report is required to complete"), None
    ref = report_ref(state.case_id, step.step_id)
    step.report_ref, step.report_version = ref, 1
    step.status, step.completed_at = "completed", ctx.now
    state.report_refs.append(ref)
    ctx.report_writes.append(StoredReport(
        report_ref=ref, case_id=state.case_id, step_id=step.step_id, team=step.team,
        specialist_id=cmd.specialist_id, submitted_at=ctx.now, report=cmd.report,
    ))
    ctx.note(state, "completed", f"conclusion {cmd.report.conclusion}", step_id=step.step_id,
             specialist_id=cmd.specialist_id)
    ctx.emit(state, AssignmentCompleted(
        event_id=ctx.event_id("completed", step.step_id), case_id=state.case_id,
        occurred_at=ctx.now, step_id=step.step_id, team=step.team,
        specialist_id=cmd.specialist_id, report_ref=ref, report=cmd.report,
    ))
    return CommandOutcome(status="ok", detail="completed"), step


def amend(
    state: CaseRouting, cmd: AmendReport, ctx: Ctx
) -> CommandOutcome:
    """The report's author adds an addendum; the report's version goes up by one."""
    step = state.steps.get(cmd.step_id)
    problem = _assignee_problem(state, step, cmd, ctx)
    if problem is not None or step is None:
        return problem or CommandOutcome(status="not_found", detail="no such step")
    if step.status != "completed" or not step.report_ref:
        return CommandOutcome(status="conflict", detail="complete the step before amending")
    if step.report_version > MAX_ADDENDA:
        return CommandOutcome(status="conflict",
                              detail=f"a report takes at most {MAX_ADDENDA} addenda")
    step.report_version += 1
    addendum = ReportAddendum(version=step.report_version, text=cmd.text,
                              specialist_id=cmd.specialist_id, added_at=ctx.now)
    key = report_key(state.case_id, step.step_id)
    ctx.report_writes.append(AddendumWrite(key=key, addendum=addendum))
    ctx.note(state, "report_amended", f"version {step.report_version}", step_id=step.step_id,
             specialist_id=cmd.specialist_id)
    ctx.emit(state, ReportAmended(
        event_id=ctx.event_id("amended", step.step_id, step.report_version),
        case_id=state.case_id, occurred_at=ctx.now, step_id=step.step_id, team=step.team,
        specialist_id=cmd.specialist_id, report_ref=step.report_ref, addendum=addendum,
    ))
    return CommandOutcome(status="ok", detail=f"report version {step.report_version}")


REFERRER_ROLES = ("referrer", "system")  # a person's token or the referral system's API key


def referred_by(state: CaseRouting, *, role: str, subject: str) -> bool:
    """The caller is the case's referrer: by token or API key, the subject is the referrer id."""
    return (role in REFERRER_ROLES and state.context is not None
            and state.context.referrer_id == subject)


def readable_by(state: CaseRouting, stored: StoredReport, *, role: str, subject: str) -> bool:
    """Ops, the case's referrer, the author, and reviewers of later steps that depend on it."""
    if role == "ops":
        return True
    if role in REFERRER_ROLES:
        return referred_by(state, role=role, subject=subject)
    if role != "specialist":
        return False
    if stored.specialist_id == subject:
        return True
    return any(
        stored.step_id in step.depends_on and subject in _holders_of(step)
        for step in state.steps.values()
    )


def _holders_of(step: PlanStep) -> set[str]:
    held = {step.offer.specialist_id} if step.offer else set()
    if step.assignee and step.status in ("assigned", "completed"):
        held.add(step.assignee)
    return held
