"""A broad table of text-only referrals in clinical and lay wording, with the contexts that must
not fire (issue 9): each line of narratives.txt is `expected urgency || text`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from schemas.referral import Referral
from services.triage.engine import triage_referral

TABLE = Path(__file__).with_name("narratives.txt")
BASE = {"referral_id": "n-1", "referral_type": "post_surgery", "region": "lumbar", "age": 50,
        "sex": "F", "surgeries": [{"procedure": "discectomy", "weeks_before_referral": 20}]}
CASES = [
    tuple(line.split(" || ", 1))
    for line in TABLE.read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]


def urgency_received(text: str, **coded: Any) -> str:
    """The urgency of a BASE referral (with any `coded` fields replaced) saying `text`, received
    on 27/11/2026 (its weekdays and dates count from that day)."""
    fields: dict[str, Any] = {**BASE, **coded, "clinical_question": text}
    return triage_referral(Referral.model_validate(fields), as_of=date(2026, 11, 27)).urgency


@pytest.mark.parametrize(("expected", "text"), CASES, ids=[t[:40] for _, t in CASES])
def test_text_only_referral_gets_the_expected_urgency(expected: str, text: str) -> None:
    result = triage_referral(Referral.model_validate({**BASE, "clinical_question": text}))
    assert result.urgency == expected, (
        [r.rule_id for r in result.fired_rules], [(s.concept, s.reason) for s in result.set_aside])
    if expected == "routine":
        assert result.text_findings == [] or all(not f.rules for f in result.text_findings)
