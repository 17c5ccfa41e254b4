"""A rolling update from a release whose registry refuses `received_at` (strict parsing: an older
worker skips every case record a newer one writes and decides as if the case were unknown).
With INTAKE_REGISTRY_RECEIVED_AT=false a worker of this release writes case records the older
one still reads, and applies to itself exactly what it wrote."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from schemas.topics import INTAKE_REGISTRY
from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from tests.intake.intake_fakes import FakeIntakeLog, bearer
from tests.unit.intake.intake_builders import referral_body

NORTH = bearer("ref-north-gp")


def written_cases(received_at: bool) -> tuple[list[dict], object]:
    log = FakeIntakeLog()
    app = create_app(IntakeSettings(rate_limit_burst=10_000, registry_received_at=received_at),
                     log=log)
    with TestClient(app) as client:
        posted = client.post("/referrals", json=referral_body(), headers=NORTH)
        assert posted.status_code == 202
        case_id = posted.json()["case_id"]
        assert client.put(f"/referrals/{case_id}", json=referral_body(age=53),
                          headers=NORTH).status_code in (200, 202)
        held = app.state.intake.registry.cases[case_id]
    cases = [json.loads(r.value) for r in log.records
             if r.topic == INTAKE_REGISTRY and r.key.startswith("case/")]
    return cases, held


def test_case_records_carry_received_at_by_default() -> None:
    cases, held = written_cases(received_at=True)
    assert len(cases) == 2 and all(c["received_at"] for c in cases)
    assert held.received_at is not None  # type: ignore[attr-defined]


def test_during_a_roll_from_an_older_release_case_records_leave_it_out() -> None:
    cases, held = written_cases(received_at=False)
    # what the older release's strict model reads: no key it does not know, not even as null
    assert len(cases) == 2 and all("received_at" not in c for c in cases)
    assert held.received_at is None  # type: ignore[attr-defined]
