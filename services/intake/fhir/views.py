"""POST /fhir/Bundle: a FHIR R4 referral message, document, transaction or collection."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from services.intake.domain.identity import derivation_key, find_case
from services.intake.domain.ids import case_id_for
from services.intake.fhir.bundle import FhirRejected
from services.intake.fhir.negotiation import acceptable, stored_outcome, wants_fhir_json
from services.intake.fhir.outcome import FHIR_JSON, OUTCOME_RESPONSES
from services.intake.fhir.parsing import parse_referral
from services.intake.fhir.reads import fhir_base, fhir_json
from services.intake.fhir.status import task_of
from services.intake.referrals import service
from services.intake.referrals.models import CaseReceipt
from services.intake.referrals.views import IdempotencyKey, IntakeDep, Submitter, answer
from services.intake.state import Intake

router = APIRouter(
    prefix="/fhir", tags=["fhir"], responses=OUTCOME_RESPONSES,
    dependencies=[Depends(acceptable)],
)
MEDIA_TYPES = ("application/fhir+json", "application/json")
_BUNDLE_BODY = {
    "required": True,
    "content": {media: {"schema": {"type": "object", "description": "FHIR R4 Bundle"}}
                for media in MEDIA_TYPES},
}


_TASK = {"content": {FHIR_JSON: {"schema": {"type": "object", "description": "FHIR R4 Task"}}},
         "description": "the case's Task when Accept names application/fhir+json (or _format "
                        "is json); otherwise the CaseReceipt"}


@router.post(
    "/Bundle", status_code=202, response_model=CaseReceipt,
    openapi_extra={"requestBody": _BUNDLE_BODY}, responses={200: _TASK, 202: _TASK},
)
async def post_bundle(
    request: Request, principal: Submitter, intake: IntakeDep, response: Response,
    content_type: Annotated[str | None, Header()] = None, idempotency_key: IdempotencyKey = None,
    accept: Annotated[str | None, Header()] = None,
    fmt: Annotated[str | None, Query(alias="_format", max_length=100)] = None,
) -> CaseReceipt | JSONResponse:
    """Map the bundle's ServiceRequest to a referral; a revoked one cancels the case. A FHIR
    client (Accept application/fhir+json) gets the case's Task, anyone else the receipt."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in MEDIA_TYPES:
        raise FhirRejected(
            415, "Unsupported media type", f"send {' or '.join(MEDIA_TYPES)}", kind="media-type"
        )
    # In a worker thread: one costly bundle must not hold the loop everyone else needs.
    body = await request.body()
    mapped = await parse_referral(
        body, content_type=content_type, now=intake.clock(), referrer_id=principal.subject,
    )
    referrer_id, names = principal.subject, mapped.names
    found = find_case(intake.registry, referrer_id=referrer_id, names=names,
                      submit=mapped.action == "submit")
    case_id = found or case_id_for(referrer_id=referrer_id, referral_id=derivation_key(names))
    opened = _opened_on(intake, case_id) if mapped.action == "submit" else None
    if mapped.dated_on_receipt and opened is not None and opened.date() != intake.clock().date():
        # A resend of a bundle dated by its receipt (no full authoredOn), on a later day:
        # mapped as on the day the case was opened, so the same bundle is the same referral
        # (it replays) rather than other week counts (409). Costs a second parse, rarely.
        mapped = await parse_referral(
            body, content_type=content_type, now=opened, referrer_id=principal.subject,
        )
    if mapped.referral is None:  # only a cancellation carries no referral
        decision = await service.cancel_referral(
            intake=intake, case_id=case_id, referrer_id=referrer_id, via="fhir", names=names
        )
    else:
        referral = mapped.referral
        known = intake.registry.cases.get(case_id)
        if known is not None:  # found by another of its names: it is that case's referral
            referral = referral.model_copy(update={"referral_id": known.referral_id})
        decision = await service.submit_referral(
            intake=intake, referral=referral, referrer_id=referrer_id,
            idempotency_key=idempotency_key, via="fhir", unmapped=mapped.unmapped,
            revise_existing=mapped.action == "update", case_id=case_id, names=names,
        )
    location = f"{fhir_base(request, intake)}/Task/{decision.case_id}"
    response.headers["Location"] = location
    receipt = answer(decision, response)
    if decision.case is None or not wants_fhir_json(accept=accept, fmt=fmt):
        return receipt  # the documented receipt, for clients that did not ask for FHIR
    resource = task_of(intake, decision.case) if intake.feed.loaded else stored_outcome()
    return fhir_json(resource, response.status_code, {"Location": location})


def _opened_on(intake: Intake, case_id: str) -> datetime | None:
    """When the case was opened, if this worker knows it (a record from before `received_at`
    existed tells only while open at revision 1, where its last update is its opening)."""
    case = intake.registry.cases.get(case_id)
    if case is None:
        return None
    untouched = case.revision == 1 and case.status == "open"
    return case.received_at or (case.updated_at if untouched else None)
