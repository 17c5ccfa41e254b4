"""Ops route: the routing record of one case, for audit and appeals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.common.auth import Principal, require_roles
from services.common.problems import ProblemError
from services.routing.api.gateway import Gateway, not_found_here
from services.routing.domain.state import CaseRouting

router = APIRouter(tags=["cases"])


# Async: the agents' table is read on the event loop, their thread (not FastAPI's thread pool).
@router.get("/cases/{case_id}/routing", response_model=CaseRouting)
async def case_routing(
    case_id: str, gateway: Gateway, _: Annotated[Principal, Depends(require_roles("ops"))]
) -> CaseRouting:
    state = gateway.case_state(case_id)
    if state is None:
        raise not_found_here(gateway, case_id,
                             ProblemError(404, "Not found", "routing has not seen this case"))
    return state
