"""The reviewers' case view and report reads, with their object-level checks."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from schemas.envelope import derive_id
from schemas.referral import ImagingStudy, Referral
from schemas.reports import StoredReport
from services.common.problems import ProblemError
from services.routing.api.gateway import RoutingGateway, not_found_here
from services.routing.api.reviews.models import CaseReview, ImagingView, PatientView, ReviewStep
from services.routing.domain.content import Cut
from services.routing.domain.plans import DEFAULT_QUESTION, TEAM_QUESTIONS, attachments_for
from services.routing.domain.reports import readable_by, referred_by
from services.routing.domain.state import CaseRouting, PlanStep
from services.routing.reservations import is_unpublished

Holding = Literal["offer", "assignment", "none"]


def _not_found(
    gateway: RoutingGateway, case_id: str, what: str = "no such case",
) -> ProblemError:
    # The same answer for "does not exist" and "not yours": existence is not leaked. From a
    # worker whose table does not speak for the case yet (a rebalance), "retry" instead.
    return not_found_here(gateway, case_id, ProblemError(404, "Not found", what,
                                                         kind="not-found"))


def _as_told(state: CaseRouting | None, now: datetime) -> CaseRouting | None:
    """The case as its specialists were told of it at `now` (the service's clock): an offer
    still waiting for its capacity reservation is nobody's yet (as on /me/offers); counted, it
    let that specialist read the case view and the reports it depends on before the offer was
    published, or when it was refused and never published at all. An offer past its expiry is
    nobody's any more, as once the case's tick has closed it (until then the view let a holder
    whose offer had lapsed read on)."""
    if state is None:
        return state
    closed = {sid for sid, step in state.steps.items() if step.offer is not None and (
        not step.offer.open_at(now) or is_unpublished(state, sid, step.offer.specialist_id))}
    if not closed:
        return state
    steps = {sid: step.model_copy(update={"offer": None}) if sid in closed else step
             for sid, step in state.steps.items()}
    return state.model_copy(update={"steps": steps})


def _holding(step: PlanStep, subject: str) -> Holding:
    if step.offer is not None and step.offer.specialist_id == subject:
        return "offer"
    if step.assignee == subject and step.status in ("assigned", "completed"):
        return "assignment"
    return "none"


def _patient(referral: Referral | None, state: CaseRouting, *, identified: bool) -> PatientView:
    context_pseudonym = state.context.patient_pseudonym if state.context else None
    patient = referral.patient if referral else None
    pseudonym = (patient.pseudonym if patient else None) or context_pseudonym or (
        "case-" + derive_id("pseudonym", state.case_id)[:8])
    view = PatientView(
        pseudonym=pseudonym, identified=identified,
        age=referral.age if referral else None, sex=referral.sex if referral else None,
        jurisdiction=patient.jurisdiction if patient else None,
        preferred_language=patient.preferred_language if patient else None,
    )
    if not identified or patient is None:
        return view
    return view.model_copy(update={"name": patient.name, "birth_date": patient.birth_date,
                                   "identifiers": list(patient.identifiers)})


def _step_view(state: CaseRouting, step: PlanStep, holding: Holding) -> ReviewStep:
    return ReviewStep(
        step_id=step.step_id, team=step.team, status=step.status, yours=holding,
        question=TEAM_QUESTIONS.get(step.team, DEFAULT_QUESTION),
        deadline=step.deadline or state.deadline,
        offer_expires_at=step.offer.expires_at if holding == "offer" and step.offer else None,
        depends_on=list(step.depends_on),
        prior_reports=attachments_for(state, step) if holding != "none" else [],
        requested_by=step.requested_by,
        request_reason=step.request_reason if holding != "none" else None,
    )


def case_review(*, gateway: RoutingGateway, role: str, subject: str, case_id: str) -> CaseReview:
    """The case as a reviewer needs it; identifiers only for one who has accepted a step."""
    state = _as_told(gateway.case_state(case_id), gateway.now())
    if state is None:
        raise _not_found(gateway, case_id)
    holdings = {sid: _holding(step, subject) for sid, step in state.steps.items()}
    if role != "ops" and not any(h != "none" for h in holdings.values()):
        raise _not_found(gateway, case_id)
    content = gateway.casedata.content(case_id)
    referral = content.referral if content else None
    triage = content.triage if content else None
    planned = {s.team for s in state.steps.values() if s.status != "cancelled"}
    view = CaseReview(
        case_id=case_id, urgency=state.urgency, emergency=state.emergency,
        referral_revision=content.revision if content else 0,
        clinical_question=referral.clinical_question if referral else None,
        steps=[_step_view(state, step, holdings[sid]) for sid, step in state.steps.items()],
        patient=_patient(referral, state, identified="assignment" in holdings.values()),
        missing_records=list(content.missing_records) if content else (
            list(state.context.missing_records) if state.context else []),
        triage=triage,
        suggested_teams=[t for t in state.optional_teams if t not in planned],
        truncated=list(content.cuts) if content else [],
    )
    if referral is None:
        return view
    cut = {c.field: c for c in view.truncated}
    return view.model_copy(update={
        "referral_type": referral.referral_type, "region": referral.region,
        "imaging": [_imaging_view(i, cut.get(f"imaging[{n}].report_text"))
                    for n, i in enumerate(referral.imaging)],
        "surgeries": list(referral.surgeries), "proposed_surgery": referral.proposed_surgery,
        "comorbidities": referral.comorbidities, "symptoms": referral.symptoms,
        "timeline": referral.timeline, "neuro_exam": referral.neuro_exam,
        "red_flags": referral.red_flags, "diagnostic_blocks": list(referral.diagnostic_blocks),
    })


def _imaging_view(study: ImagingStudy, cut: Cut | None) -> ImagingView:
    return ImagingView(modality=study.modality, weeks_ago=study.weeks_ago,
                       study_uid=study.study_uid, report_text=study.report_text,
                       report_text_truncated=cut is not None,
                       report_text_chars=cut.original_chars if cut else None,
                       findings=study.findings)


def report_for(
    *, gateway: RoutingGateway, role: str, subject: str, case_id: str, step_id: str
) -> StoredReport:
    """One step's report, for ops, the referrer, its author and reviewers of later steps."""
    state = _as_told(gateway.case_state(case_id), gateway.now())
    stored = gateway.casedata.report(case_id, step_id) if state else None
    if state is None or stored is None or not readable_by(state, stored, role=role,
                                                          subject=subject):
        raise _not_found(gateway, case_id, "no such report")
    return stored


def reports_for(
    *, gateway: RoutingGateway, role: str, subject: str, case_id: str
) -> list[StoredReport]:
    """Every report on the case the caller may read (404 if the case is not theirs at all)."""
    state = _as_told(gateway.case_state(case_id), gateway.now())
    if state is None:
        raise _not_found(gateway, case_id)
    found = gateway.casedata.reports(case_id, state.steps)
    readable = [r for r in found if readable_by(state, r, role=role, subject=subject)]
    mine = role == "ops" or referred_by(state, role=role, subject=subject)
    if not readable and not mine and not any(
            _holding(s, subject) != "none" for s in state.steps.values()):
        raise _not_found(gateway, case_id)
    return readable
