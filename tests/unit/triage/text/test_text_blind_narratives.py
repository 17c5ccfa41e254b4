"""The blind table (blind_narratives.txt): sentences written from the brief without the lexicon
in view. Known misses are marked `gap` and must still fail, so a fix shows up here."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.referral import Referral
from services.triage.engine import triage_referral
from tests.unit.triage.text.test_text_narratives import BASE

TABLE = Path(__file__).with_name("blind_narratives.txt")


def _cases() -> list:
    cases = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        gap = line.startswith("gap ")
        expected, text = line.removeprefix("gap ").split(" || ", 1)
        marks = [pytest.mark.xfail(strict=True, reason="known gap")] if gap else []
        cases.append(pytest.param(expected, text, marks=marks, id=text[:40]))
    return cases


@pytest.mark.parametrize(("expected", "text"), _cases())
def test_blind_referral_text_gets_the_briefs_urgency(expected: str, text: str) -> None:
    result = triage_referral(Referral.model_validate({**BASE, "clinical_question": text}))
    assert result.urgency == expected, (
        [r.rule_id for r in result.fired_rules], [(s.concept, s.reason) for s in result.set_aside])
