"""Patient.birthDate in every R4 form: full, year-month, year (review 18: a partial one was a
plain-text 500, as fhir.resources keeps it as text and mapping called .isoformat() on it)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.intake.fhir.profile import FINDING_SYSTEM
from services.intake.fhir.values import age_on
from tests.unit.intake.test_intake_fhir_mapping import fixture, mapped, rejected, resource

BIRTH_DATE = "Bundle.entry[2].resource.birthDate"  # the Patient of the message fixture


def with_birth_date(born: str) -> dict[str, Any]:
    bundle = fixture("fbss-recurrent-disc.message")
    assert resource(bundle, "ServiceRequest")["authoredOn"].startswith("2026-03-02")
    resource(bundle, "Patient")["birthDate"] = born
    return bundle


@pytest.mark.parametrize(("born", "age", "birth_date"), [
    ("1975-06-15", 50, date(1975, 6, 15)),  # authored 2026-03-02: not yet 51
    ("1975-06", 50, None),  # June is after March whatever the day: still 50
    ("1975-03", 51, None),  # the referral's month: counted from the 1st, the older age
    ("1975", 51, None),  # counted from 1 January, the older age
])
def test_full_and_partial_birth_dates_give_the_age_at_authored_on(
    born: str, age: int, birth_date: date | None,
) -> None:
    result = mapped(with_birth_date(born))
    assert result.referral is not None
    assert result.referral.age == age
    assert result.referral.patient.birth_date == birth_date


def test_a_partial_birth_date_is_reported_as_not_carried_without_its_value() -> None:
    partial = mapped(with_birth_date("1975-06")).unmapped
    [line] = [line for line in partial if line.startswith(BIRTH_DATE)]
    assert "partial date" in line and "1975" not in line
    assert not any(line.startswith(BIRTH_DATE) for line in mapped(with_birth_date(
        "1975-06-15")).unmapped)


def test_an_age_observation_still_wins_over_a_partial_birth_date() -> None:
    bundle = with_birth_date("1975")
    patient = bundle["entry"][2]["fullUrl"]
    bundle["entry"].append({"fullUrl": "urn:uuid:00000000-0000-4000-8000-00000000a9e0",
                            "resource": {
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": FINDING_SYSTEM, "code": "age"}]},
        "subject": {"reference": patient},
        "valueInteger": 49}})
    result = mapped(bundle)
    assert result.referral is not None and result.referral.age == 49


@pytest.mark.parametrize(("born", "message"), [("0001", "less than"), ("9999-12", "greater")])
def test_a_valid_r4_birth_date_the_contract_refuses_is_422_naming_it(
    born: str, message: str,
) -> None:
    error = rejected(with_birth_date(born))
    assert error.status == 422
    [(path, field, text)] = [(e["path"], e["field"], e["message"]) for e in error.errors or []]
    assert (path, field) == (BIRTH_DATE, "age") and message in text


@pytest.mark.parametrize(("born", "on", "age"), [
    ("2000-02-29", date(2001, 2, 28), 0), ("2000-02-29", date(2001, 3, 1), 1),
    ("2000-12", date(2001, 11, 30), 0), ("2000-12", date(2001, 12, 1), 1),
    ("2000", date(2000, 12, 31), 0), ("2000", date(2001, 1, 1), 1),
])
def test_age_on_counts_completed_years_from_the_start_of_a_partial_date(
    born: str, on: date, age: int,
) -> None:
    assert age_on(born, on) == age
