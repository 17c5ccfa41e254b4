"""Older patients and carers' referrals (blind_elderly.txt): falls as care homes write them, a
worry that ends at its full stop, a point-of-care CRP."""

from __future__ import annotations

from datetime import date

import pytest

from schemas.referral import Referral
from services.triage.engine import triage_referral
from tests.unit.triage.text.test_text_blind_narratives import ELDERLY
from tests.unit.triage.text.test_text_narratives import BASE

RECEIVED = date(2026, 11, 27)


def urgency(base: dict, text: str) -> tuple[str, list[str]]:
    result = triage_referral(Referral.model_validate({**base, "clinical_question": text}),
                             as_of=RECEIVED)
    return result.urgency, [r.rule_id for r in result.fired_rules]


@pytest.mark.parametrize("text", [
    "Night HCA note: found on the floor in her en-suite at 02:10. Back sore this morning.",
    "Missed the bottom two steps at home on 18/11 and landed on her bottom. Back pain since.",
    "She slipped off the edge of her chair reaching for the remote on Sunday. Back hurts more.",
    "During sit-to-stand practice she sat down hard on the floor. Pain in low back afterwards.",
])
def test_a_low_energy_fall_at_78_is_rf9_and_at_50_without_osteoporosis_is_not(text: str) -> None:
    assert urgency(ELDERLY, text) == ("urgent", ["RF9_fracture_low_energy"])
    assert urgency(BASE, text)[0] == "routine"


def test_a_relatives_worry_ends_at_its_full_stop() -> None:
    text = ("Daughter concerned. 78F has lost about a stone and a half since the summer without "
            "dieting. Back pain keeps her awake every night.")
    assert urgency(ELDERLY, text) == ("urgent", ["RF8_malignancy_suspected"])


def test_a_point_of_care_crp_in_brackets_is_read() -> None:
    text = "T 38.4. CRP (point of care) 96. Wound clean."
    assert urgency(ELDERLY, text) == ("emergency", ["RF5_postop_infection_systemic"])
