"""A FHIR referral without ServiceRequest.authoredOn (0..1 in R4) is dated by the day intake
receives it: its weeks_ago and weeks_before_referral count to that day. A resend of the same
bundle on a later day (a retry after a 503 whose write had landed, or a client's nightly
re-submission) mapped to other week counts, so another body hash: 409 instead of the replay,
under its Idempotency-Key too. A resend is now dated by the day the case was opened."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from tests.intake.intake_fakes import NOW, FakeIntakeLog, bearer
from tests.intake.test_intake_fhir_api import fixture_bytes

NORTH = bearer("ref-north-gp") | {"Content-Type": "application/fhir+json"}


def test_a_resend_without_authored_on_replays_on_a_later_day() -> None:
    bundle = json.loads(fixture_bytes("fbss-recurrent-disc.message"))
    del bundle["entry"][1]["resource"]["authoredOn"]
    body = json.dumps(bundle)
    clock = [NOW]

    def now() -> datetime:
        return clock[0]

    log = FakeIntakeLog()
    app = create_app(IntakeSettings(rate_limit_burst=10_000), log=log, clock=now)
    with TestClient(app) as client:
        first = client.post("/fhir/Bundle", content=body, headers=NORTH | {"Idempotency-Key": "k"})
        assert first.status_code == 202, first.text
        written = len(log.records)
        clock[0] = NOW + timedelta(days=10)
        retry = client.post("/fhir/Bundle", content=body, headers=NORTH | {"Idempotency-Key": "k"})
        resend = client.post("/fhir/Bundle", content=body, headers=NORTH)
    assert retry.status_code == 200, retry.text
    assert resend.status_code == 200, resend.text
    assert retry.json() == resend.json() == first.json() and len(log.records) == written
