"""Pain scores and stability read across sentences (lexicon 2026.11.29-6): a leg score above the
back score is leg-dominant pain, and a next sentence that says only that "it" is unchanged makes
a new deficit stable. Each reading is shown with the words it came from."""

from __future__ import annotations

import pytest

from services.triage.engine.text.lexicon import lexicon
from services.triage.engine.text.reading import read_texts


def mentions(text: str) -> dict[str, list[tuple[str, str | None]]]:
    out: dict[str, list[tuple[str, str | None]]] = {}
    for m in read_texts([("clinical_question", text)], lexicon()).mentions:
        out.setdefault(m.concept, []).append((m.span, m.reason))
    return out


@pytest.mark.parametrize(("text", "dominance"), [
    ("R leg pain 9/10, worse in the evening; back (3/10).", "leg_dominant_pain"),
    ("Back 5/10, leg 4/10.", "back_dominant_pain"),
    ("Back pain 3 out of 10. Leg pain is back and really bad, like 8 out of 10.",
     "leg_dominant_pain"),
])
def test_a_leg_score_against_a_back_score_says_which_dominates(text: str, dominance: str) -> None:
    found = mentions(text)
    assert [reason for _, reason in found[dominance]] == [None]
    assert " … " in found[dominance][0][0]  # quotes both scores
    other = {"leg_dominant_pain", "back_dominant_pain"} - {dominance}
    assert not other & found.keys()


@pytest.mark.parametrize("text", [
    "Leg 6/10, back 6/10.",  # equal: neither
    "Leg pain 8/10. No back pain.",  # one score only
    "Back pain 3/10; no leg pain.",
])
def test_no_dominance_without_two_different_current_scores(text: str) -> None:
    found = mentions(text)
    assert "back_dominant_pain" not in found
    assert not any(" … " in span for span, _ in found.get("leg_dominant_pain", []))


def test_a_negated_limb_score_is_not_compared() -> None:
    found = mentions("No leg pain 8/10 reported. Back 3/10.")
    assert "leg_dominant_pain" not in found


@pytest.mark.parametrize(("text", "reason"), [
    ("New weakness of right EHL, MRC 4/5. It has been unchanged on repeated testing since.",
     "longstanding_or_stable"),
    ("New weakness of right EHL, MRC 4/5. The weakness has been the same since.",
     "longstanding_or_stable"),
    ("New weakness of right EHL, MRC 4/5. Back pain unchanged.", None),
    ("New weakness of right EHL, MRC 4/5. It is unchanged in the morning, worse by evening.", None),
    ("New weakness of right EHL, MRC 4/5. Bloods normal. It has been unchanged since.", None),
])
def test_stability_in_the_next_sentence_about_the_deficit(text: str, reason: str | None) -> None:
    found = mentions(text)
    assert [r for _, r in found["progressive_weakness"]] == [reason]


def test_a_full_stop_ends_a_negation_the_sentence_splitter_ran_past() -> None:
    found = mentions("c/o L leg pain 7/10 x2/12, no trauma. O/E: L EHL 4/5 since last week.")
    assert ("4/5", None) in found["motor_weakness"]


@pytest.mark.parametrize(("words", "score"), [
    ("8/10", 8), ("eight out of ten", 8), ("VAS 75 mm", 8), ("VAS 64 mm", 6), ("7.5/10", 8),
    ("L5/S1 pain 6/10", 6), ("NRS 7", 7), ("no score", None),
])
def test_a_pain_score_is_a_whole_number_out_of_ten(words: str, score: int | None) -> None:
    from services.triage.engine.text.scores import pain_score

    assert pain_score(words) == score


