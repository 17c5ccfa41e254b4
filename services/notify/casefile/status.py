"""What a referrer may see of their own case: stage, urgency, what is missing, report references."""

from __future__ import annotations

from pydantic import AwareDatetime

from services.notify.casefile.models import CaseStatus, CaseSummary, ReadModel, StageTimes


class ReferrerStatus(ReadModel):
    """The referrer's view: no specialist ids, escalations or SLA internals."""

    case_id: str
    status: CaseStatus
    urgency: str | None
    teams: list[str]
    waiting_for_records: bool
    missing_records: list[str]
    assigned: bool
    report_refs: list[str]
    stages: StageTimes
    updated_at: AwareDatetime | None


def referrer_status(summary: CaseSummary) -> ReferrerStatus:
    """Project a case summary onto what its referrer is told."""
    return ReferrerStatus(
        case_id=summary.case_id,
        status=summary.status,
        urgency=summary.urgency,
        teams=list(summary.teams),
        waiting_for_records=summary.waiting_for_records,
        missing_records=list(summary.missing_records) if summary.waiting_for_records else [],
        assigned=bool(summary.assignees),
        report_refs=list(summary.report_refs),
        stages=summary.stages,
        updated_at=summary.updated_at,
    )
