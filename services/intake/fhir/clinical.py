"""Observations, QuestionnaireResponses and Conditions -> symptoms, exam, red flags, instruments,
comorbidities and diagnostic blocks."""

from __future__ import annotations

from typing import Any

from services.intake.fhir.bundle import BundleIndex, Entry
from services.intake.fhir.draft import Draft
from services.intake.fhir.profile import (
    BASE,
    COMORBIDITY_SNOMED,
    COMORBIDITY_SYSTEM,
    FAHRENHEIT,
    FINDING_SYSTEM,
    GROUP_FINDINGS,
    IMAGING_FINDING_PREFIX,
    INSTRUMENT_GROUP_FIELDS,
    LIST_ITEM_FINDINGS,
    LOINC,
    LOINC_FINDINGS,
    SCALAR_FINDINGS,
    SECTION_FINDINGS,
    SNOMED,
)
from services.intake.fhir.values import code_in, describe_code, element_values

QUESTIONNAIRES = {
    f"{BASE}/Questionnaire/start-back": "instruments.start_back",
    f"{BASE}/Questionnaire/waddell": "instruments.waddell",
    f"{BASE}/Questionnaire/odi": "instruments.odi_sections",
    f"{BASE}/Questionnaire/ndi": "instruments.ndi_sections",
}
SECTION_COUNT = 10
_VOID_STATUSES = frozenset({"entered-in-error", "cancelled"})
_OBSERVATION_ELEMENTS = {
    "code", "component", "category", "effectiveDateTime", "effectivePeriod", "issued",
    "performer", "partOf", "derivedFrom", "valueBoolean", "valueInteger", "valueQuantity",
    "valueCodeableConcept", "valueString", "note",  # note: read as a narrative
}
Part = tuple[str, list[Any], str]  # (part code, values, FHIR path)


def is_imaging_finding(entry: Entry) -> bool:
    """Imaging findings are mapped with their study, not here."""
    code = code_in(entry.resource.code, FINDING_SYSTEM)
    return bool(code and code.startswith(IMAGING_FINDING_PREFIX))


def put_group(draft: Draft, finding: str, parts: list[Part], source: str) -> None:
    """A grouped finding (STarT Back, Waddell, ODI/NDI sections, one diagnostic block)."""
    if finding in GROUP_FINDINGS:
        known = INSTRUMENT_GROUP_FIELDS[finding]
        group: dict[str, Any] = {}
        for code, values, path in parts:
            if code in known and values:
                group[code] = values[0]
            else:
                draft.unmap(path, f"not a {finding} item")
        draft.put(finding, group, source)
    elif finding in SECTION_FINDINGS:
        sections: list[Any] = [None] * SECTION_COUNT
        for code, values, path in parts:
            if code.isdigit() and 1 <= int(code) <= SECTION_COUNT and values:
                sections[int(code) - 1] = values[0]
            else:
                draft.unmap(path, f"sections of {finding} are numbered 1-{SECTION_COUNT}")
        draft.put(finding, sections, source)
    else:  # one item of a list of objects, e.g. a diagnostic block
        draft.extend(finding, [{code: values[0] for code, values, _ in parts if values}], source)


def map_observation(draft: Draft, entry: Entry) -> None:
    """One non-imaging Observation: a project finding code or a recognised LOINC lab/vital."""
    obs, path = entry.resource, entry.path
    if obs.status in _VOID_STATUSES:
        draft.unmap(path, f"status {obs.status}")
        return
    finding = code_in(obs.code, FINDING_SYSTEM)
    loinc = code_in(obs.code, LOINC)
    if finding is None and loinc in LOINC_FINDINGS:
        _map_loinc(draft, entry, loinc)
    elif finding in SCALAR_FINDINGS:
        values = element_values(obs)
        if not values:
            draft.unmap(path, "no value[x]")
        elif SCALAR_FINDINGS[finding]:
            draft.extend(finding, values, path)
        else:
            draft.put(finding, values[0], path)
    elif finding in GROUP_FINDINGS + SECTION_FINDINGS + LIST_ITEM_FINDINGS:
        parts = [
            (code_in(c.code, FINDING_SYSTEM) or describe_code(c.code),
             element_values(c), f"{path}.component[{i}]")
            for i, c in enumerate(obs.component or [])
        ]
        put_group(draft, finding, parts, path)
    else:
        draft.unmap(path, "Observation code is not in the spine profile")
        return
    draft.leftover(entry, _OBSERVATION_ELEMENTS)


def _map_loinc(draft: Draft, entry: Entry, loinc: str) -> None:
    field, factors = LOINC_FINDINGS[loinc]
    quantity = entry.resource.valueQuantity
    unit = (quantity.code or quantity.unit) if quantity is not None else None
    if quantity is None or quantity.value is None:
        draft.unmap(entry.path, "no valueQuantity")
    elif unit == FAHRENHEIT and field == "red_flags.fever_c":
        draft.put(field, round((float(quantity.value) - 32) * 5 / 9, 1), entry.path)
    elif unit in factors:
        draft.put(field, round(float(quantity.value) * factors[unit], 2), entry.path)
    else:
        draft.unmap(f"{entry.path}.valueQuantity", f"unit not convertible for {field}")


def map_questionnaire_response(draft: Draft, entry: Entry) -> None:
    """A project instrument QuestionnaireResponse; items are keyed by linkId."""
    qr = entry.resource
    finding = QUESTIONNAIRES.get(str(qr.questionnaire or "").split("|")[0])
    if finding is None:
        draft.unmap(entry.path, "questionnaire is not a spine-profile instrument")
        return
    parts = [
        (str(item.linkId), element_values(item.answer[0]) if item.answer else [],
         f"{entry.path}.item[{i}]")
        for i, item in enumerate(qr.item or [])
    ]
    put_group(draft, finding, parts, entry.path)
    draft.leftover(entry, {"questionnaire", "item", "authored", "author", "source"})


def map_condition(draft: Draft, entry: Entry) -> None:
    """A comorbidity Condition (project code or SNOMED); refuted or resolved ones set nothing."""
    condition = entry.resource
    field = code_in(condition.code, COMORBIDITY_SYSTEM) or COMORBIDITY_SNOMED.get(
        code_in(condition.code, SNOMED) or ""
    )
    if field is None:
        draft.unmap(entry.path, "Condition code is not a comorbidity")
        return
    clinical = code_in(condition.clinicalStatus, "http://terminology.hl7.org/CodeSystem/condition-clinical")
    verification = code_in(
        condition.verificationStatus, "http://terminology.hl7.org/CodeSystem/condition-ver-status"
    )
    if clinical in {"inactive", "resolved", "remission"} or verification in {
        "refuted", "entered-in-error"
    }:
        draft.unmap(entry.path, f"comorbidity {field} not active")
    else:
        draft.put(f"comorbidities.{field}", True, entry.path)
    draft.leftover(entry, {
        "code", "clinicalStatus", "verificationStatus", "category", "onsetDateTime",
        "onsetPeriod", "recordedDate", "severity", "note",  # note: read as a narrative
    })


def map_clinical(draft: Draft, index: BundleIndex) -> None:
    """Every Observation (except imaging findings), QuestionnaireResponse and Condition."""
    for entry in index.entries:
        if entry.type == "Observation" and not is_imaging_finding(entry):
            index.use(entry)
            map_observation(draft, entry)
        elif entry.type == "QuestionnaireResponse":
            index.use(entry)
            map_questionnaire_response(draft, entry)
        elif entry.type == "Condition":
            index.use(entry)
            map_condition(draft, entry)
