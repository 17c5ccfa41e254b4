"""FHIR R4 bundles -> Referral: each resource kind, reference styles, unmapped content, refusals."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from schemas.referral import Referral
from services.intake.domain.decisions import referral_as_sent_by
from services.intake.fhir.bundle import FhirRejected, load_bundle
from services.intake.fhir.mapping import MappedBundle, map_bundle
from services.intake.fhir.profile import FINDING_SYSTEM, VALUE_SYSTEM
from tests.unit.intake.intake_builders import NOW

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "fhir"
TWINS = [
    "fbss-recurrent-disc.message", "pre-surgery-fusion.document", "facet-no-imaging.collection"
]


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def mapped(bundle: dict[str, Any], content_type: str | None = None) -> MappedBundle:
    return map_bundle(load_bundle(json.dumps(bundle).encode(), content_type=content_type), now=NOW)


def rejected(bundle: object, content_type: str | None = None) -> FhirRejected:
    with pytest.raises(FhirRejected) as info:
        map_bundle(load_bundle(json.dumps(bundle).encode(), content_type=content_type), now=NOW)
    return info.value


def resource(bundle: dict[str, Any], resource_type: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    )
    return found


def twin_of(name: str) -> Referral:
    return Referral.model_validate_json((FIXTURES / f"{name.split('.')[0]}.referral.json")
                                        .read_text())


@pytest.mark.parametrize("name", TWINS)
def test_spine_fixture_maps_to_its_json_twin(name: str) -> None:
    twin = twin_of(name)
    result = mapped(fixture(name))
    assert result.action == "submit" and result.referral is not None
    assert twin.referrer is not None
    assert referral_as_sent_by(result.referral, twin.referrer.id) == twin


def test_transaction_bundle_maps_like_the_collection() -> None:
    bundle = fixture("facet-no-imaging.collection")
    bundle["type"] = "transaction"
    for entry in bundle["entry"]:
        entry["request"] = {"method": "POST", "url": entry["resource"]["resourceType"]}
    result = mapped(bundle)
    assert result.referral is not None
    assert referral_as_sent_by(result.referral, "ref-north-gp") == twin_of("facet-no-imaging")


def test_unmapped_resources_are_reported_with_their_paths() -> None:
    result = mapped(fixture("fbss-recurrent-disc.message"))
    assert result.unmapped == [
        # Path and reason only: codes, units and URLs are the sender's values (F11).
        "Bundle.entry[29].resource (Observation code is not in the spine profile)",
        "Bundle.entry[30].resource (Encounter is not used by the spine profile)",
    ]


def test_unmapped_elements_and_extensions_of_mapped_resources_are_reported() -> None:
    bundle = fixture("fbss-recurrent-disc.message")
    patient = resource(bundle, "Patient")
    patient["telecom"] = [{"system": "phone", "value": "01234 567890"}]
    patient["extension"].append({"url": "https://example.org/ethnicity", "valueString": "x"})
    result = mapped(bundle)
    assert "Bundle.entry[2].resource.telecom" in result.unmapped
    assert any(u.startswith("Bundle.entry[2].resource.extension[1]") for u in result.unmapped)


def test_not_active_comorbidity_is_reported_not_set() -> None:
    result = mapped(fixture("pre-surgery-fusion.document"))
    assert result.referral is not None and result.referral.comorbidities.osteoporosis is False
    assert result.unmapped == ["Bundle.entry[19].resource (comorbidity osteoporosis not active)"]


def test_relative_reference_resolves_to_an_entry_with_urn_uuid_full_url() -> None:
    bundle = fixture("facet-no-imaging.collection")
    patient = resource(bundle, "Patient")
    patient["id"] = "pat-42"
    resource(bundle, "ServiceRequest")["subject"] = {"reference": "Patient/pat-42"}
    result = mapped(bundle)
    assert result.referral is not None and result.referral.patient.pseudonym == "PSN-FACET-3"


def test_dangling_subject_leaves_required_fields_missing_naming_their_source() -> None:
    bundle = fixture("facet-no-imaging.collection")
    resource(bundle, "ServiceRequest")["subject"] = {"reference": "Patient/not-here"}
    error = rejected(bundle)
    assert error.status == 422
    fields = {e["field"]: e["path"] for e in error.errors or []}
    assert fields == {"age": "Patient.birthDate, or an Observation coded `age`",
                      "sex": "Patient.gender (male, female or other)"}


def test_invalid_enum_value_names_the_fhir_path_and_the_field() -> None:
    bundle = fixture("facet-no-imaging.collection")
    pain = bundle["entry"][3]["resource"]
    pain["valueCodeableConcept"] = {"coding": [{"system": VALUE_SYSTEM, "code": "everywhere"}]}
    error = rejected(bundle)
    assert [(e["path"], e["field"]) for e in error.errors or []] == [
        ("Bundle.entry[3].resource", "symptoms.pain_distribution")
    ]


def test_duplicate_finding_keeps_the_first_and_reports_the_second() -> None:
    bundle = fixture("facet-no-imaging.collection")
    bundle["entry"].append(copy.deepcopy(bundle["entry"][5]))  # neuro_exam.facet_loading_positive
    bundle["entry"][-1]["resource"]["valueBoolean"] = False
    bundle["entry"][-1]["fullUrl"] += "-2"  # its own resource (one fullUrl, one resource: bdl-7)
    result = mapped(bundle)
    assert result.referral is not None and result.referral.neuro_exam.facet_loading_positive
    assert result.unmapped == [
        "Bundle.entry[9].resource (duplicate neuro_exam.facet_loading_positive; "
        "Bundle.entry[5].resource kept)"
    ]


def test_imaging_finding_without_a_study_is_reported() -> None:
    bundle = fixture("facet-no-imaging.collection")
    code = {"coding": [{"system": FINDING_SYSTEM, "code": "imaging.findings.sij_degeneration"}]}
    bundle["entry"].append({"resource": {
        "resourceType": "Observation", "status": "final", "code": code, "valueBoolean": True}})
    result = mapped(bundle)
    assert result.unmapped == ["Bundle.entry[9].resource (imaging finding not linked to an "
                               "ImagingStudy or report)"]


def test_revoked_service_request_is_a_cancellation() -> None:
    result = mapped(fixture("fbss-recurrent-disc.cancel.message"))
    assert (result.action, result.referral_id, result.referral) == ("cancel", "NGP-2026-0042", None)


def test_message_reason_update_is_an_update() -> None:
    bundle = fixture("fbss-recurrent-disc.message")
    bundle["entry"][0]["resource"]["reason"]["coding"][0]["code"] = "update"
    assert mapped(bundle).action == "update"


def test_validation_only_message_is_refused() -> None:
    bundle = fixture("fbss-recurrent-disc.message")
    resource(bundle, "ServiceRequest")["category"][0]["coding"][0]["code"] = "validation"
    assert "validation" in rejected(bundle).detail


def test_stu3_resource_is_refused_saying_why() -> None:
    error = rejected(fixture("stu3-referralrequest"))
    assert (error.status, error.kind) == (422, "fhir-version")
    assert "STU3" in error.detail


def test_bundle_carrying_an_stu3_profile_is_refused() -> None:
    bundle = fixture("facet-no-imaging.collection")
    resource(bundle, "Patient")["meta"] = {
        "profile": ["https://fhir.hl7.org.uk/STU3/StructureDefinition/CareConnect-Patient-1"]}
    assert rejected(bundle).kind == "fhir-version"


def test_declared_non_r4_fhir_version_is_refused() -> None:
    error = rejected(fixture("facet-no-imaging.collection"),
                     content_type="application/fhir+json; fhirVersion=3.0")
    assert (error.status, error.kind) == (415, "fhir-version")


def test_non_bundle_resource_is_refused_saying_what_to_send() -> None:
    error = rejected(resource(fixture("facet-no-imaging.collection"), "ServiceRequest"))
    assert error.status == 422 and "expected a Bundle, got ServiceRequest" in error.detail


@pytest.mark.parametrize("bundle_type", ["searchset", "history", "batch-response"])
def test_other_bundle_types_are_refused(bundle_type: str) -> None:
    bundle = fixture("facet-no-imaging.collection")
    bundle["type"] = bundle_type
    assert f"Bundle.type {bundle_type}" in rejected(bundle).detail


def test_r4_violation_names_the_element() -> None:
    bundle = fixture("facet-no-imaging.collection")
    del resource(bundle, "Procedure")["status"]
    error = rejected(bundle)
    assert error.kind == "fhir-invalid"
    assert [e["path"] for e in error.errors or []] == ["Bundle.entry[2].resource.status"]


def test_bundle_without_a_service_request_is_refused() -> None:
    bundle = fixture("facet-no-imaging.collection")
    bundle["entry"] = [e for e in bundle["entry"]
                       if e["resource"]["resourceType"] != "ServiceRequest"]
    assert "found 0 referral ServiceRequests" in rejected(bundle).detail


@pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b'{"no": "resourceType"}'])
def test_non_fhir_payloads_are_refused(payload: bytes) -> None:
    with pytest.raises(FhirRejected) as info:
        load_bundle(payload)
    assert info.value.status in (400, 422)
