"""What a referrer may see of their own case: stage, urgency, what is missing, each team's state,
who accepted, when its report is expected, and the report references."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime

from services.notify.casefile.models import (
    CaseStatus,
    CaseSummary,
    ReadModel,
    StageTimes,
    StepState,
    StepStatus,
)


class TeamStatus(ReadModel):
    """One team's review: waiting, offered, accepted (by whom) or completed, and when it is due."""

    step_id: str
    team: str
    state: StepStatus
    accepted_by: str | None  # the reviewer's specialist id, once accepted
    accepted_at: AwareDatetime | None
    report_due: AwareDatetime | None  # the step's review deadline (schemas.sla_policy)
    completed_at: AwareDatetime | None


def _team_status(step: StepState) -> TeamStatus:
    accepted = step.status in ("accepted", "completed")
    return TeamStatus(
        step_id=step.step_id, team=step.team, state=step.status,
        accepted_by=step.specialist_id if accepted else None,
        accepted_at=step.accepted_at if accepted else None,
        report_due=step.review_due, completed_at=step.completed_at,
    )


# What the referrer reads as the case's state: the case's own, except that "accepted" is said
# only once every planned team has accepted (issue 11: it said "accepted" while one of two teams
# had not); until then "partially_accepted", with each team's state in team_states.
ReferrerCaseStatus = CaseStatus | Literal["partially_accepted"]


class ReferrerStatus(ReadModel):
    """The referrer's view: no escalations or SLA internals; reviewers only once they accepted."""

    case_id: str
    status: ReferrerCaseStatus
    urgency: str | None
    teams: list[str]
    waiting_for_records: bool
    missing_records: list[str]
    assigned: bool  # every team's review has been accepted (or completed)
    team_states: list[TeamStatus]
    expected_report_at: AwareDatetime | None  # the latest report due among open teams
    report_refs: list[str]
    stages: StageTimes
    updated_at: AwareDatetime | None


def referrer_status(summary: CaseSummary) -> ReferrerStatus:
    """Project a case summary onto what its referrer is told."""
    teams = [_team_status(step) for step in summary.steps.values()]
    planned = set(summary.teams) - {t.team for t in teams} - {"emergency_department"}
    open_due = [t.report_due for t in teams if t.state != "completed" and t.report_due]
    assigned = bool(teams) and not planned and all(
        t.state in ("accepted", "completed") for t in teams if t.state != "withdrawn")
    status: ReferrerCaseStatus = summary.status
    if status == "accepted" and not assigned:
        status = "partially_accepted"
    return ReferrerStatus(
        case_id=summary.case_id,
        status=status,
        urgency=summary.urgency,
        teams=list(summary.teams),
        waiting_for_records=summary.waiting_for_records,
        missing_records=list(summary.missing_records) if summary.waiting_for_records else [],
        assigned=assigned,
        team_states=teams,
        expected_report_at=max(open_due, default=None),
        report_refs=list(summary.report_refs),
        stages=summary.stages,
        updated_at=summary.updated_at,
    )
