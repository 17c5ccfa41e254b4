"""The project's spine-referral FHIR profile: code systems, identifier systems and code tables.

Public referral examples carry no spine content, so this profile defines it. A finding is an
Observation coded in FINDING_SYSTEM whose code is the dotted path of a Referral field
(`symptoms.nrs_back`); grouped instruments put the sub-fields in Observation.component.
docs/intake.md renders these tables.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel

from schemas.referral import (
    Comorbidities,
    ImagingFindings,
    Instruments,
    NeuroExam,
    RedFlags,
    Symptoms,
    Timeline,
)

BASE = "https://spine-router.example/fhir"
FINDING_SYSTEM = f"{BASE}/CodeSystem/spine-finding"
VALUE_SYSTEM = f"{BASE}/CodeSystem/spine-value"  # codes = the Referral enum values
REFERRAL_TYPE_SYSTEM = f"{BASE}/CodeSystem/referral-type"
REGION_SYSTEM = f"{BASE}/CodeSystem/spine-region"
PROCEDURE_SYSTEM = f"{BASE}/CodeSystem/spine-procedure"
MODALITY_SYSTEM = f"{BASE}/CodeSystem/imaging-modality"
COMORBIDITY_SYSTEM = f"{BASE}/CodeSystem/comorbidity"
PARTY_ROLE_SYSTEM = f"{BASE}/CodeSystem/party-role"  # Organization.type `group` = surgical group
DIRECTORY_ID_SYSTEM = f"{BASE}/sid/directory-id"  # ids routing's directory knows
PSEUDONYM_SYSTEM = f"{BASE}/sid/patient-pseudonym"
EXT_JURISDICTION = f"{BASE}/StructureDefinition/jurisdiction"
EXT_RELATED_CASE = f"{BASE}/StructureDefinition/related-case"
EXT_INSTRUMENTED = f"{BASE}/StructureDefinition/instrumented"

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
DICOM_UID = "urn:dicom:uid"

REGION_SNOMED = {"122494005": "cervical", "122495006": "thoracic", "122496007": "lumbar"}
COMORBIDITY_SNOMED = {
    "73211009": "diabetes", "44054006": "diabetes", "46635009": "diabetes",
    "363346000": "cancer_history", "64859006": "osteoporosis", "77176002": "smoker",
}
MODALITY_DICOM = {"MR": "mri", "CT": "ct", "CR": "xray", "DX": "xray"}
# LOINC lab/vital codes -> (finding path, unit conversions to the Referral's unit)
LOINC_FINDINGS: dict[str, tuple[str, dict[str, float]]] = {
    "8310-5": ("red_flags.fever_c", {"Cel": 1.0}),  # body temperature
    "1988-5": ("red_flags.crp_mg_l", {"mg/L": 1.0, "mg/dL": 10.0}),  # C reactive protein
    "4537-7": ("red_flags.esr_mm_h", {"mm/h": 1.0, "mm/hr": 1.0}),  # ESR by Westergren
    "30341-2": ("red_flags.esr_mm_h", {"mm/h": 1.0, "mm/hr": 1.0}),  # ESR
}
FAHRENHEIT = "[degF]"

_SCALAR_SECTIONS: dict[str, type[BaseModel]] = {
    "symptoms": Symptoms, "timeline": Timeline, "neuro_exam": NeuroExam,
    "red_flags": RedFlags, "comorbidities": Comorbidities,
}
GROUP_FINDINGS = ("instruments.start_back", "instruments.waddell")  # components = sub-fields
SECTION_FINDINGS = ("instruments.odi_sections", "instruments.ndi_sections")  # components 1..10
LIST_ITEM_FINDINGS = ("diagnostic_blocks",)  # one Observation per item, components = fields
IMAGING_FINDING_PREFIX = "imaging.findings."


def _is_list(annotation: Any) -> bool:
    return list in {typing.get_origin(a) for a in (annotation, *typing.get_args(annotation))}


def _model_in(annotation: Any) -> type[BaseModel]:
    """The model class inside an optional annotation such as `StartBack | None`."""
    return next(
        a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)
    )


def _scalar_findings() -> dict[str, bool]:
    """Finding code -> True if the field is a list (each Observation adds to it)."""
    table = {"age": False, "instruments.dn4": False}
    for section, model in _SCALAR_SECTIONS.items():
        for name, info in model.model_fields.items():
            table[f"{section}.{name}"] = _is_list(info.annotation)
    return table


SCALAR_FINDINGS: dict[str, bool] = _scalar_findings()
IMAGING_FINDINGS: tuple[str, ...] = tuple(
    IMAGING_FINDING_PREFIX + name for name in ImagingFindings.model_fields
)
INSTRUMENT_GROUP_FIELDS: dict[str, tuple[str, ...]] = {
    code: tuple(_model_in(Instruments.model_fields[code.split(".")[1]].annotation).model_fields)
    for code in GROUP_FINDINGS
}
