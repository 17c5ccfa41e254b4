"""Section 6: hedging lexicon with negation, recommendation levels and "also recommend" flags."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.triage import TriageResult
from services.triage.engine import triage_referral
from services.triage.engine.second_read import LEXICON, hedging_terms
from tests.unit.triage.builders import pre_surgery, referral, study


def reported(text: str, modality: str = "mri", **findings: Any) -> dict[str, Any]:
    return {**study(modality, **findings), "report_text": text}


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("Findings are equivocal.", ["equivocal"]),
        ("Recurrence cannot be ruled out.", ["cannot be ruled out"]),
        ("Infection can't be excluded.", ["cannot be excluded"]),
        ("We cannot rule out discitis.", ["cannot rule out"]),
        ("Cannot exclude a small abscess.", ["cannot exclude"]),
        ("Abscess not excluded.", ["not excluded"]),
        ("Possible recurrent disc; possibly scar.", ["possible", "possibly"]),
        ("Indeterminate enhancement.", ["indeterminate"]),
        ("Scar versus recurrent disc.", ["versus"]),
        ("Scar vs. disc at L5-S1.", ["versus"]),
        ("Questionable pars defect.", ["questionable"]),
        ("This may represent granulation tissue.", ["may represent"]),
        ("Suspicious for metastasis.", ["suspicious for"]),
        ("Solid fusion at L4-L5. Hardware intact.", []),
    ],
)
def test_lexicon_terms(text: str, terms: list[str]) -> None:
    assert hedging_terms(text) == terms


@pytest.mark.parametrize("term", [term for term, _ in LEXICON])
def test_every_canonical_term_is_found_in_any_case(term: str) -> None:
    # The scan only tries positions starting with a term's first letter: a new term must match.
    assert term in hedging_terms(f"Finding: {term.upper()} here.")
    assert term in hedging_terms(f"finding: {term} here.")


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("No evidence of possible abscess.", []),
        ("No evidence of equivocal enhancement; scar only.", []),
        ("No evidence of infection. Possible recurrence at L4-5.", ["possible"]),
        ("Negative for suspicious for malignancy features.", []),
        ("No evidence of abscess, but a questionable lucency.", ["questionable"]),
    ],
)
def test_no_evidence_of_does_not_trigger(text: str, terms: list[str]) -> None:
    assert hedging_terms(text) == terms


def read(**overrides: Any) -> TriageResult:
    return triage_referral(referral(**overrides))


def test_no_term_means_no_second_read() -> None:
    result = read(imaging=[reported("Postoperative changes at L4-5. No evidence of recurrence.")])
    assert result.second_read.recommendation == "none"
    assert result.second_read.matched_phrases == []


def test_routine_case_gets_standard_24_72h() -> None:
    result = read(imaging=[reported("Equivocal enhancement at L5-S1.")])
    assert result.second_read.recommendation == "standard_24_72h"
    assert result.second_read.matched_phrases == ["equivocal"]
    assert "spine_radiology" in result.optional_teams + result.required_teams


def test_urgent_case_gets_priority_24h() -> None:
    result = read(red_flags={"wound_erythema": True},
                  imaging=[reported("Collection cannot be excluded.")])
    assert result.urgency == "urgent"
    assert result.second_read.recommendation == "priority_24h"


@pytest.mark.parametrize(("days", "recommendation"), [(7, "priority_24h"),
                                                      (8, "standard_24_72h")])
def test_surgery_within_7_days_gets_priority(days: int, recommendation: str) -> None:
    result = triage_referral(pre_surgery(
        proposed_surgery={"procedure": "microdiscectomy", "days_until_scheduled": days},
        imaging=[reported("Possible extrusion at L5-S1.")]))
    assert result.second_read.recommendation == recommendation


def test_emergency_supersedes_second_read() -> None:
    result = read(red_flags={"saddle_anaesthesia": True},
                  imaging=[reported("Possible cauda equina compression.")])
    assert result.second_read.recommendation == "superseded_by_emergency"
    assert result.required_teams == ["emergency_department", "spine_surgery"]


def flags(result: TriageResult) -> list[str]:
    return result.second_read.also_recommended


def test_flag_proposed_fusion_but_not_discectomy() -> None:
    fusion = triage_referral(pre_surgery(proposed_surgery={"procedure": "L4-5 TLIF"}))
    assert "proposed_irreversible_procedure" in flags(fusion)
    plain = triage_referral(pre_surgery(proposed_surgery={"procedure": "microdiscectomy"}))
    assert "proposed_irreversible_procedure" not in flags(plain)


def test_flag_imaging_exam_discordance() -> None:
    radicular_no_compression = read(
        symptoms={"dominant": "leg", "pain_distribution": "radicular"},
        imaging=[study(no_neural_compression=True)])
    assert "imaging_exam_discordance" in flags(radicular_no_compression)
    disc_without_limb_pain = read(symptoms={"dominant": "back", "nrs_limb": 0},
                                  imaging=[study(disc_herniation="other_level")])
    assert "imaging_exam_discordance" in flags(disc_without_limb_pain)
    concordant = read(symptoms={"dominant": "leg", "pain_distribution": "radicular"},
                      imaging=[study(disc_herniation="other_level")])
    assert "imaging_exam_discordance" not in flags(concordant)


def test_flag_scar_vs_disc_on_noncontrast_mri_until_contrast_done() -> None:
    plain = read(imaging=[study("mri", scar_vs_disc_indeterminate=True)])
    assert "postop_scar_vs_disc_on_noncontrast_mri" in flags(plain)
    with_contrast = read(imaging=[study("mri", scar_vs_disc_indeterminate=True),
                                  study("mri_contrast", 1, contrast_pattern="enhancing_scar_only")])
    assert "postop_scar_vs_disc_on_noncontrast_mri" not in flags(with_contrast)


@pytest.mark.parametrize(("surgery_weeks", "weeks_ago", "flagged"),
                         [(8, 2, True), (8, 1, False), (40, 5, False)])
def test_flag_mri_in_first_6_postop_weeks(
    surgery_weeks: float, weeks_ago: float, flagged: bool
) -> None:
    r = referral(surgeries=[{"procedure": "microdiscectomy",
                             "weeks_before_referral": surgery_weeks}],
                 imaging=[study("mri", weeks_ago)])
    assert ("mri_within_6_weeks_of_surgery" in flags(triage_referral(r))) is flagged
