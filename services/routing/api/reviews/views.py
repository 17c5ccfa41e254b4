"""Reviewers' case view and report reads: thin routes over reviews.service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from schemas.reports import StoredReport
from services.common.auth import Principal, require_roles
from services.routing.api.gateway import Gateway
from services.routing.api.reviews import service
from services.routing.api.reviews.models import CaseReview

router = APIRouter(tags=["reviews"])
Reviewer = Annotated[Principal, Depends(require_roles("specialist", "ops"))]
# `system`: a referral system's API key, subject = its referrer id (as at intake); reads
# the reports of the cases it referred, like the referrer (domain/reports.readable_by).
Reader = Annotated[
    Principal, Depends(require_roles("specialist", "ops", "referrer", "system"))]


# Async routes: the case row, its content (a parsed-row cache) and reports are read on the
# event loop, the agents' thread; from FastAPI's thread pool the read raced the cache's
# eviction (a KeyError between its membership check and its read: a 500 on a GET).
@router.get("/cases/{case_id}/review", response_model=CaseReview)
async def case_review(case_id: str, gateway: Gateway, me: Reviewer) -> CaseReview:
    return service.case_review(gateway=gateway, role=me.role, subject=me.subject,
                               case_id=case_id)


@router.get("/cases/{case_id}/reports", response_model=list[StoredReport])
async def case_reports(case_id: str, gateway: Gateway, me: Reader) -> list[StoredReport]:
    return service.reports_for(gateway=gateway, role=me.role, subject=me.subject,
                               case_id=case_id)


@router.get("/cases/{case_id}/reports/{step_id}", response_model=StoredReport)
async def case_report(case_id: str, step_id: str, gateway: Gateway, me: Reader) -> StoredReport:
    return service.report_for(gateway=gateway, role=me.role, subject=me.subject,
                              case_id=case_id, step_id=step_id)
