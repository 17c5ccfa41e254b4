"""Free text a FHIR referral carries -> Referral.narratives (triage reads every one), and the
referrer's priority -> Referral.referrer_priority.

Read: ServiceRequest.reasonCode.text, Condition.code.text and note, Observation.note and the
valueString of observations outside the profile, DocumentReference attachments (inline or a
Binary in the bundle) and stand-alone Binary letters, as text/plain, text/html or a PDF text
layer. ServiceRequest.note is `clinical_question` and DiagnosticReport text is the imaging
report (both mapped elsewhere, both read by triage). At most MAX_NARRATIVES texts are kept; the
rest, and attachments that cannot be read, are listed as unmapped so a human reads them. Reading
attachments is bounded by one ReadBudget per bundle (attachments.py), and stops at the narrative
cap: an attachment the budget left unread, or read in part, is listed as unmapped too.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from services.intake.fhir.attachments import ReadBudget, Reading, attachment_text
from services.intake.fhir.bundle import BundleIndex, Entry
from services.intake.fhir.draft import Draft
from services.intake.fhir.profile import FINDING_SYSTEM, LOINC, LOINC_FINDINGS
from services.intake.fhir.values import code_in

MAX_NARRATIVES = 20  # Referral.narratives max_length
MAX_CHARS = 20_000  # Narrative.text max_length
PRIORITIES = frozenset({"routine", "urgent", "asap", "stat"})
_CODED_TEXT_TYPES = ("Condition", "Observation")
_VOID_STATUSES = frozenset({"entered-in-error", "cancelled"})
_INACTIVE = frozenset({"inactive", "resolved", "remission"})
_REFUTED = frozenset({"refuted", "entered-in-error"})
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
FULL = f"more than {MAX_NARRATIVES} free texts; not read by triage"


class _Narratives:
    def __init__(self, draft: Draft, budget: ReadBudget) -> None:
        self.draft = draft
        self.budget = budget
        self.count = 0

    @property
    def full(self) -> bool:
        return self.count >= MAX_NARRATIVES

    def add(self, source: str, text: Any, path: str) -> None:
        text = str(text or "").strip()[:MAX_CHARS]
        if not text:
            return
        if self.full:
            self.draft.unmap(path, FULL)
            return
        self.count += 1
        self.draft.extend("narratives", [{"source": source, "text": text}], path)


def _profile_observation(resource: Any) -> bool:
    return bool(code_in(resource.code, FINDING_SYSTEM)) or (
        code_in(resource.code, LOINC) in LOINC_FINDINGS
    )


def _void(resource: Any) -> bool:
    """Refuted, entered in error, resolved: its words are not about the patient now."""
    if getattr(resource, "status", None) in _VOID_STATUSES:
        return True
    clinical = code_in(getattr(resource, "clinicalStatus", None), CONDITION_CLINICAL)
    verification = code_in(getattr(resource, "verificationStatus", None), CONDITION_VERIFICATION)
    return clinical in _INACTIVE or verification in _REFUTED


def _coded_texts(out: _Narratives, entry: Entry) -> None:
    resource, path, kind = entry.resource, entry.path, entry.type
    if _void(resource):
        return
    if kind == "Condition" and resource.code is not None and resource.code.text:
        out.add("Condition.code.text", resource.code.text, f"{path}.code.text")
    if kind == "Observation" and resource.valueString and not _profile_observation(resource):
        out.add("Observation.valueString", resource.valueString, f"{path}.valueString")
    for i, note in enumerate(resource.note or []):
        out.add(f"{kind}.note", note.text, f"{path}.note[{i}]")


def _read(out: _Narratives, source: str, reading: Reading, path: str, what: str) -> None:
    """The text as a narrative; what was not read as unmapped (reasons are fixed text: content
    types are sender input)."""
    if reading.text is not None:
        out.add(source, reading.text, path)
        if not reading.whole:
            out.draft.unmap(path, f"{what} read in part: over the reading budget; the rest not "
                                  "read by triage")
    elif not reading.whole:
        out.draft.unmap(path, f"{what} not read: over the reading budget; not read by triage")
    else:
        out.draft.unmap(path, f"{what} without readable text; not read by triage")


def _letter(out: _Narratives, index: BundleIndex, entry: Entry) -> None:
    for i, content in enumerate(entry.resource.content or []):
        attachment = content.attachment
        # resolve() marks the Binary used, so it is not read a second time on its own.
        binary = index.resolve(SimpleNamespace(reference=attachment.url), "Binary")
        path = f"{entry.path}.content[{i}].attachment"
        if out.full:  # its text could not be kept: not worth decoding
            out.draft.unmap(path, FULL)
            continue
        reading = attachment_text(attachment, binary.resource if binary is not None else None,
                                  budget=out.budget)
        _read(out, "DocumentReference", reading, path, "attachment")


def map_narratives(
    draft: Draft, index: BundleIndex, request: Entry, *, budget: ReadBudget | None = None
) -> None:
    """Every free text in the bundle, with its source, and the referrer's priority."""
    out = _Narratives(draft, budget if budget is not None else ReadBudget())
    resource = request.resource
    if resource.priority in PRIORITIES:
        draft.put("referrer_priority", resource.priority, f"{request.path}.priority")
    for i, reason in enumerate(resource.reasonCode or []):
        out.add("ServiceRequest.reasonCode.text", reason.text, f"{request.path}.reasonCode[{i}]")
    for entry in index.entries:
        if entry.type in _CODED_TEXT_TYPES:
            _coded_texts(out, entry)
    for entry in index.of_type("DocumentReference"):
        index.use(entry)
        _letter(out, index, entry)
    for entry in index.of_type("Binary"):
        if entry.index in index.used:
            continue  # read as a DocumentReference's attachment
        index.use(entry)
        if out.full:
            draft.unmap(entry.path, FULL)
            continue
        _read(out, "Binary", attachment_text(entry.resource, budget=out.budget), entry.path,
              "Binary")