@pytest.mark.parametrize(("text", "limb"), [
    # a score naming no site is the leg's where the leg dominates, or the back scores lower
    ("Pain is almost all in the leg. NRS 7.", 7.0),
    ("He rates it 8/10. Back pain 3/10.", 8.0),
    ("His sciatica is far worse than his back. He says it is an 8.", 8.0),
    # ... and nobody's otherwise, or when it was the pain before
    ("He rates it 8/10.", None),
    ("He rates it 2/10. Back pain 3/10.", None),
    ("Leg far worse than back. It improved from 9/10 to 3/10.", 3.0),
])
def test_an_unattributed_score_counts_for_the_leg_only_when_the_text_says_so(
    text: str, limb: float | None
) -> None:
    found = [m for m in read_texts([("q", text)], lexicon()).mentions
             if m.concept == "limb_pain_score"]
    assert max((m.number or 0 for m in found), default=None) == limb


def limb_scores(text: str) -> list[float | None]:
    return [m.number for m in read_texts([("clinical_question", text)], lexicon()).mentions
            if m.concept == "limb_pain_score" and m.reason is None]


@pytest.mark.parametrize(("text", "limb"), [
    # the score before its site (blind_early.txt): the leg's words used to reach the back's 2
    ("Persistent left sciatica, 8/10 leg, 2/10 back.", 8),
    ("MRI: recurrent disc. 9/10 leg, 3/10 back.", 9),
])
def test_a_score_written_before_its_site_is_that_sites(text: str, limb: float) -> None:
    assert limb_scores(text) == [limb]
    assert [reason for _, reason in mentions(text)["leg_dominant_pain"]] == [None]


@pytest.mark.parametrize("text", [
    "Exactly the same pain has come back at 7/10, back 2/10.",  # back as in returned
    "Same L sciatica as pre-op back at 8/10 (back 2/10).",
    "The old sciatica is back, down the back of my left leg, 7-8/10, back is about 2.",
    "A burning pain in the top of my foot, 9/10. My back is only sore, maybe 3.",
])
def test_back_as_in_returned_and_lay_back_scores(text: str) -> None:
    found = mentions(text)
    assert [reason for _, reason in found["leg_dominant_pain"]] == [None]
    assert "back_dominant_pain" not in found


def test_a_score_between_two_sites_is_the_one_it_follows() -> None:
    """blind_elderly.txt: "leg 8/10 back 3/10" also reads as "8/10 back"; the leg keeps its 8."""
    text = "Admitted with R sciatica, leg 8/10 back 3/10. MRI: disc extrusion."
    assert limb_scores(text) == [8]
    assert [reason for _, reason in mentions(text)["leg_dominant_pain"]] == [None]


@pytest.mark.parametrize(("text", "drop"), [
    ("Weight 61kg in Aug -> 55kg today", 6.0),
    ("weight 52.4kg (was 59.6kg in July)", 7.2),
    ("wt 71.2kg (Aug 77.0kg)", 5.8),
    ("weight 60kg in May, 63 kg now", -3.0),  # a gain
    ("Weight: 74 kg today vs 81 kg in August", 7.0),  # today's first
    ("Weight 74 kg, now 70 kg", 4.0),  # "now" with the second
])
def test_two_weights_give_the_fall_from_the_earlier(text: str, drop: float) -> None:
    from services.triage.engine.text.values import weight_drop
    assert weight_drop(text) == drop


@pytest.mark.parametrize(("text", "loss"), [
    ("Weight 61kg in Aug -> 55kg today, not trying, eating ok.", True),
    ("Weight 60kg in May, 63 kg now.", False),  # a gain
    ("Weight 61kg in Aug, 60kg today.", False),  # a kilogram is the scales, not a loss
    ("wt 71.2kg (Aug 77.0kg), dieting since the summer.", False),  # explained
])
def test_a_fall_in_weight_of_two_kilograms_is_weight_loss(text: str, loss: bool) -> None:
    """With a cancer history, weight loss is RF8 (blind_malignancy.txt)."""
    from schemas.referral import Referral
    from services.triage.engine import triage_referral
    from tests.unit.triage.text.test_text_narratives import BASE
    result = triage_referral(Referral.model_validate(
        {**BASE, "clinical_question": f"Myeloma in remission. {text}"}))
    assert (result.urgency == "urgent") is loss
