"""The demo referrals under deploy/seed/referrals are accepted by intake as the demo posts them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.cases import ReferralReceived
from services.common.settings import REPO_ROOT
from tests.intake.intake_fakes import bearer, running_intake

SEEDS = sorted((REPO_ROOT / "deploy" / "seed" / "referrals").glob("*.json"))


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.stem)
def test_seed_referral_is_accepted(path: Path) -> None:
    body = json.loads(path.read_text())
    is_fhir = body.get("resourceType") == "Bundle"
    referrer = "ref-city-hospital" if is_fhir else body["referrer"]["id"]
    with running_intake() as (client, log):
        response = client.post("/fhir/Bundle" if is_fhir else "/referrals", json=body,
                               headers=bearer(referrer))
    assert response.status_code == 202, response.text
    expected_missing = ["imaging"] if "missing-imaging" in path.name else []
    assert response.json()["missing_records"] == expected_missing
    [event] = log.events()
    assert isinstance(event, ReferralReceived) and event.referral.patient.jurisdiction == "GB-ENG"


def test_seeds_cover_the_demo_story() -> None:
    texts = [p.read_text() for p in SEEDS]
    assert len(SEEDS) == 8 and sum('"resourceType": "Bundle"' in t for t in texts) == 1
    # One referral whose red flags are only written (issue 9): no red_flags or exam blocks.
    text_only = [t for p, t in zip(SEEDS, texts, strict=True) if "text-only" in p.name]
    assert len(text_only) == 1
    assert '"red_flags"' not in text_only[0] and '"neuro_exam"' not in text_only[0]
    assert sum("inst-st-elsewhere" in t for t in texts) >= 2  # the conflict-of-interest rule
    assert all(any(r in t for t in texts) for r in ("ref-north-gp", "ref-city-hospital"))
