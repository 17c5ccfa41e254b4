"""FHIR reads for referral systems: metadata, Task (read, search), ServiceRequest, report."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from services.intake.fhir import resources, search, status
from services.intake.fhir.capability import capability_statement
from services.intake.fhir.negotiation import acceptable
from services.intake.fhir.outcome import FHIR_JSON, OUTCOME_RESPONSES
from services.intake.referrals.views import IntakeDep, Reader
from services.intake.state import Intake

router = APIRouter(
    prefix="/fhir", tags=["fhir"], responses=OUTCOME_RESPONSES,
    dependencies=[Depends(acceptable)],
)
FhirId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-.]+$")]
_RESOURCE: dict[int | str, dict[str, Any]] = {
    200: {"content": {FHIR_JSON: {"schema": {"type": "object"}}}, "description": "R4 resource"}
}


def fhir_base(request: Request, intake: Intake) -> str:
    """The public FHIR base URL: INTAKE_FHIR_BASE_URL, else this request's own base."""
    return intake.settings.fhir_base_url or str(request.base_url).rstrip("/") + "/fhir"


def fhir_json(
    resource: dict[str, Any], status_code: int = 200, headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An R4 resource as application/fhir+json."""
    return JSONResponse(resource, status_code=status_code, headers=headers, media_type=FHIR_JSON)


@router.get("/metadata", responses=_RESOURCE, response_class=JSONResponse)
async def metadata(request: Request, intake: IntakeDep) -> JSONResponse:
    """The CapabilityStatement (no credentials needed)."""
    return fhir_json(capability_statement(
        base_url=fhir_base(request, intake), published=intake.clock()
    ))


@router.get("/Task/{task_id}", responses=_RESOURCE, response_class=JSONResponse)
async def read_task(task_id: FhirId, principal: Reader, intake: IntakeDep) -> JSONResponse:
    """The case as a Task: status, owner, deadline, reports."""
    return fhir_json(status.read_task(intake=intake, case_id=task_id, principal=principal))


@router.get("/Task", responses=_RESOURCE, response_class=JSONResponse)
async def search_tasks(
    request: Request, principal: Reader, intake: IntakeDep,
    based_on: Annotated[str | None, Query(alias="based-on", max_length=200)] = None,
    identifier: Annotated[str | None, Query(max_length=300)] = None,
    task_status: Annotated[str | None, Query(alias="status", max_length=200)] = None,
    count: Annotated[int, Query(alias="_count", ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(alias="_cursor", max_length=200)] = None,
) -> JSONResponse:
    """Search the caller's Tasks by based-on, identifier and status: a searchset Bundle, one
    page at a time (follow its `next` link)."""
    page = search.find_tasks(
        intake=intake, principal=principal, based_on=based_on, identifier=identifier,
        status=task_status, count=count, cursor=cursor,
    )
    found = []
    for listed in page.cases:
        # The case as it is now, not as the page found it: requests run between two Tasks, and
        # one that cancelled the case made its Task read `requested` (a stale status).
        case = intake.registry.cases.get(listed.case_id)
        if case is not None and case.case_id not in intake.registry.erased:  # erased meanwhile
            task = status.task_of(intake, case)
            if page.admits(task):  # judged on the Task as built, not as the page found it
                found.append(task)
        await asyncio.sleep(0)  # ~1 ms each: other requests go between, not after 100 of them
    base = fhir_base(request, intake)
    # The links list the parameters this search applied, with the values it used (FHIR asks
    # that `self` show what was used): unknown ones (`_sort`, typos) were ignored.
    applied = [(name, str(value)) for name, value in (
        ("based-on", based_on), ("identifier", identifier), ("status", task_status),
        ("_count", count)) if value is not None]
    self_query = [*applied, *([("_cursor", cursor)] if cursor else [])]
    next_url = None
    if page.next_cursor:
        next_url = f"{base}/Task?{urlencode([*applied, ('_cursor', page.next_cursor)])}"
    warning = (
        f"the search stopped after examining {search.SCAN_LIMIT} cases; follow the next link "
        "to continue, or narrow it with identifier or based-on" if page.cut_short else None
    )
    # A page that saw every match counts what it lists: a case may have left it meanwhile.
    total = len(found) if page.total is not None else None
    return fhir_json(resources.searchset(
        found, f"{base}/Task?{urlencode(self_query)}", base, total=total, next_url=next_url,
        warning=warning,
    ))


@router.get("/ServiceRequest/{request_id}", responses=_RESOURCE, response_class=JSONResponse)
async def read_service_request(
    request_id: FhirId, principal: Reader, intake: IntakeDep
) -> JSONResponse:
    """The referral, read back as a ServiceRequest."""
    return fhir_json(status.read_service_request(
        intake=intake, case_id=request_id, principal=principal
    ))


@router.get("/DiagnosticReport/{document_id}", responses=_RESOURCE,
            response_class=JSONResponse)
async def read_report(document_id: FhirId, principal: Reader, intake: IntakeDep) -> JSONResponse:
    """A specialist's report (listed in the Task's output)."""
    return fhir_json(status.read_report(
        intake=intake, document_id=document_id, principal=principal
    ))
