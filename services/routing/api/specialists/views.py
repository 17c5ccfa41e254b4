"""Specialists' routes: the token subject is the specialist id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response

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


def _envelope(case_id: str, me: Principal) -> dict[str, object]:
    return {"event_id": service.new_command_id(), "case_id": case_id,
            "occurred_at": datetime.now(UTC), "specialist_id": me.subject}


async def _decided(response: Response, gateway: Gateway, command: service.Command) -> CommandResult:
    """The agent's decision: 200 when decided, 202 while pending (409/404 raise)."""
    result = await service.decide(gateway=gateway, command=command)
    response.status_code = 200 if result.status == "ok" else 202
    return result


@router.get("/me/offers", response_model=list[OfferView])
def my_offers(gateway: Gateway, me: Me) -> list[OfferView]:
    return service.offers_for(gateway=gateway, specialist_id=me.subject)


@router.get("/me/assignments", response_model=list[AssignmentView])
def my_assignments(gateway: Gateway, me: Me) -> list[AssignmentView]:
    return service.assignments_for(gateway=gateway, specialist_id=me.subject)


@router.post("/offers/{case_id}/{step_id}/accept", response_model=CommandResult)
async def accept_offer(
    case_id: str, step_id: str, gateway: Gateway, me: Me, response: Response
) -> CommandResult:
    return await _decided(response, gateway, AcceptOffer(
        step_id=step_id, **_envelope(case_id, me)))  # type: ignore[arg-type]


@router.post("/offers/{case_id}/{step_id}/decline", response_model=CommandResult)
async def decline_offer(
    case_id: str, step_id: str, body: DeclineBody, gateway: Gateway, me: Me, response: Response
) -> CommandResult:
    return await _decided(response, gateway, DeclineOffer(
        step_id=step_id, reason=body.reason, **_envelope(case_id, me)))  # type: ignore[arg-type]


@router.post("/assignments/{case_id}/{step_id}/complete", response_model=CommandResult)
async def complete_assignment(
    case_id: str, step_id: str, body: ReviewReport, gateway: Gateway, me: Me, response: Response
) -> CommandResult:
    """Complete with the report (409 if already completed: send an addendum instead)."""
    return await _decided(response, gateway, CompleteAssignment(
        step_id=step_id, report=body, **_envelope(case_id, me)))  # type: ignore[arg-type]


@router.post("/assignments/{case_id}/{step_id}/addenda", response_model=CommandResult)
async def add_addendum(
    case_id: str, step_id: str, body: AddendumBody, gateway: Gateway, me: Me, response: Response
) -> CommandResult:
    """Add a versioned addendum to your completed report."""
    return await _decided(response, gateway, AmendReport(
        step_id=step_id, text=body.text, **_envelope(case_id, me)))  # type: ignore[arg-type]


@router.post("/assignments/{case_id}/{step_id}/teams", response_model=CommandResult)
async def request_team(
    case_id: str, step_id: str, body: TeamRequestBody, gateway: Gateway, me: Me,
    response: Response,
) -> CommandResult:
    """Ask for another team's review of the case; routing adds and offers the step."""
    return await _decided(response, gateway, RequestTeam(
        step_id=step_id, team=body.team, reason=body.reason,
        **_envelope(case_id, me)))  # type: ignore[arg-type]
