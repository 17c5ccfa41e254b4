"""F8, F9 and F11 on intake's FHIR endpoint: the unmapped report names paths and reasons only,
is capped, and odd bundles are 4xx, never 500 or an endless 503."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from schemas.cases import ReferralReceived
from services.intake.fhir import bundle as bundle_module
from services.intake.fhir.bundle import MAX_BUNDLE_ENTRIES, FhirRejected, load_bundle
from services.intake.fhir.draft import MAX_UNMAPPED_LINES
from tests.intake.intake_fakes import bearer, running_intake

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir"
NORTH = bearer("ref-north-gp")
FHIR_JSON = {"Content-Type": "application/fhir+json"}
SECRET = "Jane-Quinn-Doe-NHS-9434765919"


def bundle() -> dict[str, Any]:
    return json.loads((FIXTURES / "fbss-recurrent-disc.message.json").read_text())


def _patient(doc: dict[str, Any]) -> dict[str, Any]:
    return next(e["resource"] for e in doc["entry"] if e["resource"]["resourceType"] == "Patient")


def test_unmapped_report_never_echoes_values() -> None:
    # F11: extension URLs and values, units and codes were copied into intake.registry.v1.
    doc = bundle()
    _patient(doc).setdefault("extension", []).append(
        {"url": f"https://example.org/{SECRET}", "valueString": SECRET})
    for entry in doc["entry"]:
        quantity = entry["resource"].get("valueQuantity")
        if quantity is not None:
            quantity.update(unit=SECRET, code=SECRET)
    with running_intake() as (client, log):
        response = client.post("/fhir/Bundle", content=json.dumps(doc), headers=NORTH | FHIR_JSON)
    assert response.status_code == 202, response.text
    unmapped = response.json()["unmapped"]
    assert any(".extension[" in line for line in unmapped)
    assert SECRET not in json.dumps(unmapped)
    [event] = log.events()
    assert isinstance(event, ReferralReceived) and SECRET not in json.dumps(event.unmapped)
    registry = [r for r in log.records if r.topic != "referral.events.v1"]
    assert registry and all(SECRET.encode() not in (r.value or b"") for r in registry)


def test_a_huge_unmapped_report_is_capped_not_a_503_forever() -> None:
    # F8: under the 1 MiB body limit, yet its unmapped report outgrew Kafka's message size.
    doc = bundle()
    _patient(doc)["extension"] = [{"url": f"https://example.org/{i}/" + "x" * 300,
                                   "valueString": "y"} for i in range(2500)]
    body = json.dumps(doc)
    assert len(body) < 1024 * 1024
    with running_intake() as (client, log):
        response = client.post("/fhir/Bundle", content=body, headers=NORTH | FHIR_JSON)
    assert response.status_code == 202, response.text
    unmapped = response.json()["unmapped"]
    assert len(unmapped) == MAX_UNMAPPED_LINES + 1 and "more unmapped" in unmapped[-1]
    assert max(len(r.value or b"") for r in log.records) < 256 * 1024


def test_deeply_nested_or_huge_number_bundles_are_422() -> None:
    # F9: RecursionError and the int-conversion limit were 500s.
    deep = '{"resourceType": "Bundle", "x": ' + "[" * 5000 + "]" * 5000 + "}"
    doc = bundle()
    doc["entry"][0]["resource"]["x"] = 1
    digits = json.dumps(doc).replace('"x": 1', '"x": ' + "7" * 5000)
    with running_intake() as (client, _):
        nested = client.post("/fhir/Bundle", content=deep, headers=NORTH | FHIR_JSON)
        huge = client.post("/fhir/Bundle", content=digits, headers=NORTH | FHIR_JSON)
    assert nested.status_code == 422 and "nesting" in nested.text
    assert huge.status_code == 422 and "numbers" in huge.text


@pytest.mark.parametrize("content_type", ["APPLICATION/FHIR+JSON", "Application/Json",
                                          "application/FHIR+JSON; fhirVersion=4.0"])
def test_deep_or_huge_number_bundles_are_422_whatever_the_media_type_case(
    content_type: str,
) -> None:
    # The guard matched "json" case-sensitively while the route lower-cased the media type,
    # so these reached json.loads unchecked: RecursionError and the int limit were 500s.
    deep = '{"resourceType": "Bundle", "x": ' + "[" * 5000 + "]" * 5000 + "}"
    digits = '{"resourceType": "Bundle", "type": "message", "x": ' + "7" * 5000 + "}"
    headers = NORTH | {"Content-Type": content_type}
    with running_intake() as (client, log):
        nested = client.post("/fhir/Bundle", content=deep, headers=headers)
        huge = client.post("/fhir/Bundle", content=digits, headers=headers)
    for response in (nested, huge):
        assert response.status_code == 422, response.text
        assert response.json()["resourceType"] == "OperationOutcome"
    assert "nesting" in nested.text and "numbers" in huge.text
    assert log.records == []


def test_load_bundle_answers_unreadable_json_itself() -> None:
    # A backstop behind the guard: whatever reaches the parser unchecked is a 422, never a 500.
    huge_number = b'{"resourceType": "Bundle", "x": ' + b"7" * 5000 + b"}"
    for raw in (b"[" * 5000 + b"]" * 5000, huge_number):
        with pytest.raises(FhirRejected) as rejected:
            load_bundle(raw)
        assert rejected.value.status == 422 and rejected.value.kind == "json"


def with_entries(total: int) -> dict[str, Any]:
    """The fixture message padded with tiny Basic resources (the review's shape) to `total`."""
    doc = bundle()
    filler = {"resource": {"resourceType": "Basic", "code": {}}}
    doc["entry"] += [filler] * (total - len(doc["entry"]))
    return doc


def test_more_entries_than_the_cap_is_413_naming_bundle_entry() -> None:
    # Review 18: 19,525 tiny entries fit in 1 MiB and cost up to 1.5 s of validation each.
    with running_intake() as (client, log):
        over = client.post("/fhir/Bundle", content=json.dumps(with_entries(MAX_BUNDLE_ENTRIES + 1)),
                           headers=NORTH | FHIR_JSON)
        at_cap = client.post("/fhir/Bundle", content=json.dumps(with_entries(MAX_BUNDLE_ENTRIES)),
                             headers=NORTH | FHIR_JSON)
    assert over.status_code == 413, over.text
    assert over.headers["content-type"] == "application/fhir+json"
    [issue] = over.json()["issue"]
    assert issue["code"] == "too-costly" and issue["expression"] == ["Bundle.entry"]
    assert f"at most {MAX_BUNDLE_ENTRIES}" in issue["details"]["text"]
    assert at_cap.status_code == 202, at_cap.text
    [event] = log.events()  # only the bundle at the cap was written
    assert isinstance(event, ReferralReceived)


def test_the_entry_cap_is_checked_before_fhir_resources_validates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def validate(data: dict[str, Any]) -> None:
        raise AssertionError("the bundle reached fhir.resources")

    monkeypatch.setattr(bundle_module, "_validated", validate)
    with pytest.raises(FhirRejected) as refused:
        load_bundle(json.dumps(with_entries(19_525)).encode())
    assert refused.value.status == 413 and refused.value.kind == "fhir-too-costly"
    assert [e["path"] for e in refused.value.errors or []] == ["Bundle.entry"]
