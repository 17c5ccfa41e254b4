"""HTTP routes for JSON referrals. Thin: auth and parsing here, decisions in the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Response

from schemas.referral import Referral
from services.common.auth import Principal, require_roles
from services.intake.domain.decisions import Decision
from services.intake.domain.versions import entity_tag
from services.intake.referrals import service
from services.intake.referrals.models import PROBLEM_RESPONSES, CaseReceipt
from services.intake.state import Intake, get_intake

router = APIRouter(prefix="/referrals", tags=["referrals"], responses=PROBLEM_RESPONSES)

Submitter = Annotated[Principal, Depends(require_roles("referrer", "system"))]
Reader = Annotated[Principal, Depends(require_roles("referrer", "system", "ops"))]
Operator = Annotated[Principal, Depends(require_roles("ops"))]
IntakeDep = Annotated[Intake, Depends(get_intake)]
CaseId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
IdempotencyKey = Annotated[
    str | None,
    Header(min_length=1, max_length=200, description="resends with the same key replay"),
]
IfMatch = Annotated[
    str | None,
    Header(min_length=1, max_length=200,
           description='the ETag read (W/"<revision>", W/"<revision>-cancelled"): a change '
                       'to a case no longer in that state is 412'),
]


def answer(decision: Decision, response: Response) -> CaseReceipt:
    """202 for what was just stored, 200 for a replay of what was stored before; the ETag
    names the revision the answer shows."""
    response.status_code = 200 if decision.outcome == "replayed" else 202
    if decision.case is not None:
        response.headers["ETag"] = entity_tag(decision.case)
    return CaseReceipt.of_decision(decision)


@router.post("", status_code=202, response_model=CaseReceipt)
async def post_referral(
    referral: Referral, principal: Submitter, intake: IntakeDep, response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CaseReceipt:
    """Submit a referral; 202 with the case id once Kafka has acknowledged it."""
    decision = await service.submit_referral(
        intake=intake, referral=referral, referrer_id=principal.subject,
        idempotency_key=idempotency_key,
    )
    response.headers["Location"] = f"/referrals/{decision.case_id}"
    return answer(decision, response)


@router.get("/{case_id}", response_model=CaseReceipt)
async def get_referral(
    case_id: CaseId, principal: Reader, intake: IntakeDep, response: Response,
) -> CaseReceipt:
    """The case's intake state; a referral system sees only its own cases. Its ETag goes in
    If-Match of a PUT or DELETE, which then applies to this revision only."""
    case = service.visible_case(intake=intake, case_id=case_id, principal=principal)
    response.headers["ETag"] = entity_tag(case)
    return CaseReceipt.of(case)


@router.put("/{case_id}", status_code=202, response_model=CaseReceipt)
async def put_referral(
    case_id: CaseId, referral: Referral, principal: Submitter, intake: IntakeDep,
    response: Response, idempotency_key: IdempotencyKey = None, if_match: IfMatch = None,
) -> CaseReceipt:
    """A new revision of the case (re-triaged downstream); a retry under its
    Idempotency-Key replays, another body under the key is 409; an If-Match naming another
    revision than the stored one is 412."""
    decision = await service.update_referral(
        intake=intake, case_id=case_id, referral=referral, referrer_id=principal.subject,
        idempotency_key=idempotency_key, if_match=if_match,
    )
    return answer(decision, response)


@router.delete("/{case_id}", status_code=202, response_model=CaseReceipt)
async def delete_referral(
    case_id: CaseId, principal: Submitter, intake: IntakeDep, response: Response,
    if_match: IfMatch = None,
) -> CaseReceipt:
    """Cancel the case (with If-Match, only at the revision it names, else 412)."""
    decision = await service.cancel_referral(
        intake=intake, case_id=case_id, referrer_id=principal.subject, if_match=if_match,
    )
    return answer(decision, response)


@router.post("/{case_id}/cancel", status_code=202, response_model=CaseReceipt)
async def cancel_referral(
    case_id: CaseId, principal: Submitter, intake: IntakeDep, response: Response,
    if_match: IfMatch = None,
) -> CaseReceipt:
    """Cancel the case (for clients that cannot send DELETE)."""
    return await delete_referral(case_id, principal, intake, response, if_match)


@router.delete("/{case_id}/patient-data", status_code=202, response_model=CaseReceipt)
async def erase_patient_data(
    case_id: CaseId, principal: Operator, intake: IntakeDep, response: Response
) -> CaseReceipt:
    """Erase the case's patient data (ops); the audit trail keeps the CaseErased event."""
    decision = await service.erase_patient_data(
        intake=intake, case_id=case_id, requested_by=principal.subject
    )
    return answer(decision, response)
