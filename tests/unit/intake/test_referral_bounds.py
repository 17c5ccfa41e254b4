"""Every list and string of the referral contract has a cap of its own (not only the 1 MiB body),
and the FHIR mapping refuses past it naming the element: patient identifiers first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.referral import MAX_PATIENT_IDENTIFIERS, Referral
from services.intake.fhir.profile import DIRECTORY_ID_SYSTEM
from tests.unit.intake.intake_builders import referral_body
from tests.unit.intake.test_intake_fhir_mapping import fixture, mapped, rejected, resource


def identifiers(count: int, *, system: str = "https://north-gp.example/ids",
        value_chars: int = 0) -> list[dict[str, str]]:
    return [{"system": system, "value": f"id-{i}".ljust(value_chars, "9")}
            for i in range(count)]


def surgery(**fields: Any) -> list[dict[str, Any]]:
    return [{"procedure": "microdiscectomy", "weeks_before_referral": 40} | fields]


def proposed(**fields: Any) -> dict[str, Any]:
    return {"procedure": "L4-L5 fusion"} | fields


def study(**fields: Any) -> list[dict[str, Any]]:
    return [{"modality": "mri"} | fields]


# (the body's field path, a body at the cap, a body one past it)
CAPPED: list[tuple[str, Callable[[int], dict[str, Any]]]] = [
    ("patient.identifiers", lambda n: {"patient": {"identifiers": identifiers(n)}}),
    ("patient.identifiers.0.value",
     lambda n: {"patient": {"identifiers": identifiers(1, value_chars=n)}}),
    ("surgeries.0.levels", lambda n: {"surgeries": surgery(levels=["L4-L5"] * n)}),
    ("surgeries.0.levels.0", lambda n: {"surgeries": surgery(levels=["L" * n])}),
    ("surgeries.0.surgeon_id", lambda n: {"surgeries": surgery(surgeon_id="s" * n)}),
    ("surgeries.0.institution_id", lambda n: {"surgeries": surgery(institution_id="i" * n)}),
    ("surgeries.0.group_id", lambda n: {"surgeries": surgery(group_id="g" * n)}),
    ("proposed_surgery.levels", lambda n: {"proposed_surgery": proposed(levels=["L5"] * n)}),
    ("proposed_surgery.levels.0", lambda n: {"proposed_surgery": proposed(levels=["L" * n])}),
    ("proposed_surgery.surgeon_id",
     lambda n: {"proposed_surgery": proposed(surgeon_id="s" * n)}),
    ("proposed_surgery.institution_id",
     lambda n: {"proposed_surgery": proposed(institution_id="i" * n)}),
    ("proposed_surgery.group_id", lambda n: {"proposed_surgery": proposed(group_id="g" * n)}),
    ("symptoms.character", lambda n: {"symptoms": {"character": ["burning"] * n}}),
    ("symptoms.aggravators", lambda n: {"symptoms": {"aggravators": ["flexion_sitting"] * n}}),
    ("neuro_exam.motor_deficit_myotome",
     lambda n: {"neuro_exam": {"motor_deficit_myotome": "L" * n}}),
    ("imaging.0.study_uid", lambda n: {"imaging": study(study_uid="1" * n)}),
    ("imaging.0.reporting_radiologist_id",
     lambda n: {"imaging": study(reporting_radiologist_id="r" * n)}),
    ("imaging.0.institution_id", lambda n: {"imaging": study(institution_id="i" * n)}),
    ("diagnostic_blocks.0.level",
     lambda n: {"diagnostic_blocks": [{"type": "sij", "level": "L" * n, "relief_pct": 80}]}),
    ("related_case_ids.0", lambda n: {"related_case_ids": ["c" * n]}),
]
CAPS = {
    "patient.identifiers": MAX_PATIENT_IDENTIFIERS, "patient.identifiers.0.value": 100,
    "surgeries.0.levels": 30, "surgeries.0.levels.0": 200, "proposed_surgery.levels": 30,
    "proposed_surgery.levels.0": 200, "symptoms.character": 20, "symptoms.aggravators": 20,
    "neuro_exam.motor_deficit_myotome": 200, "imaging.0.study_uid": 64,
    "diagnostic_blocks.0.level": 200, "related_case_ids.0": 100,
}  # the rest are directory ids: 64, as in the directory itself


@pytest.mark.parametrize(("path", "body_with"), CAPPED, ids=[p for p, _ in CAPPED])
def test_each_list_and_string_is_refused_one_past_its_cap(
    path: str, body_with: Callable[[int], dict[str, Any]],
) -> None:
    cap = CAPS.get(path, 64)
    Referral.model_validate(referral_body(**body_with(cap)))
    with pytest.raises(ValidationError) as info:
        Referral.model_validate(referral_body(**body_with(cap + 1)))
    assert [".".join(str(p) for p in e["loc"]) for e in info.value.errors()] == [path]


def with_patient_identifiers(extra: list[dict[str, str]]) -> dict[str, Any]:
    bundle = fixture("fbss-recurrent-disc.message")  # Patient at entry 2: NHS number, pseudonym
    patient = resource(bundle, "Patient")
    patient["identifier"] = [*patient["identifier"], *extra]
    return bundle


def test_fhir_patient_identifiers_past_the_cap_are_refused_before_mapping() -> None:
    bundle = with_patient_identifiers(identifiers(MAX_PATIENT_IDENTIFIERS))  # NHS number + 10
    error = rejected(bundle)
    assert error.status == 422
    [issue] = error.errors or []
    assert issue["path"] == "Bundle.entry[2].resource.identifier"
    assert f"at most {MAX_PATIENT_IDENTIFIERS}" in issue["message"]


def test_fhir_patient_identifiers_at_the_cap_map_and_the_pseudonym_is_not_counted() -> None:
    bundle = with_patient_identifiers(identifiers(MAX_PATIENT_IDENTIFIERS - 1))
    result = mapped(bundle)
    assert result.referral is not None
    assert len(result.referral.patient.identifiers) == MAX_PATIENT_IDENTIFIERS
    assert result.referral.patient.pseudonym == "PSN-7Q2K"


@pytest.mark.parametrize(("identifier", "field"), [
    ({"system": "https://north-gp.example/ids", "value": "9" * 101}, "value"),
    ({"system": "https://north-gp.example/" + "s" * 200, "value": "42"}, "system"),
])
def test_an_over_long_fhir_identifier_is_named_down_to_its_element(
    identifier: dict[str, str], field: str,
) -> None:
    bundle = with_patient_identifiers([])
    patient = resource(bundle, "Patient")
    patient["identifier"].insert(1, identifier)  # after the NHS number, before the pseudonym
    error = rejected(bundle)
    assert [(e["path"], e["field"]) for e in error.errors or []] == [
        ("Bundle.entry[2].resource.identifier[1]", f"patient.identifiers.1.{field}")]
    assert "9" * 101 not in str(error.errors)  # the value itself is never echoed


def test_an_over_long_fhir_directory_id_names_its_resource() -> None:
    bundle = fixture("fbss-recurrent-disc.message")
    surgeon = bundle["entry"][7]["resource"]  # the operating surgeon, a directory id
    assert surgeon["identifier"][0]["system"] == DIRECTORY_ID_SYSTEM
    surgeon["identifier"][0]["value"] = "x" * 65
    error = rejected(bundle)
    assert [(e["path"], e["field"]) for e in error.errors or []] == [
        ("Bundle.entry[9].resource", "surgeries.0.surgeon_id")]

