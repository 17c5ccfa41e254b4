"""FHIR R4 resources a referral system reads back: Task, ServiceRequest, the report as a
DiagnosticReport, searchset Bundles. Each is validated with the fhir.resources R4B models before
it leaves (R4B matches R4 for these resources)."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from services.intake.domain.registry import CaseRecord
from services.intake.fhir.profile import (
    BASE,
    PSEUDONYM_SYSTEM,
    REFERRAL_TYPE_SYSTEM,
    REGION_SYSTEM,
)
from services.intake.fhir.taskview import CaseProgress, Progress, Step

CASE_SYSTEM = f"{BASE}/sid/case-id"
REFERRAL_ID_SYSTEM = f"{BASE}/sid/referral-id"  # the id a referrer gave, within that referrer
REFERRER_SYSTEM = f"{BASE}/sid/referrer-id"
SPECIALIST_SYSTEM = f"{BASE}/sid/specialist-id"
BUSINESS_STATUS_SYSTEM = f"{BASE}/CodeSystem/referral-business-status"
TASK_OUTPUT_SYSTEM = f"{BASE}/CodeSystem/task-output"
REPORT_CODE_SYSTEM = f"{BASE}/CodeSystem/report-type"
CONCLUSION_SYSTEM = f"{BASE}/CodeSystem/review-conclusion"  # agrees, differs, needs_further_...
PRIORITY = {"emergency": "stat", "urgent": "urgent", "soon": "asap", "routine": "routine"}


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource as R4 JSON, after the fhir.resources model accepted it."""
    model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return dict(json.loads(model.model_dump_json(exclude_none=True)))


def _instant(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def report_id(case_id: str, step_id: str) -> str:
    """DocumentReference id of a step's report (FHIR ids allow no underscore)."""
    return f"{case_id}.{step_id.replace('_', '-')}"


def report_step(progress: CaseProgress, document_id: str) -> tuple[str, Step] | None:
    """The (step id, step) whose report has this DocumentReference id."""
    for step_id, step in progress.steps.items():
        if report_id(progress.case_id, step_id) == document_id and step.state == "completed":
            return step_id, step
    return None


def referral_identifiers(
    case: CaseRecord, sender_ids: list[tuple[str, str]]
) -> list[dict[str, str]]:
    """The referral's identifiers: the sender's own (system, value) first, then its referral id."""
    found = [{"system": system, "value": value} for system, value in sender_ids]
    return [*found, {"system": REFERRAL_ID_SYSTEM, "value": case.referral_id}]


def _specialist(step: Step) -> dict[str, Any]:
    return {"type": "PractitionerRole", "display": f"{step.team} specialist",
            "identifier": {"system": SPECIALIST_SYSTEM, "value": step.specialist_id}}


def _owner(progress: CaseProgress | None) -> dict[str, Any] | None:
    """The assignee of the step in review now, else of the last step reported."""
    steps = list(progress.steps.values()) if progress else []
    current = [s for s in steps if s.state == "accepted" and s.specialist_id]
    reported = [s for s in steps if s.state == "completed" and s.specialist_id]
    chosen = current[-1:] or reported[-1:]
    return _specialist(chosen[0]) if chosen else None


def task_resource(
    case: CaseRecord, progress: CaseProgress | None, state: Progress,
    sender_ids: list[tuple[str, str]],
) -> dict[str, Any]:
    """The case as a Task (status per the IHE 360X / BaRS closed loop)."""
    request = {"reference": f"ServiceRequest/{case.case_id}"}
    task: dict[str, Any] = {
        "resourceType": "Task", "id": case.case_id,
        "identifier": [{"system": CASE_SYSTEM, "value": case.case_id},
                       *referral_identifiers(case, sender_ids)],
        "basedOn": [request], "focus": request, "status": state.status,
        "businessStatus": {"coding": [{"system": BUSINESS_STATUS_SYSTEM,
                                       "code": state.business_code}],
                           "text": state.business_text},
        "intent": "order",
        "authoredOn": _instant(progress.first_received_at if progress else None)
        or _instant(case.updated_at),
        "lastModified": _instant(max(
            [t for t in (case.updated_at, progress.updated_at if progress else None) if t]
        )),
        "requester": {"identifier": {"system": REFERRER_SYSTEM, "value": case.referrer_id}},
    }
    if progress and progress.urgency in PRIORITY:
        task["priority"] = PRIORITY[progress.urgency]
    owner = _owner(progress)
    if owner:
        task["owner"] = owner
    if progress and progress.deadline:
        task["restriction"] = {"period": {"end": _instant(progress.deadline)}}
    reports = [
        {"type": {"coding": [{"system": TASK_OUTPUT_SYSTEM, "code": "specialist-report"}],
                  "text": f"{step.team} report"},
         "valueReference": {"reference": f"DiagnosticReport/{report_id(case.case_id, sid)}"}}
        for sid, step in (progress.steps.items() if progress else [])
        if step.state == "completed"
    ]
    outputs = [*_flags_to_confirm(progress), *reports]
    if outputs:
        task["output"] = outputs
    return validated(task)


def _flags_to_confirm(progress: CaseProgress | None) -> list[dict[str, Any]]:
    """Urgent or emergency flags raised by the referrer's words alone: each names the rule and
    quotes the sentence, so the referrer confirms or corrects quickly (as the triaged webhook
    does; issue 9)."""
    return [
        {"type": {"coding": [{"system": TASK_OUTPUT_SYSTEM, "code": "red-flag-to-confirm"}],
                  "text": f"{flag['level']} flag read from your text: please confirm"},
         "valueString": f"{flag['concept']} ({flag['rule_id']}): \"{flag['sentence']}\" "
                        f"[{flag['source']}]"}
        for flag in (progress.to_confirm if progress else [])
    ]


def service_request_resource(
    case: CaseRecord, progress: CaseProgress | None, state: Progress,
    sender_ids: list[tuple[str, str]],
) -> dict[str, Any]:
    """The referral as intake stored it, read back as a ServiceRequest."""
    status = {"cancelled": "revoked", "completed": "completed"}.get(state.status, "active")
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest", "id": case.case_id,
        "identifier": referral_identifiers(case, sender_ids), "status": status,
        "intent": "order", "subject": {"display": "the referred patient"},
        "requester": {"identifier": {"system": REFERRER_SYSTEM, "value": case.referrer_id}},
    }
    referral = progress.referral if progress else None
    if referral is not None:
        resource["code"] = {"coding": [{"system": REFERRAL_TYPE_SYSTEM,
                                        "code": referral.referral_type}]}
        resource["bodySite"] = [{"coding": [{"system": REGION_SYSTEM, "code": referral.region}]}]
        if referral.pseudonym:
            resource["subject"] = {"identifier": {"system": PSEUDONYM_SYSTEM,
                                                  "value": referral.pseudonym}}
        if referral.clinical_question:
            resource["note"] = [{"text": referral.clinical_question}]
        if referral.organisation:
            resource["requester"]["display"] = referral.organisation
    if progress and progress.first_received_at:
        resource["authoredOn"] = _instant(progress.first_received_at)
    return validated(resource)


