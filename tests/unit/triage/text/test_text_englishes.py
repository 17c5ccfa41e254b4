"""Referrals in the Englishes of Scotland, South Asia, West Africa, South Africa, the Philippines
(blind englishes table, 2026-11-30): dialect negatives, "on both legs", a CRP that "come back",
a rolled vehicle, clothes wet unnoticed; and their denials, which stay denials."""

from __future__ import annotations

import pytest

from schemas.referral import Referral
from services.triage.engine import triage_referral
from tests.unit.triage.text.test_text_blind_narratives import LATE, RECEIVED


def rules(text: str) -> set[str]:
    result = triage_referral(Referral.model_validate({**LATE, "clinical_question": text}),
                             as_of=RECEIVED)
    return {r.rule_id for r in result.fired_rules}


@pytest.mark.parametrize(("text", "rule"), [
    ("When I wipe my bum I cannae feel the paper at all.", "RF1_CES_established"),
    ("He says he couldnae feel the toilet paper since Sunday.", "RF1_CES_established"),
    ("Pt verbalized numbness and pain on both legs since 4 days, getting worse.",
     "RF2_CES_suspected_bilateral"),
    ("Fever 101°F since last evening. CRP come back 86 mg/L this morning.",
     "RF5_postop_infection_systemic"),
    ("He was a passenger yesterday when the bakkie rolled on the gravel road.",
     "RF9_fracture_high_energy"),
    ("The car overturned on the highway on Monday, he was the driver.", "RF9_fracture_high_energy"),
    ("Since 3 days his clothes become wet and he doesn't know.", "RF1_CES_established"),
    ("Abhi 3 din se his urine control nahi ho raha, clothes become wet and he doesn't know.",
     "RF1_CES_established"),  # "ho raha" is no "h/o"
    ("Losing weight, 8 kg since August, not dieting. He does not sleep at all, even lying down "
     "it does not stop.", "RF8_malignancy_suspected"),
    ("MRI: cauda equina compression equivocal. Since 3 days numbness in both legs, getting worse.",
     "RF4_imaging_neural_compression"),
])
def test_world_englishes_words_for_red_flags_are_read(text: str, rule: str) -> None:
    assert rule in rules(text)


@pytest.mark.parametrize("text", [
    "Nae bother wi' the waterworks, and nae numbness roond his backside. Legs are fine.",
    "He cannae remember when the back pain started. Bladder and bowels fine.",
    "No numbness or pain on both legs. Power 5/5.",
    "Can stand on both legs, back pain 4/10, no numbness.",
    "CRP come back normal this morning, no fever.",
    "CRP come back 6 mg/L, wound clean.",
    "Denies any car rollover or fall. Back ache for months.",
    "No history of the car rolling or any accident. Back ache only.",
    "He rolled over in bed and the back went. No fall.",
    "His clothes become wet with sweat at night when the fever comes.",
    "Clothes don't get wet, he can hold his urine well.",
])
def test_world_englishes_denials_and_near_misses_fire_no_red_flag(text: str) -> None:
    assert not rules(text) & {"RF1_CES_established", "RF2_CES_suspected_bilateral",
                              "RF5_postop_infection_systemic", "RF9_fracture_high_energy"}


@pytest.mark.parametrize(("text", "rule"), [
    # a patient's question about the metalwork, answered by the X-ray
    ('He keeps asking "is one of the screws broken?" because he felt a click. X-ray today: '
     "hardware intact, no breakage or migration.", "RF10_implant_failure"),
    ("The skin round his scar has been numb since the op, he can't feel the shower water there.",
     "RF1_CES_established"),
    ("Superficial wound infection in Feb 2024, treated with flucloxacillin, healed fully.",
     "RF6_infection_suspected_non_septic"),
    ("H/o RTA in 2019 (motorbike vs car) with L1 fracture treated conservatively; healed.",
     "RF9_fracture_low_energy"),
    ("Before his 2024 operation he had some numbness around the back passage which fully went "
     "after the surgery.", "RF1_CES_established"),
    ("Pain in both legs started on 12/11/2026 after a long drive, about 5/10 each side, and it "
     "has stayed exactly the same since.", "RF2_CES_suspected_bilateral"),
    ("MRI: cauda equina compression equivocal given metal artefact. Mild ache in both thighs for "
     "over a year, unchanged.", "RF4_imaging_neural_compression"),
    ("Lost 10 kg since March on purpose. Back pain wakes him some nights.",
     "RF8_malignancy_suspected"),
    ("SIJ provocation tests 3/5 +ve, fusion solid on CT.", "RF3_progressive_or_severe_deficit"),
])
def test_questions_past_events_and_other_scores_are_no_red_flag(text: str, rule: str) -> None:
    assert rule not in rules(text)


@pytest.mark.parametrize(("text", "rule"), [
    ("CT shows the L5 screw is broken; he keeps asking is it serious.", "RF10_implant_failure"),
    ("Pain in both legs started on 20/11/2026 and it has stayed exactly the same since.",
     "RF2_CES_suspected_bilateral"),  # 7 days: within RF2's 14
    ("Pain in both legs started on 01/11/2026, got worse on Monday and has stayed the same since.",
     "RF2_CES_suspected_bilateral"),
    ("Lost 10 kg since March on his own, pain at night unremitting.", "RF8_malignancy_suspected"),
    ("Before the operation he had leg pain. Since Sunday numb bottom when wiping.",
     "RF1_CES_established"),
    ("SI joint tender. Power: EHL 3/5 since yesterday.", "RF3_progressive_or_severe_deficit"),
])
def test_their_near_misses_still_fire(text: str, rule: str) -> None:
    assert rule in rules(text)
