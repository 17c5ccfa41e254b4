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
