"""A referral whose ReferralReceived would exceed what downstream services can forward is 413
(problem+json, OperationOutcome under /fhir) naming its size and the limit, and nothing is
written; one just under the limit is stored. The body fits the 1 MiB request limit in each case:
the cap is on the event, not the request."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fhir.resources.R4B.operationoutcome import OperationOutcome

from services.intake.fhir.profile import MODALITY_SYSTEM
from services.intake.referrals.service import MAX_REFERRAL_EVENT_BYTES
from tests.intake.intake_fakes import bearer, running_intake
from tests.unit.intake.intake_builders import referral_body

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir"
NORTH = bearer("ref-north-gp")
BODY_LIMIT = 1024 * 1024
WORDS = "the patient reports mild lumbar ache without leg symptoms "


def text(n: int) -> str:
    return (WORDS * (n // len(WORDS) + 1))[:n]


def big_referral(report_chars: int, studies: int = 50) -> dict[str, Any]:
    """/tmp/review17/big.py's referral: 50 MRI studies with long report texts."""
    imaging = [{"modality": "mri", "report_text": text(report_chars)} for _ in range(studies)]
    return referral_body(imaging=imaging)


def sizes(detail: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d{6,}", detail)]


def test_a_json_referral_over_the_event_limit_is_413_naming_both_sizes() -> None:
    body = big_referral(19_500)
    assert len(json.dumps(body)) < BODY_LIMIT
    with running_intake() as (client, log):
        response = client.post("/referrals", json=body, headers=NORTH)
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == "application/problem+json"
        size, limit = sizes(response.json()["detail"])
        assert size > limit == MAX_REFERRAL_EVENT_BYTES
        assert log.records == []
        stored = client.post("/referrals", json=big_referral(17_000), headers=NORTH)
        assert stored.status_code == 202
        case_id = stored.json()["case_id"]
        written = len(log.records)
        grown = client.put(f"/referrals/{case_id}", json=big_referral(19_500), headers=NORTH)
        assert grown.status_code == 413 and len(log.records) == written


def big_bundle(reports: int, chars: int) -> bytes:
    """The fixture message with `reports` more MR reports, each `chars` of conclusion."""
    bundle = json.loads((FIXTURES / "fbss-recurrent-disc.message.json").read_text())
    for i in range(reports):
        bundle["entry"].append({
            "fullUrl": f"urn:uuid:00000000-0000-4000-9000-{i:012d}",
            "resource": {"resourceType": "DiagnosticReport", "status": "final",
                         "code": {"coding": [{"system": MODALITY_SYSTEM, "code": "mri"}]},
                         "conclusion": text(chars)}})
    return json.dumps(bundle).encode()


def test_a_fhir_referral_over_the_event_limit_is_413_operation_outcome() -> None:
    body = big_bundle(46, 19_900)
    assert len(body) < BODY_LIMIT
    with running_intake() as (client, log):
        response = client.post("/fhir/Bundle", content=body,
                               headers=NORTH | {"Content-Type": "application/fhir+json"})
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == "application/fhir+json"
        [issue] = OperationOutcome.model_validate(response.json()).issue
        assert issue.code == "too-costly"
        size, limit = sizes(issue.diagnostics or "")
        assert size > limit == MAX_REFERRAL_EVENT_BYTES
        assert log.records == []
