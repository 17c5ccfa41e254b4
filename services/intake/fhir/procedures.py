"""Past surgery (Procedure), proposed surgery (a second ServiceRequest) and the people and
bodies behind them, whose directory ids routing excludes (conflict of interest)."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.intake.fhir.bundle import BundleIndex, Entry
from services.intake.fhir.draft import Draft
from services.intake.fhir.profile import (
    DIRECTORY_ID_SYSTEM,
    EXT_INSTRUMENTED,
    PARTY_ROLE_SYSTEM,
    PROCEDURE_SYSTEM,
)
from services.intake.fhir.values import (
    as_date,
    code_in,
    directory_id,
    extension_values,
    label,
    weeks_between,
)

PROPOSAL_INTENTS = frozenset({"proposal", "plan"})


def party_ids(draft: Draft, index: BundleIndex, references: list[Any]) -> dict[str, str]:
    """{'practitioner'|'institution'|'group': directory id} from Practitioner, PractitionerRole
    and Organization references; an Organization typed `group` is a surgical group."""
    found: dict[str, str] = {}
    pending = list(references)
    while pending:
        entry = index.resolve(pending.pop(0), "Practitioner", "PractitionerRole", "Organization")
        if entry is None:
            continue
        resource = entry.resource
        if entry.type == "PractitionerRole":
            pending += [r for r in (resource.practitioner, resource.organization) if r]
            continue
        ident = directory_id(resource)
        if ident is None:
            draft.unmap(f"{entry.path}.identifier", f"no {DIRECTORY_ID_SYSTEM} identifier")
            continue
        role = "practitioner"
        if entry.type == "Organization":
            is_group = any(code_in(t, PARTY_ROLE_SYSTEM) == "group" for t in resource.type or [])
            role = "group" if is_group else "institution"
        found.setdefault(role, ident)
    return found


def conflict_fields(parties: dict[str, str], *, practitioner: str) -> dict[str, str]:
    """Party ids under the Referral's field names (`practitioner` names the person's field)."""
    names = {"practitioner": practitioner, "institution": "institution_id", "group": "group_id"}
    return {names[role]: ident for role, ident in parties.items()}


def _levels(body_sites: list[Any] | None) -> list[str]:
    return [lv for lv in (label(site) for site in body_sites or []) if lv]


def map_surgery(draft: Draft, index: BundleIndex, entry: Entry, referral_date: date) -> None:
    """A completed spine Procedure -> one `surgeries` item."""
    procedure = entry.resource
    code = code_in(procedure.code, PROCEDURE_SYSTEM)
    if code is None or procedure.status != "completed":
        draft.unmap(entry.path, "not a completed spine-profile surgery")
        return
    performed = as_date(
        procedure.performedDateTime
        or (procedure.performedPeriod.end or procedure.performedPeriod.start
            if procedure.performedPeriod else None)
    )
    surgery: dict[str, Any] = {"procedure": code, "levels": _levels(procedure.bodySite)}
    if performed is not None:
        surgery["weeks_before_referral"] = weeks_between(performed, referral_date)
    instrumented = extension_values(procedure, EXT_INSTRUMENTED)
    if instrumented:
        surgery["instrumented"] = bool(instrumented[0])
    refs = [p.actor for p in procedure.performer or []]
    refs += [p.onBehalfOf for p in procedure.performer or [] if p.onBehalfOf]
    surgery.update(conflict_fields(party_ids(draft, index, refs), practitioner="surgeon_id"))
    draft.extend("surgeries", [surgery], entry.path)
    draft.leftover(entry, {
        "code", "bodySite", "performedDateTime", "performedPeriod", "performer", "extension",
        "category",
    })


def map_proposed_surgery(
    draft: Draft, index: BundleIndex, entry: Entry, referral_date: date
) -> None:
    """A ServiceRequest with intent proposal/plan -> `proposed_surgery`."""
    request = entry.resource
    scheduled = as_date(
        request.occurrenceDateTime
        or (request.occurrencePeriod.start if request.occurrencePeriod else None)
    )
    proposal: dict[str, Any] = {
        "procedure": code_in(request.code, PROCEDURE_SYSTEM) or label(request.code),
        "levels": _levels(request.bodySite),
    }
    if scheduled is not None:
        proposal["days_until_scheduled"] = (scheduled - referral_date).days
    parties = party_ids(draft, index, list(request.performer or []))
    proposal.update(conflict_fields(parties, practitioner="surgeon_id"))
    draft.put("proposed_surgery", proposal, entry.path)
    draft.leftover(entry, {
        "intent", "code", "bodySite", "occurrenceDateTime", "occurrencePeriod", "performer",
        "category", "basedOn", "requester", "authoredOn",
    })


def map_procedures(
    draft: Draft, index: BundleIndex, referral: Entry, referral_date: date
) -> None:
    """Every Procedure, and every ServiceRequest other than the referral that is a proposal."""
    for entry in index.of_type("Procedure"):
        index.use(entry)
        map_surgery(draft, index, entry, referral_date)
    for entry in index.of_type("ServiceRequest"):
        if entry is not referral and entry.resource.intent in PROPOSAL_INTENTS:
            index.use(entry)
            map_proposed_surgery(draft, index, entry, referral_date)
