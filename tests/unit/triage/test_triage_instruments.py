"""Section 4 instruments: each formula and every named cut-off, plus field-naming errors."""

from __future__ import annotations

import pytest

from schemas.referral import Instruments, StartBack, Symptoms, Waddell
from services.triage.engine import triage_referral
from services.triage.engine.instruments import (
    nrs_band,
    score_dn4,
    score_instruments,
    score_ndi,
    score_odi,
    score_start_back,
    score_waddell,
)
from tests.unit.triage.builders import referral

ITEMS_1_4 = ("q1_leg_pain", "q2_shoulder_neck_pain", "q3_walk_short_distances",
             "q4_dressed_slowly")
ITEMS_5_8 = ("q5_not_safe_active", "q6_worrying_thoughts", "q7_terrible_never_better",
             "q8_not_enjoyed")


def start_back(physical: int, psych: int, q9: str = "not_at_all") -> StartBack:
    answers = dict.fromkeys(ITEMS_1_4[:physical], True) | dict.fromkeys(ITEMS_5_8[:psych], True)
    return StartBack(q9_bothersomeness=q9, **answers)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("physical", "psych", "q9", "total", "subscale", "band"),
    [
        (0, 0, "not_at_all", 0, 0, "low"),
        (3, 0, "moderately", 3, 0, "low"),  # total 3 -> low; "moderately" scores 0
        (4, 0, "slightly", 4, 0, "medium"),  # total 4, subscale 0 -> medium
        (1, 3, "not_at_all", 4, 3, "medium"),  # subscale 3 is not high
        (0, 3, "very_much", 4, 4, "high"),  # "very much" scores 1: subscale 4 -> high
        (0, 4, "extremely", 5, 5, "high"),
        (4, 4, "extremely", 9, 5, "high"),
        (2, 1, "very_much", 4, 2, "medium"),
    ],
)
def test_start_back_total_subscale_and_band(
    physical: int, psych: int, q9: str, total: int, subscale: int, band: str
) -> None:
    score = score_start_back(start_back(physical, psych, q9))
    assert (score.total, score.psychosocial_subscale, score.band) == (total, subscale, band)


def test_start_back_high_beats_low_when_total_small() -> None:
    # subscale >= 4 implies total >= 4; high is checked first regardless
    assert score_start_back(start_back(0, 4)).band == "high"


@pytest.mark.parametrize(
    ("sections", "percent", "band"),
    [
        ([0] * 10, 0.0, "minimal"),
        ([2] * 5 + [0] * 5, 20.0, "minimal"),  # 20 is the top of minimal
        ([2] * 5 + [1] + [0] * 4, 22.0, "moderate"),
        ([4] * 5 + [0] * 5, 40.0, "moderate"),
        ([3] * 7 + [0] * 3, 42.0, "severe"),
        ([3] * 10, 60.0, "severe"),
        ([4] * 10, 80.0, "crippled"),
        ([4] * 9 + [5], 82.0, "bed_bound_or_exaggerating"),
        ([5] * 10, 100.0, "bed_bound_or_exaggerating"),
    ],
)
def test_odi_percent_and_bands(sections: list[int], percent: float, band: str) -> None:
    score = score_odi(sections)
    assert score is not None
    assert (score.percent, score.band, score.sections_answered) == (percent, band, 10)


def test_odi_drops_unanswered_sections_from_denominator() -> None:
    score = score_odi([5, 5, None, None, 0, 0, 0, 0, 0, 0])
    assert score is not None
    assert score.sections_answered == 8
    assert score.percent == 25.0  # 10 / (5 x 8) x 100, not 10 / 50


def test_odi_with_nothing_answered_is_none_not_a_crash() -> None:
    assert score_odi([None] * 10) is None


@pytest.mark.parametrize("bad", [6, -1, 2.5, True])
def test_odi_out_of_range_names_the_section(bad: object) -> None:
    sections: list[object] = [0] * 10
    sections[3] = bad
    with pytest.raises(ValueError, match=r"instruments\.odi_sections\[3\]"):
        score_odi(sections)  # type: ignore[arg-type]


def test_odi_needs_ten_sections() -> None:
    with pytest.raises(ValueError, match=r"instruments\.odi_sections"):
        score_odi([1, 2, 3])


