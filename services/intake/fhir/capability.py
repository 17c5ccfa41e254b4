"""GET [base]/metadata: what intake's FHIR base offers, as an R4 CapabilityStatement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.intake.fhir.resources import validated

_READ = [{"code": "read"}]
_SECURITY = (
    "Every interaction except metadata needs credentials: an `Authorization: Bearer <JWT>` "
    "(role referrer or system) or an `X-API-Key`. A referral system reads only its own cases; "
    "anything else answers 404."
)


def _search(name: str, kind: str, doc: str) -> dict[str, str]:
    return {"name": name, "type": kind, "documentation": doc}


def capability_statement(*, base_url: str, published: datetime) -> dict[str, Any]:
    """The server's CapabilityStatement (FHIR 4.0.1, JSON only)."""
    return validated({
        "resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
        "date": published.isoformat(), "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "publisher": "spine second-opinion case router",
        "software": {"name": "spine-router intake"},
        "implementation": {"description": "Referral intake and closed-loop referral status",
                           "url": base_url},
        "rest": [{
            "mode": "server",
            "documentation": "Send a referral as a message, document, transaction or collection "
                             "Bundle to POST [base]/Bundle; the 202 answer's Location is its "
                             "Task. Errors are OperationOutcome. Models: fhir.resources R4B, "
                             "which match R4 for every resource used here.",
            "security": {"description": _SECURITY},
            "resource": [
                {"type": "Bundle", "interaction": [{"code": "create"}],
                 "documentation": "POST a referral Bundle (ServiceRequest revoked = cancel; "
                                  "MessageHeader.reason update = new revision)"},
                {"type": "Task", "interaction": [*_READ, {"code": "search-type"}],
                 "documentation": "One per case; status follows IHE 360X / NHS BaRS: requested, "
                                  "received, accepted, in-progress, completed, cancelled",
                 "searchParam": [
                     _search("based-on", "reference", "ServiceRequest/[id]"),
                     _search("identifier", "token", "[system]|[value], the sender's id"),
                     _search("status", "token", "task-status codes, comma = OR"),
                     _search("_count", "number", "page size, at most 100"),
                 ]},
                {"type": "ServiceRequest", "interaction": _READ,
                 "documentation": "The referral as stored, read back"},
                {"type": "DiagnosticReport", "interaction": _READ,
                 "documentation": "A specialist's report, listed in Task.output"},
            ],
        }],
    })
