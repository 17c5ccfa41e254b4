"""Ops routes for the specialist directory."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from schemas.directory import Role, Specialist
from services.common.auth import Principal, require_roles
from services.routing.api.directory import service
from services.routing.api.directory.models import DirectoryWrite, SpecialistList
from services.routing.api.gateway import Gateway

router = APIRouter(prefix="/directory/specialists", tags=["directory"])
Ops = Annotated[Principal, Depends(require_roles("ops"))]


@router.put("/{specialist_id}", response_model=DirectoryWrite)
async def put_specialist(
    specialist_id: str, spec: Specialist, gateway: Gateway, _: Ops, response: Response
) -> DirectoryWrite:
    applied = await service.put_specialist(gateway=gateway, specialist_id=specialist_id, spec=spec)
    response.status_code = 200 if applied else 202
    return DirectoryWrite(specialist_id=specialist_id, applied=applied)


@router.delete("/{specialist_id}", response_model=DirectoryWrite)
async def delete_specialist(
    specialist_id: str, gateway: Gateway, _: Ops, response: Response
) -> DirectoryWrite:
    applied = await service.delete_specialist(gateway=gateway, specialist_id=specialist_id)
    response.status_code = 200 if applied else 202
    return DirectoryWrite(specialist_id=specialist_id, applied=applied)


# Async reads: the directory index is changed by the directory follower on the event loop; a
# pass over it from the thread pool could see it change mid-way. One pass over in-memory
# profiles, no parsing: cheap enough to run on the loop in one piece.
@router.get("/{specialist_id}", response_model=Specialist)
async def get_specialist(specialist_id: str, gateway: Gateway, _: Ops) -> Specialist:
    return service.get_specialist(gateway=gateway, specialist_id=specialist_id)


@router.get("", response_model=SpecialistList)
async def list_specialists(
    gateway: Gateway, _: Ops,
    role: Role | None = None, team: str | None = None, jurisdiction: str | None = None,
    language: str | None = None, skill: str | None = None, active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Annotated[int, Query(ge=0)] = 0,
) -> SpecialistList:
    total, items = service.list_specialists(
        gateway=gateway, role=role, team=team, jurisdiction=jurisdiction, language=language,
        skill=skill, active=active, limit=limit, offset=offset)
    return SpecialistList(total=total, items=items)
