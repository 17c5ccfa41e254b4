"""Instrument scoring (brief section 4), exactly as written; ValueError names a bad field."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from schemas.referral import Instruments, StartBack, Symptoms, Waddell
from schemas.triage import (
    Dn4Score,
    InstrumentScores,
    NdiBand,
    NdiScore,
    NrsBand,
    NrsScore,
    OdiBand,
    OdiScore,
    StartBackBand,
    StartBackScore,
    WaddellScore,
)
from services.triage.engine.trusted import trusted

SECTION_MAX = 5
SECTION_COUNT = 10
START_BACK_BOTHERSOME = frozenset({"very_much", "extremely"})
START_BACK_HIGH_SUBSCALE = 4  # subscale >= 4 -> high
START_BACK_LOW_TOTAL = 3  # total <= 3 -> low; otherwise medium
# Upper bounds (inclusive) of each band, lowest first; above the last bound is the last band.
ODI_BANDS: tuple[tuple[int, OdiBand], ...] = (
    (20, "minimal"), (40, "moderate"), (60, "severe"), (80, "crippled"),
)
ODI_TOP_BAND: OdiBand = "bed_bound_or_exaggerating"
NDI_BANDS: tuple[tuple[int, NdiBand], ...] = (
    (4, "none"), (14, "mild"), (24, "moderate"), (34, "severe"),
)
NDI_TOP_BAND: NdiBand = "complete"
NRS_BANDS: tuple[tuple[int, NrsBand], ...] = ((0, "none"), (3, "mild"), (6, "moderate"))
NRS_TOP_BAND: NrsBand = "severe"
NRS_MAX = 10
WADDELL_CUTOFF = 3  # of 5 categories
WADDELL_CUTOFF_WITHOUT_OVERREACTION = 2  # of the other 4
DN4_MAX = 10
DN4_NEUROPATHIC = 4


BandT = TypeVar("BandT", bound=str)


def _band(value: float, bands: tuple[tuple[int, BandT], ...], top: BandT) -> BandT:
    # Non-integer scores (prorated) belong to the band whose integer range they fall below.
    for upper, name in bands:
        if value < upper + 1:
            return name
    return top


def _check_int(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{field}: must be an integer from {low} to {high}")
    return value


def score_start_back(answers: StartBack) -> StartBackScore:
    """Keele STarT Back: total 0-9, psychosocial subscale (items 5-9) 0-5, band."""
    if answers.q9_bothersomeness not in (
        "not_at_all", "slightly", "moderately", "very_much", "extremely"
    ):
        raise ValueError("instruments.start_back.q9_bothersomeness: unknown answer")
    q9 = int(answers.q9_bothersomeness in START_BACK_BOTHERSOME)
    physical = sum(
        (answers.q1_leg_pain, answers.q2_shoulder_neck_pain, answers.q3_walk_short_distances,
         answers.q4_dressed_slowly)
    )
    subscale = sum(
        (answers.q5_not_safe_active, answers.q6_worrying_thoughts,
         answers.q7_terrible_never_better, answers.q8_not_enjoyed)
    ) + q9
    total = physical + subscale
    band: StartBackBand
    if subscale >= START_BACK_HIGH_SUBSCALE:
        band = "high"
    elif total <= START_BACK_LOW_TOTAL:
        band = "low"
    else:
        band = "medium"
    return trusted(StartBackScore, total=total, psychosocial_subscale=subscale, band=band)


def _answered_sections(sections: Sequence[int | None], field: str) -> list[int]:
    if len(sections) != SECTION_COUNT:
        raise ValueError(f"{field}: needs exactly {SECTION_COUNT} sections (null if unanswered)")
    return [
        _check_int(v, f"{field}[{i}]", 0, SECTION_MAX)
        for i, v in enumerate(sections) if v is not None
    ]


def score_odi(sections: Sequence[int | None]) -> OdiScore | None:
    """Oswestry %: sum / (5 x answered sections) x 100; None when no section was answered."""
    answered = _answered_sections(sections, "instruments.odi_sections")
    if not answered:
        return None
    percent = sum(answered) / (SECTION_MAX * len(answered)) * 100
    return trusted(
        OdiScore, percent=round(percent, 2), sections_answered=len(answered),
        band=_band(percent, ODI_BANDS, ODI_TOP_BAND),
    )


def score_ndi(items: Sequence[int | None]) -> NdiScore | None:
    """Neck Disability Index raw 0-50 (x2 = %); unanswered items prorated like the ODI."""
    answered = _answered_sections(items, "instruments.ndi_sections")
    if not answered:
        return None
    raw = sum(answered) * SECTION_COUNT / len(answered)
    return trusted(
        NdiScore, raw=round(raw, 2), percent=round(raw * 2, 2), items_answered=len(answered),
        band=_band(raw, NDI_BANDS, NDI_TOP_BAND),
    )


NRS_BAND_OF: tuple[NrsBand, ...] = tuple(
    _band(value, NRS_BANDS, NRS_TOP_BAND) for value in range(NRS_MAX + 1)
)


def nrs_band(value: int, field: str = "nrs") -> NrsBand:
    """0 none; 1-3 mild; 4-6 moderate; 7-10 severe."""
    return NRS_BAND_OF[_check_int(value, field, 0, NRS_MAX)]


def score_nrs(symptoms: Symptoms) -> NrsScore | None:
    """Back and limb NRS with their bands; None when neither was recorded."""
    back, limb = symptoms.nrs_back, symptoms.nrs_limb
    if back is None and limb is None:
        return None
    return trusted(
        NrsScore,
        back=back,
        back_band=None if back is None else nrs_band(back, "symptoms.nrs_back"),
        limb=limb,
        limb_band=None if limb is None else nrs_band(limb, "symptoms.nrs_limb"),
    )


def score_waddell(signs: Waddell) -> WaddellScore:
    """Positive categories; significant at >=3, or >=2 of 4 when overreaction was not assessed."""
    four = sum((signs.tenderness, signs.simulation, signs.distraction, signs.regional))
    assessed = signs.overreaction is not None
    count = four + int(bool(signs.overreaction))
    threshold = WADDELL_CUTOFF if assessed else WADDELL_CUTOFF_WITHOUT_OVERREACTION
    return trusted(
        WaddellScore, positive_categories=count, overreaction_assessed=assessed,
        threshold=threshold, significant=count >= threshold,
    )


def score_dn4(score: int) -> Dn4Score:
    """DN4 >= 4 of 10: neuropathic pain likely."""
    value = _check_int(score, "instruments.dn4", 0, DN4_MAX)
    return trusted(Dn4Score, score=value, likely_neuropathic=value >= DN4_NEUROPATHIC)


def score_instruments(instruments: Instruments, symptoms: Symptoms) -> InstrumentScores:
    """Score every instrument the referral carries; absent ones stay None."""
    return trusted(
        InstrumentScores,
        start_back=score_start_back(instruments.start_back) if instruments.start_back else None,
        odi=None if instruments.odi_sections is None else score_odi(instruments.odi_sections),
        nrs=score_nrs(symptoms),
        waddell=score_waddell(instruments.waddell) if instruments.waddell else None,
        ndi=None if instruments.ndi_sections is None else score_ndi(instruments.ndi_sections),
        dn4=None if instruments.dn4 is None else score_dn4(instruments.dn4),
    )