def _rendered(step: Step) -> str:
    """The report as plain text: conclusion, opinion, recommendations, addenda by version."""
    report = step.report
    if report is None:
        return f"Report {step.report_ref or ''} (submitted before structured reports)".strip()
    lines = [f"Conclusion: {report.conclusion.replace('_', ' ')}", "", report.opinion]
    if report.recommendations:
        lines += ["", "Recommendations:", *(f"- {r}" for r in report.recommendations)]
    for addendum in step.addenda:
        lines += ["", f"Addendum (version {addendum.version}, {addendum.added_at.isoformat()}):",
                  addendum.text]
    return "\n".join(lines)


def report_resource(case: CaseRecord, step_id: str, step: Step) -> dict[str, Any]:
    """A completed step's report as a DiagnosticReport (`appended` once it has addenda)."""
    text = _rendered(step)
    forms: list[dict[str, Any]] = [{
        "contentType": "text/plain; charset=utf-8", "title": f"{step.team} second opinion",
        "data": base64.b64encode(text.encode()).decode(),
    }]
    report = step.report
    for attachment in report.attachments if report else []:
        form = {"url": attachment.reference, "title": attachment.title,
                "contentType": attachment.content_type}
        forms.append({k: v for k, v in form.items() if v})
    resource: dict[str, Any] = {
        "resourceType": "DiagnosticReport", "id": report_id(case.case_id, step_id),
        "status": "appended" if step.addenda else "final",
        "basedOn": [{"reference": f"ServiceRequest/{case.case_id}"}],
        "code": {"coding": [{"system": REPORT_CODE_SYSTEM, "code": "second-opinion",
                             "display": "Second-opinion report"}],
                 "text": f"{step.team} second-opinion report"},
        "subject": {"display": "the referred patient"},
        "issued": _instant(step.completed_at),
        "presentedForm": forms,
    }
    if report is not None:
        resource["conclusion"] = report.opinion
        resource["conclusionCode"] = [{"coding": [
            {"system": CONCLUSION_SYSTEM, "code": report.conclusion}]}]
    if step.report_ref:
        resource["identifier"] = [{"system": f"{BASE}/sid/report-ref", "value": step.report_ref}]
    if step.specialist_id:
        resource["performer"] = [_specialist(step)]
    return validated(resource)


def searchset(
    resources: list[dict[str, Any]], self_url: str, base_url: str, *, total: int | None = None,
    next_url: str | None = None, warning: str | None = None,
) -> dict[str, Any]:
    """A searchset Bundle of one page of `resources`: `total` only when the search counted
    every match, a `next` link when there may be more, and a warning OperationOutcome entry
    (search mode `outcome`) when the server stopped the search early."""
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    outcome: list[dict[str, Any]] = [] if not warning else [
        {"resource": {"resourceType": "OperationOutcome", "issue": [
            {"severity": "warning", "code": "too-costly", "diagnostics": warning}]},
         "search": {"mode": "outcome"}}]
    shell: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "link": links,
                             "entry": outcome}
    if total is not None:
        shell["total"] = total
    # Each resource was validated when it was built; validating them again inside the Bundle
    # doubled a page's CPU (~40 ms for 50 Tasks, on the event loop).
    bundle = validated(shell)
    bundle["entry"] = [
        {"fullUrl": f"{base_url}/{r['resourceType']}/{r['id']}", "resource": r,
         "search": {"mode": "match"}} for r in resources
    ] + bundle.get("entry", [])
    return bundle
