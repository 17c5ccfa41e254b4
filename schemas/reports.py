"""A reviewer's report: the structured second opinion a completed plan step produces.

Routing stores it and serves it at the step's `report_ref` (`/cases/{case_id}/reports/{step_id}`
on routing's API) to the referrer, ops and the reviewers of later steps; it also travels on
`AssignmentCompleted.report` (and addenda on `ReportAmended`) so other services (the FHIR
`Task.output`) can build their own views. Free text here is patient data: never log it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from schemas.envelope import Contract
from schemas.triage import Team

Conclusion = Literal["agrees", "differs", "needs_further_investigation"]
CONCLUSIONS: tuple[Conclusion, ...] = ("agrees", "differs", "needs_further_investigation")
MAX_ADDENDA = 10
Recommendation = Annotated[str, Field(min_length=1, max_length=1_000)]


class AttachmentRef(Contract):
    """A document the report points at; never the document itself."""

    reference: str = Field(min_length=1, max_length=500)  # URL, DICOM study UID, report ref
    title: str | None = Field(default=None, max_length=200)
    content_type: str | None = Field(default=None, max_length=100)


class ReviewReport(Contract):
    """What the reviewer concludes about the referral's question, and why."""

    conclusion: Conclusion  # with the referrer's plan or working diagnosis
    opinion: str = Field(min_length=1, max_length=10_000)
    recommendations: list[Recommendation] = Field(default_factory=list, max_length=20)
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=10)


class ReportAddendum(Contract):
    """A later note on a submitted report; the report itself never changes."""

    version: int = Field(ge=2)  # the report's version once this addendum is added
    text: str = Field(min_length=1, max_length=5_000)
    specialist_id: str = Field(min_length=1, max_length=100)
    added_at: AwareDatetime


class StoredReport(Contract):
    """A step's report as routing keeps and serves it."""

    report_ref: str
    case_id: str
    step_id: str
    team: Team
    specialist_id: str
    submitted_at: AwareDatetime
    version: int = Field(default=1, ge=1)  # 1 + number of addenda
    report: ReviewReport
    addenda: list[ReportAddendum] = Field(default_factory=list, max_length=MAX_ADDENDA)


def report_ref(case_id: str, step_id: str) -> str:
    """Where routing serves a step's report (a path on routing's API)."""
    return f"/cases/{case_id}/reports/{step_id}"
