"""ImagingStudy, DiagnosticReport and imaging-finding Observations -> `imaging` items.

A DiagnosticReport attaches its report text, performer and results to the ImagingStudy it names
(`imagingStudy`); without one it stands for a study of its own (modality from its code).
Finding Observations link to a study through a report's `result` or their own partOf/derivedFrom.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.intake.fhir.attachments import ReadBudget
from services.intake.fhir.attachments import attachment_text as read_attachment
from services.intake.fhir.bundle import BundleIndex, Entry
from services.intake.fhir.clinical import is_imaging_finding
from services.intake.fhir.draft import Draft
from services.intake.fhir.procedures import conflict_fields, party_ids
from services.intake.fhir.profile import (
    DICOM,
    DICOM_UID,
    FINDING_SYSTEM,
    IMAGING_FINDING_PREFIX,
    MODALITY_DICOM,
    MODALITY_SYSTEM,
)
from services.intake.fhir.values import (
    as_date,
    code_in,
    element_values,
    weeks_between,
)


def _modality(concepts: list[Any], codings: list[Any]) -> str | None:
    for concept in concepts:
        code = code_in(concept, MODALITY_SYSTEM)
        if code:
            return code
    dicom = code_in(codings, DICOM)
    return MODALITY_DICOM.get(dicom or "")


def _study_uid(study: Any) -> str | None:
    for identifier in study.identifier or []:
        if identifier.system == DICOM_UID and identifier.value:
            return str(identifier.value).removeprefix("urn:oid:")
    return None


def _report_text(draft: Draft, entry: Entry, budget: ReadBudget) -> str | None:
    report = entry.resource
    texts: list[str] = []
    for i, attachment in enumerate(report.presentedForm or []):
        reading = read_attachment(attachment, budget=budget)
        if reading.text:
            texts.append(reading.text)
        if not reading.whole:  # the reason is fixed text: content types are sender input
            draft.unmap(f"{entry.path}.presentedForm[{i}]",
                        "report not read in full: over the reading budget; not read by triage")
    if report.conclusion:
        texts.append(str(report.conclusion))
    return "\n\n".join(texts) or None


def _put_finding(draft: Draft, study: dict[str, Any], entry: Entry, position: int) -> None:
    code = code_in(entry.resource.code, FINDING_SYSTEM) or ""
    name = code.removeprefix(IMAGING_FINDING_PREFIX)
    values = element_values(entry.resource)
    findings = study.setdefault("findings", {})
    if not values:
        draft.unmap(entry.path, "no value[x]")
    elif name in findings:
        draft.unmap(entry.path, f"duplicate imaging finding {name}")
    else:
        findings[name] = values[0]
        draft.sources[f"imaging.{position}.findings.{name}"] = entry.path
    draft.leftover(entry, {"code", "partOf", "derivedFrom", "category", "effectiveDateTime",
                           "issued", "performer", "valueBoolean", "valueInteger",
                           "valueQuantity", "valueCodeableConcept", "valueString"})


def _add_report(
    draft: Draft, index: BundleIndex, entry: Entry, study: dict[str, Any], position: int,
    referral_date: date, budget: ReadBudget,
) -> None:
    report = entry.resource
    text = _report_text(draft, entry, budget)
    if text:
        study["report_text"] = text
    parties = party_ids(draft, index, list(report.performer or []) +
                        list(report.resultsInterpreter or []))
    study.update(conflict_fields(parties, practitioner="reporting_radiologist_id"))
    effective = as_date(report.effectiveDateTime)
    if "weeks_ago" not in study and effective is not None:
        study["weeks_ago"] = weeks_between(effective, referral_date)
    for result in report.result or []:
        finding = index.resolve(result, "Observation")
        if finding is not None and is_imaging_finding(finding):  # others: map_clinical's
            _put_finding(draft, study, finding, position)
    draft.leftover(entry, {"code", "imagingStudy", "presentedForm", "conclusion", "performer",
                           "resultsInterpreter", "result", "effectiveDateTime", "category",
                           "issued", "basedOn"})


def map_imaging(
    draft: Draft, index: BundleIndex, referral_date: date, *, budget: ReadBudget | None = None
) -> None:
    """Every ImagingStudy and DiagnosticReport, with their findings, in bundle order."""
    budget = budget if budget is not None else ReadBudget()
    studies: dict[int, tuple[dict[str, Any], int]] = {}  # entry index -> (study, position)
    for entry in index.of_type("ImagingStudy"):
        index.use(entry)
        resource = entry.resource
        series_modalities = [s.modality for s in resource.series or [] if s.modality]
        study: dict[str, Any] = {
            "modality": _modality(list(resource.procedureCode or []),
                                  list(resource.modality or []) + series_modalities),
        }
        started = as_date(resource.started)
        if started is not None:
            study["weeks_ago"] = weeks_between(started, referral_date)
        uid = _study_uid(resource)
        if uid:
            study["study_uid"] = uid
        parties = party_ids(draft, index, list(resource.interpreter or []))
        study.update(conflict_fields(parties, practitioner="reporting_radiologist_id"))
        studies[entry.index] = (study, len(studies))
        draft.extend("imaging", [study], entry.path)
        draft.leftover(entry, {"procedureCode", "modality", "series", "started", "identifier",
                               "interpreter", "numberOfSeries", "numberOfInstances",
                               "description", "basedOn", "referrer"})
    for entry in index.of_type("DiagnosticReport"):
        index.use(entry)
        target = next((index.resolve(ref, "ImagingStudy") for ref in
                       entry.resource.imagingStudy or []), None)
        if target is None:
            study = {"modality": _modality([entry.resource.code], [])}
            studies[entry.index] = (study, len(studies))
            draft.extend("imaging", [study], entry.path)
            target = entry
        study, position = studies[target.index]
        _add_report(draft, index, entry, study, position, referral_date, budget)
    for entry in index.of_type("Observation"):
        if is_imaging_finding(entry) and entry.index not in index.used:
            index.use(entry)
            links = list(entry.resource.partOf or []) + list(entry.resource.derivedFrom or [])
            target = next((t for t in (index.resolve(r, "ImagingStudy") for r in links) if t),
                          None)
            if target is None:
                draft.unmap(entry.path, "imaging finding not linked to an ImagingStudy or report")
            else:
                _put_finding(draft, studies[target.index][0], entry, studies[target.index][1])
