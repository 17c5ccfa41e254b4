"""Cervical and thoracic referrals (blind_regions.txt): concepts kept to a region, and the arm's
radicular pain, myelopathy and injury words a neck referral uses."""

from __future__ import annotations

from datetime import date

import pytest

from schemas.referral import Referral
from services.triage.engine import triage_referral
from services.triage.engine.text.lexicon import lexicon, load_lexicon
from tests.unit.triage.text.test_text_blind_narratives import CERVICAL
from tests.unit.triage.text.test_text_narratives import BASE

RECEIVED = date(2026, 11, 27)


def urgency(base: dict, text: str) -> tuple[str, list[str]]:
    result = triage_referral(Referral.model_validate({**base, "clinical_question": text}),
                             as_of=RECEIVED)
    return result.urgency, [r.rule_id for r in result.fired_rules]


def test_new_pain_down_both_arms_is_rf2_in_a_cervical_referral_only() -> None:
    text = "Since 18/11 new shooting pain down both arms into the thumbs, 7/10."
    assert urgency(CERVICAL, text) == ("emergency", ["RF2_CES_suspected_bilateral"])
    assert urgency(BASE, text)[0] == "routine"  # lumbar: another complaint, not radicular


@pytest.mark.parametrize("text", [
    "Tingling in both arms for years, unchanged.",
    "Pain in both arms due to bilateral carpal tunnel syndrome.",
])
def test_old_or_explained_arm_symptoms_are_no_rf2(text: str) -> None:
    assert "RF2_CES_suspected_bilateral" not in urgency(CERVICAL, text)[1]


def test_a_region_outside_the_schemas_is_refused_when_loading(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "lexicon.yaml"
    bad.write_text('version: "t"\nmax_text_chars: 100\nconcepts:\n  x:\n    regions: [sacral]\n'
                   "    phrases: [x]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="regions"):
        load_lexicon(bad, set())
    assert lexicon().concepts["bilateral_arm_radicular"].regions == {"cervical"}


@pytest.mark.parametrize("text", [
    "Background: breast cancer 2019. Night pain. Husband says she is walking like she's drunk.",
    "Background: breast cancer 2019. Night pain. O/E Hoffmann's positive R>L.",
    "Background: breast cancer 2019. Night pain. She keeps dropping things; unable to tandem walk.",
])
def test_myelopathy_in_lay_and_exam_words_makes_rf8_an_emergency(text: str) -> None:
    assert urgency(CERVICAL, text) == ("emergency", ["RF8_malignancy_suspected"])


@pytest.mark.parametrize("text", [
    "She dived into the shallow end of a pool 3 days ago and hit her head.",
    "Cyclist knocked off bike by a car at ~30 mph on 25/11, thrown over the bonnet.",
    "Cancelled last session as she was thrown from her horse on 21/11.",
])
def test_cervical_injuries_are_high_energy_trauma(text: str) -> None:
    assert urgency(CERVICAL, text) == ("emergency", ["RF9_fracture_high_energy"])


def test_diving_as_a_pastime_is_no_injury() -> None:
    assert urgency(CERVICAL, "She enjoys diving in the shallow end with her grandchildren.")[0] \
        == "routine"


@pytest.mark.parametrize("text", [
    "R arm-dominant pain 8/10 radiating to the middle finger. MRI: right foraminal stenosis "
    "compressing the exiting C7 root, concordant.",
    "L arm pain 7/10 > neck pain. MRI: L C6/7 foraminal disc protrusion compressing the L C7 "
    "root, concordant.",
])
def test_arm_dominant_pain_with_concordant_root_compression_is_soon(text: str) -> None:
    assert urgency(CERVICAL, text) == ("soon", ["MOD_limb_pain_concordant_compression"])


def test_an_old_unchanged_fracture_is_no_new_fracture() -> None:
    assert urgency(CERVICAL, "Osteoporosis. Old T8 wedge fracture from 2019, unchanged.")[0] \
        == "routine"
