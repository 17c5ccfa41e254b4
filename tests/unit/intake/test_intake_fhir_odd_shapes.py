"""Odd shapes of FHIR bundles: each is mapped as R4 means it or refused naming the element
that makes it so, never read as something else."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from services.intake.fhir.values import referral_day
from tests.unit.intake.test_intake_fhir_mapping import fixture, mapped, rejected


def test_a_fullurl_used_twice_is_422_naming_the_second_entry() -> None:
    """bdl-7. A Patient under the ServiceRequest's fullUrl was read as the ServiceRequest's
    (422 'Patient.birthDate missing'); a Practitioner under the PractitionerRole's was passed
    over for the requester without a word."""
    bundle = fixture("fbss-recurrent-disc.message")
    same_as_request = copy.deepcopy(bundle)
    same_as_request["entry"][2]["fullUrl"] = same_as_request["entry"][1]["fullUrl"]
    refused = rejected(same_as_request)
    assert refused.status == 422 and refused.errors == [
        {"path": "Bundle.entry[2].fullUrl",
         "message": "fullUrl already used by an earlier entry (bdl-7)"}]
    bundle["entry"][4]["fullUrl"] = bundle["entry"][3]["fullUrl"]
    assert [e["path"] for e in rejected(bundle).errors or []] == ["Bundle.entry[4].fullUrl"]


def test_two_versions_of_one_resource_under_one_fullurl_are_r4() -> None:
    bundle = fixture("fbss-recurrent-disc.message")
    extra = copy.deepcopy(bundle["entry"][30])  # the Encounter, which no mapper reads
    bundle["entry"][30]["resource"]["meta"] = {"versionId": "1"}
    extra["resource"]["meta"] = {"versionId": "2"}
    bundle["entry"].append(extra)
    assert mapped(bundle).referral is not None


def test_a_partial_authored_on_counts_from_the_day_received_within_its_period() -> None:
    """authoredOn "2026" (valid R4) was read as 1 January: the MRI of 25 February (referral
    received 2 March) was 'in the future', a 422 on imaging.weeks_ago."""
    full = mapped(fixture("fbss-recurrent-disc.message")).referral
    for partial in ("2026", "2026-03"):
        bundle = fixture("fbss-recurrent-disc.message")
        bundle["entry"][1]["resource"]["authoredOn"] = partial
        referral = mapped(bundle).referral
        assert referral is not None and full is not None
        assert referral.imaging == full.imaging and referral.surgeries == full.surgeries


def test_referral_day_of_partial_dates_stays_in_their_period() -> None:
    received = date(2026, 3, 2)
    assert referral_day("2025", received) == date(2025, 12, 31)
    assert referral_day("2026-02", received) == date(2026, 2, 28)
    assert referral_day("2026-12", received) == date(2026, 12, 1)
    assert referral_day("2024-02", received) == date(2024, 2, 29)
    assert referral_day("9999-12", received) == date(9999, 12, 1)
    assert referral_day(None, received) == received
    assert referral_day(date(2026, 1, 5), received) == date(2026, 1, 5)


def _contain(bundle: dict[str, Any], container: int, contained: int, element: str) -> None:
    """Move entry `contained` into entry `container`, referenced from its `element` as #id."""
    inner = bundle["entry"].pop(contained)["resource"]
    inner["id"] = f"c{contained}"
    bundle["entry"][container]["resource"].setdefault("contained", []).append(inner)
    bundle["entry"][container]["resource"][element] = {"reference": f"#c{contained}"}


def test_a_contained_patient_and_requester_are_read_through_their_local_reference() -> None:
    full = mapped(fixture("fbss-recurrent-disc.message")).referral
    bundle = fixture("fbss-recurrent-disc.message")
    _contain(bundle, 1, 5, "requester")  # the Organization: requester of the ServiceRequest
    _contain(bundle, 1, 2, "subject")  # the Patient
    result = mapped(bundle)
    assert result.referral is not None and full is not None
    assert result.referral.patient == full.patient and result.referral.age == full.age
    assert result.referral.referrer == full.referrer.model_copy(update={"contact_name": None})


def test_a_local_reference_two_containers_share_is_not_guessed() -> None:
    bundle = fixture("fbss-recurrent-disc.message")
    twin = copy.deepcopy(bundle["entry"][2]["resource"])
    _contain(bundle, 1, 2, "subject")
    twin["id"] = "c2"
    bundle["entry"][5]["resource"]["contained"] = [twin]  # an Organization holding a "#c2"
    assert rejected(bundle).status == 422  # no Patient: refused, never read from the wrong one
