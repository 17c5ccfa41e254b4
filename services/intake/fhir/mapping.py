"""Map a loaded R4 bundle to a Referral (pure: the clock is a parameter).

The result says what the bundle asks for (submit, update or cancel), carries the Referral and
lists every piece of content that was not mapped, by FHIR path. The mapping table is in
docs/intake.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import ValidationError

from schemas.referral import MAX_PATIENT_IDENTIFIERS, Referral
from services.intake.domain.identity import Name
from services.intake.fhir.attachments import ReadBudget
from services.intake.fhir.bundle import BundleIndex, Entry, FhirRejected
from services.intake.fhir.clinical import map_clinical
from services.intake.fhir.draft import Draft, capped_report
from services.intake.fhir.identity import referral_names
from services.intake.fhir.imaging import map_imaging
from services.intake.fhir.narratives import map_narratives
from services.intake.fhir.procedures import PROPOSAL_INTENTS, map_procedures
from services.intake.fhir.profile import (
    EXT_JURISDICTION,
    EXT_RELATED_CASE,
    PSEUDONYM_SYSTEM,
    REFERRAL_TYPE_SYSTEM,
    REGION_SNOMED,
    REGION_SYSTEM,
    SNOMED,
)
from services.intake.fhir.values import age_on, code_in, extension_values, referral_day

Action = Literal["submit", "update", "cancel"]
CANCEL_STATUSES = frozenset({"revoked", "entered-in-error"})
OPEN_STATUSES = frozenset({"active", "draft"})
GENDER = {"male": "M", "female": "F", "other": "X"}
# Where each required Referral field comes from, for the error when it is missing.
REQUIRED_SOURCES = {
    "referral_type": f"ServiceRequest.code with a {REFERRAL_TYPE_SYSTEM} coding",
    "region": f"ServiceRequest.bodySite with a {REGION_SYSTEM} or SNOMED spine region coding",
    "age": "Patient.birthDate, or an Observation coded `age`",
    "sex": "Patient.gender (male, female or other)",
}
_STRUCTURAL = frozenset({"MessageHeader", "Composition"})


@dataclass
class MappedBundle:
    action: Action
    referral_id: str
    referral: Referral | None = None  # None for a cancellation
    unmapped: list[str] = field(default_factory=list)
    names: list[Name] = field(default_factory=list)  # how the sender names it, preferred first
    # The referral's day came from the day received (no full authoredOn): its week counts
    # depend on that day, so a resend on another day maps differently unless given the first.
    dated_on_receipt: bool = False


def _invalid(detail: str, errors: list[dict[str, str]] | None = None) -> FhirRejected:
    return FhirRejected(422, "Unmappable referral", detail, kind="fhir-unmappable", errors=errors)


def referral_request(index: BundleIndex) -> Entry:
    """The ServiceRequest that is the referral: the message focus, else the only candidate."""
    for header in index.of_type("MessageHeader"):
        index.use(header)
        focus = [index.resolve(ref, "ServiceRequest") for ref in header.resource.focus or []]
        found = [f for f in focus if f is not None]
        if len(found) != 1:
            raise _invalid("MessageHeader.focus must reference exactly one ServiceRequest")
        return found[0]
    for composition in index.of_type("Composition"):
        index.use(composition)
    requests = index.of_type("ServiceRequest")
    typed = [r for r in requests if code_in(r.resource.code, REFERRAL_TYPE_SYSTEM)]
    candidates = typed or [r for r in requests if r.resource.intent not in PROPOSAL_INTENTS]
    if len(candidates) != 1:
        raise _invalid(
            f"found {len(candidates)} referral ServiceRequests; a bundle carries exactly one"
        )
    return index.use(candidates[0])


def _action(index: BundleIndex, request: Any) -> Action:
    if request.status in CANCEL_STATUSES:
        return "cancel"
    if request.status not in OPEN_STATUSES:
        raise _invalid("ServiceRequest.status must be active or draft (or revoked to cancel)")
    categories = {c.code for cat in request.category or [] for c in cat.coding or []}
    if "validation" in categories and "referral" not in categories:
        raise _invalid("a validation request (category validation) is not a referral")
    reasons = {
        c.code for h in index.of_type("MessageHeader")
        for c in (h.resource.reason.coding if h.resource.reason else None) or []
    }
    return "update" if "update" in reasons else "submit"


def _referral_id(entry: Entry) -> str:
    for identifier in entry.resource.identifier or []:
        if identifier.value:
            return str(identifier.value)[:100]
    fallback = entry.resource.id or entry.full_url
    if not fallback:
        raise _invalid("the ServiceRequest has no identifier, id or fullUrl to key it by")
    return str(fallback).removeprefix("urn:uuid:")[:100]


def _map_patient(
    draft: Draft, index: BundleIndex, request: Any, referral_date: date
) -> tuple[str, str] | None:
    """Map the subject Patient; its birthDate (ISO text, maybe partial) and path, for the age."""
    entry = index.resolve(request.subject, "Patient")
    if entry is None:
        draft.unmap("Bundle.entry.resource.subject", "ServiceRequest.subject not in the bundle")
        return None
    patient, path = entry.resource, entry.path
    _check_identifier_count(patient.identifier or [], path)
    draft.put("patient.identifiers", [], f"{path}.identifier")
    for i, ident in enumerate(patient.identifier or []):
        if ident.system == PSEUDONYM_SYSTEM:
            draft.put("patient.pseudonym", ident.value, f"{path}.identifier[{i}]")
        elif ident.system and ident.value:
            # One source per item, so an over-long system or value is named down to its element.
            draft.extend("patient.identifiers", [{"system": ident.system, "value": ident.value}],
                         f"{path}.identifier[{i}]")
    if patient.name:
        name = patient.name[0]
        # R4B allows null items in given[] (with an extension instead): skip them, no 500
        parts = [*(name.given or []), name.family or ""]
        text = name.text or " ".join(str(p) for p in parts if p).strip()
        draft.put("patient.name", text or None, f"{path}.name")
    born = _birth_date(draft, patient.birthDate, f"{path}.birthDate")
    if patient.gender in GENDER:
        draft.put("sex", GENDER[patient.gender], f"{path}.gender")
    for ext_value in extension_values(patient, EXT_JURISDICTION)[:1]:
        draft.put("patient.jurisdiction", ext_value, f"{path}.extension")
    preferred = [c for c in patient.communication or [] if c.preferred] or patient.communication
    if preferred:
        language = code_in(preferred[0].language, "urn:ietf:bcp:47")
        draft.put("patient.preferred_language", language, f"{path}.communication")
    _unknown_extensions(draft, entry, {EXT_JURISDICTION})
    draft.leftover(entry, {"identifier", "name", "birthDate", "gender", "extension",
                           "communication"})
    return born


def _birth_date(draft: Draft, value: date | str | None, path: str) -> tuple[str, str] | None:
    """A full birthDate is `patient.birth_date`. fhir.resources keeps a partial one ("1975",
    "1975-06", valid R4) as text, which the contract's date cannot hold without inventing a
    day: it still gives the age, and the report says the birth date itself was not carried."""
    if not value:
        return None
    if isinstance(value, date):
        draft.put("patient.birth_date", value.isoformat(), path)
        return value.isoformat(), path
    draft.unmap(path, "partial date: used for the age, patient.birth_date needs a full date")
    return str(value), path


def _check_identifier_count(identifiers: list[Any], path: str) -> None:
    """The contract's cap on patient identifiers, checked before any is mapped; the pseudonym
    travels in its own field, so it is not counted (as in the JSON contract)."""
    count = sum(1 for ident in identifiers if ident.system != PSEUDONYM_SYSTEM)
    if count > MAX_PATIENT_IDENTIFIERS:
        detail = (f"Patient.identifier holds {count} identifiers besides the pseudonym; at most "
                  f"{MAX_PATIENT_IDENTIFIERS} are accepted")
        raise FhirRejected(422, "Too many identifiers", detail, kind="fhir-invalid",
                           errors=[{"path": f"{path}.identifier", "message": detail}])


def _unknown_extensions(draft: Draft, entry: Entry, known: set[str]) -> None:
    for i, ext in enumerate(getattr(entry.resource, "extension", None) or []):
        if ext.url not in known:
            draft.unmap(f"{entry.path}.extension[{i}]", "extension not in the profile")


def _map_request(draft: Draft, index: BundleIndex, entry: Entry) -> None:
    request, path = entry.resource, entry.path
    draft.put("referral_type", code_in(request.code, REFERRAL_TYPE_SYSTEM), f"{path}.code")
    regions = [
        code_in(site, REGION_SYSTEM) or REGION_SNOMED.get(code_in(site, SNOMED) or "")
        for site in request.bodySite or []
    ]
    draft.put("region", next((r for r in regions if r), None), f"{path}.bodySite")
    notes = [str(n.text) for n in request.note or [] if n.text]
    if notes:
        draft.put("clinical_question", "\n".join(notes), f"{path}.note")
    related = extension_values(request, EXT_RELATED_CASE)
    if related:
        draft.put("related_case_ids", [str(r) for r in related], f"{path}.extension")
    referrer: dict[str, Any] = {"id": "authenticated-client"}  # intake overwrites the id
    requester = index.resolve(request.requester, "Practitioner", "PractitionerRole",
                              "Organization")
    if requester is not None:
        _describe_requester(index, requester, referrer)
    draft.put("referrer", referrer, f"{path}.requester")
    _unknown_extensions(draft, entry, {EXT_RELATED_CASE})
    draft.leftover(entry, {"identifier", "intent", "code", "bodySite", "note", "extension",
                           "requester", "authoredOn", "category", "supportingInfo",
                           "reasonReference", "occurrencePeriod", "occurrenceDateTime",
                           "priority", "reasonCode"})


def _describe_requester(index: BundleIndex, requester: Entry, referrer: dict[str, Any]) -> None:
    resource = requester.resource
    if requester.type == "PractitionerRole":
        for ref in (resource.practitioner, resource.organization):
            found = index.resolve(ref, "Practitioner", "Organization")
            if found is not None:
                _describe_requester(index, found, referrer)
    elif requester.type == "Organization" and resource.name:
        referrer["organisation"] = str(resource.name)[:200]
    elif requester.type == "Practitioner" and resource.name:
        name = resource.name[0]
        parts = [*(name.prefix or []), *(name.given or []), name.family or ""]
        text = name.text or " ".join(str(p) for p in parts if p)
        referrer["contact_name"] = text.strip()[:200] or None


def _age(draft: Draft, born: tuple[str, str] | None, referral_date: date) -> None:
    """The age at the referral date from Patient.birthDate, unless an Observation gave it."""
    if draft.get("age") is None and born is not None:
        text, source = born
        draft.put("age", age_on(text, referral_date), source)


def _validated(draft: Draft) -> Referral:
    try:
        return Referral.model_validate(draft.data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False):
            field_path = ".".join(str(p) for p in err["loc"])
            source = draft.source_of(field_path) or REQUIRED_SOURCES.get(field_path, "Bundle")
            errors.append({"path": source, "field": field_path, "message": str(err["msg"])})
        raise _invalid(f"{len(errors)} referral field(s) invalid or missing", errors) from exc


def _natural(text: str) -> list[Any]:
    """Sort key putting entry[2] before entry[10]."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def map_bundle(index: BundleIndex, *, now: datetime) -> MappedBundle:
    """What the bundle asks for and the Referral it carries, with unmapped content listed."""
    entry = referral_request(index)
    request = entry.resource
    action, referral_id = _action(index, request), _referral_id(entry)
    names = referral_names(index, entry)
    if action == "cancel":
        return MappedBundle(action, referral_id, names=names)
    referral_date = referral_day(request.authoredOn, now.date())
    draft = Draft()
    draft.put("referral_id", referral_id, f"{entry.path}.identifier")
    _map_request(draft, index, entry)
    born = _map_patient(draft, index, request, referral_date)
    map_clinical(draft, index)
    map_procedures(draft, index, entry, referral_date)
    budget = ReadBudget()  # one for every attachment of the bundle
    map_imaging(draft, index, referral_date, budget=budget)
    map_narratives(draft, index, entry, budget=budget)
    _age(draft, born, referral_date)
    for unused in index.unused():
        if unused.type not in _STRUCTURAL:
            draft.unmap(unused.path, f"{unused.type} is not used by the spine profile")
    unmapped = capped_report(sorted(draft.unmapped, key=_natural))
    dated = not isinstance(request.authoredOn, date)  # absent or partial (a str)
    return MappedBundle(action, referral_id, _validated(draft), unmapped, names, dated)
