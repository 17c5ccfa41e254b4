"""Reading a case through FHIR: Task, ServiceRequest and report, with referrer isolation.

A case exists for FHIR when intake's registry holds it (the registry also says who owns it);
its progress comes from the Task view. A referral system sees only its own cases and gets the
same 404 for a case that is not there and a case that is someone else's.
"""

from __future__ import annotations

from typing import Any

from services.common.auth import Principal
from services.common.problems import ProblemError
from services.intake.domain.decisions import Rejected, owned_case
from services.intake.domain.registry import CaseRecord
from services.intake.fhir import resources
from services.intake.fhir.taskview import progress_of
from services.intake.state import Intake


def ensure_loaded(intake: Intake) -> None:
    if not (intake.is_ready() and intake.feed.loaded):
        # Before the view has caught up a Task could show an old status as if it were current.
        raise ProblemError(
            503, "Service unavailable", "the case status view is still loading; retry later",
            kind="status-loading",
            headers={"Retry-After": str(intake.settings.retry_after_seconds)},
        )


def _owner_filter(principal: Principal) -> str | None:
    return None if principal.role == "ops" else principal.subject


def _case(intake: Intake, case_id: str, principal: Principal) -> CaseRecord:
    ensure_loaded(intake)
    return owned_case(intake.registry, case_id=case_id, referrer_id=_owner_filter(principal))


def task_of(intake: Intake, case: CaseRecord) -> dict[str, Any]:
    """The case's Task resource (built and validated: about a millisecond of CPU)."""
    progress = intake.tasks.get(case.case_id)
    state = progress_of(progress, cancelled=case.status == "cancelled")
    return resources.task_resource(case, progress, state, intake.registry.identifiers_of(case))


def read_task(*, intake: Intake, case_id: str, principal: Principal) -> dict[str, Any]:
    """The case's Task."""
    return task_of(intake, _case(intake, case_id, principal))


def read_service_request(
    *, intake: Intake, case_id: str, principal: Principal
) -> dict[str, Any]:
    """The referral read back as a ServiceRequest."""
    case = _case(intake, case_id, principal)
    progress = intake.tasks.get(case.case_id)
    state = progress_of(progress, cancelled=case.status == "cancelled")
    return resources.service_request_resource(
        case, progress, state, intake.registry.identifiers_of(case)
    )


def read_report(*, intake: Intake, document_id: str, principal: Principal) -> dict[str, Any]:
    """A completed step's report as a DiagnosticReport."""
    case_id = document_id.partition(".")[0]
    case = _case(intake, case_id, principal)
    progress = intake.tasks.get(case.case_id)
    found = resources.report_step(progress, document_id) if progress else None
    if found is None:
        raise Rejected(404, "Not found", f"no report {document_id} for this client",
                       kind="not-found")
    return resources.report_resource(case, *found)