@pytest.mark.parametrize(
    ("value", "band"),
    [(0, "none"), (1, "mild"), (3, "mild"), (4, "moderate"), (6, "moderate"), (7, "severe"),
     (10, "severe")],
)
def test_nrs_bands(value: int, band: str) -> None:
    assert nrs_band(value) == band


def test_nrs_back_and_limb_scored_separately() -> None:
    scores = score_instruments(Instruments(), Symptoms(nrs_back=2, nrs_limb=8))
    assert scores.nrs is not None
    assert (scores.nrs.back_band, scores.nrs.limb_band) == ("mild", "severe")


def test_nrs_out_of_range_names_field() -> None:
    with pytest.raises(ValueError, match=r"symptoms\.nrs_limb"):
        nrs_band(11, "symptoms.nrs_limb")


@pytest.mark.parametrize(
    ("signs", "count", "threshold", "significant"),
    [
        ({"tenderness": True, "simulation": True, "overreaction": False}, 2, 3, False),
        ({"tenderness": True, "simulation": True, "overreaction": True}, 3, 3, True),
        ({"tenderness": True, "simulation": True, "distraction": True,
          "overreaction": False}, 3, 3, True),
        # overreaction omitted (observer bias): 2 of the other 4 is significant
        ({"tenderness": True, "simulation": True}, 2, 2, True),
        ({"regional": True}, 1, 2, False),
        ({"regional": True, "overreaction": True}, 2, 3, False),
    ],
)
def test_waddell_count_and_significance(
    signs: dict[str, bool], count: int, threshold: int, significant: bool
) -> None:
    score = score_waddell(Waddell(**signs))  # type: ignore[arg-type]
    assert (score.positive_categories, score.threshold, score.significant) == (
        count, threshold, significant
    )
    assert score.overreaction_assessed == ("overreaction" in signs)


@pytest.mark.parametrize(
    ("items", "raw", "percent", "band"),
    [
        ([0] * 10, 0, 0, "none"),
        ([1] * 4 + [0] * 6, 4, 8, "none"),
        ([1] * 5 + [0] * 5, 5, 10, "mild"),
        ([2] * 7 + [0] * 3, 14, 28, "mild"),
        ([3] * 5 + [0] * 5, 15, 30, "moderate"),
        ([3] * 8 + [0] * 2, 24, 48, "moderate"),
        ([5] * 5 + [0] * 5, 25, 50, "severe"),
        ([5] * 6 + [4] + [0] * 3, 34, 68, "severe"),
        ([5] * 7 + [0] * 3, 35, 70, "complete"),
        ([5] * 10, 50, 100, "complete"),
    ],
)
def test_ndi_raw_percent_and_band(items: list[int], raw: int, percent: int, band: str) -> None:
    score = score_ndi(items)
    assert score is not None
    assert (score.raw, score.percent, score.band) == (raw, percent, band)


def test_ndi_prorates_missing_items() -> None:
    score = score_ndi([2] * 9 + [None])
    assert score is not None
    assert (score.raw, score.items_answered, score.band) == (20, 9, "moderate")


def test_ndi_out_of_range_names_item() -> None:
    with pytest.raises(ValueError, match=r"instruments\.ndi_sections\[9\]"):
        score_ndi([0] * 9 + [7])


@pytest.mark.parametrize(("score", "likely"), [(0, False), (3, False), (4, True), (10, True)])
def test_dn4_cut_off_at_4(score: int, likely: bool) -> None:
    assert score_dn4(score).likely_neuropathic is likely


def test_dn4_out_of_range_names_field() -> None:
    with pytest.raises(ValueError, match=r"instruments\.dn4"):
        score_dn4(11)


def test_triage_result_carries_instrument_scores() -> None:
    result = triage_referral(referral(
        instruments={"odi_sections": [3] * 10, "dn4": 5,
                     "waddell": {"tenderness": True, "regional": True}},
        symptoms={"nrs_back": 5},
    ))
    scores = result.instruments
    assert scores.odi is not None and scores.odi.band == "severe"
    assert scores.dn4 is not None and scores.dn4.likely_neuropathic
    assert scores.waddell is not None and scores.waddell.significant
    assert scores.nrs is not None and scores.nrs.back_band == "moderate"
    assert scores.start_back is None and scores.ndi is None
