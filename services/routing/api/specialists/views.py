"""Specialists' routes: the token subject is the specialist id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response

from schemas.reports import ReviewReport
from schemas.routing import AcceptOffer, AmendReport, CompleteAssignment, DeclineOffer, RequestTeam
from services.common.auth import Principal, require_roles
from services.routing.api.gateway import Gateway
from services.routing.api.specialists import service
from services.routing.api.specialists.models import (
    AddendumBody,
    AssignmentView,
    CommandResult,
    DeclineBody,
    OfferView,
    TeamRequestBody,
)

router = APIRouter(tags=["specialists"])
Me = Annotated[Principal, Depends(require_roles("specialist"))]


IdempotencyKey = Annotated[
    str | None,
    Header(min_length=1, max_length=200,
           description="a retry with the same key and body is the same command: answered, "
                       "not redone; the same key with another body is refused (409)"),
]


def _envelope(
    kind: str, case_id: str, step_id: str, me: Principal, idempotency_key: str | None,
    gateway: Gateway,
) -> dict[str, object]:
    event_id = service.command_id(kind=kind, specialist_id=me.subject, case_id=case_id,
                                  step_id=step_id, idempotency_key=idempotency_key)
    # The service's clock, not the wall's: the processor decides a command at this stamp
    # (offer expiry, SLA times), so a test's clock must govern it as it governs the rest.
    return {"event_id": event_id, "case_id": case_id, "step_id": step_id,
            "occurred_at": gateway.now(), "specialist_id": me.subject}


async def _decided(
    response: Response, gateway: Gateway, command: service.Command, idempotency_key: str | None,
) -> CommandResult:
    """The agent's decision: 200 when decided, 202 while pending (409/404 raise)."""
    result = await service.decide(gateway=gateway, command=command,
                                  repeatable=idempotency_key is not None)
    response.status_code = 200 if result.status == "ok" else 202
    return result


# The read routes are async: they read the agents' tables, views and parsed-row caches on the
# event loop, the agents' thread. As sync routes they ran in FastAPI's thread pool and raced the
# agents' cache bookkeeping (a KeyError, so a 500 on a GET), as notify's board once did.
@router.get("/me/offers", response_model=list[OfferView])
async def my_offers(gateway: Gateway, me: Me) -> list[OfferView]:
    return await service.offers_read_in_turns(gateway=gateway, specialist_id=me.subject)


@router.get("/me/assignments", response_model=list[AssignmentView])
async def my_assignments(gateway: Gateway, me: Me) -> list[AssignmentView]:
    return await service.assignments_read_in_turns(gateway=gateway, specialist_id=me.subject)


@router.post("/offers/{case_id}/{step_id}/accept", response_model=CommandResult)
async def accept_offer(
    case_id: str, step_id: str, gateway: Gateway, me: Me, response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    return await _decided(response, gateway, AcceptOffer(
        **_envelope("accept", case_id, step_id, me, idempotency_key, gateway)),  # type: ignore[arg-type]
        idempotency_key)


@router.post("/offers/{case_id}/{step_id}/decline", response_model=CommandResult)
async def decline_offer(
    case_id: str, step_id: str, body: DeclineBody, gateway: Gateway, me: Me, response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    return await _decided(response, gateway, DeclineOffer(
        reason=body.reason,
        **_envelope("decline", case_id, step_id, me, idempotency_key, gateway)),  # type: ignore[arg-type]
        idempotency_key)


@router.post("/assignments/{case_id}/{step_id}/complete", response_model=CommandResult)
async def complete_assignment(
    case_id: str, step_id: str, body: ReviewReport, gateway: Gateway, me: Me, response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """Complete with the report (409 if already completed: send an addendum instead)."""
    return await _decided(response, gateway, CompleteAssignment(
        report=body,
        **_envelope("complete", case_id, step_id, me, idempotency_key, gateway)),  # type: ignore[arg-type]
        idempotency_key)


@router.post("/assignments/{case_id}/{step_id}/addenda", response_model=CommandResult)
async def add_addendum(
    case_id: str, step_id: str, body: AddendumBody, gateway: Gateway, me: Me, response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """Add a versioned addendum to your completed report; send an Idempotency-Key so a retry
    after a timeout is answered with the first decision instead of filing a second addendum."""
    return await _decided(response, gateway, AmendReport(
        text=body.text,
        **_envelope("addendum", case_id, step_id, me, idempotency_key, gateway)),  # type: ignore[arg-type]
        idempotency_key)


@router.post("/assignments/{case_id}/{step_id}/teams", response_model=CommandResult)
async def request_team(
    case_id: str, step_id: str, body: TeamRequestBody, gateway: Gateway, me: Me,
    response: Response, idempotency_key: IdempotencyKey = None,
) -> CommandResult:
    """Ask for another team's review of the case; routing adds and offers the step."""
    return await _decided(response, gateway, RequestTeam(
        team=body.team, reason=body.reason,
        **_envelope("team", case_id, step_id, me, idempotency_key, gateway)),  # type: ignore[arg-type]
        idempotency_key)
