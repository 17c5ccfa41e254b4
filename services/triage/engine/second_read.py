"""Radiology second-read trigger (brief section 6): hedging lexicon, negation, flags."""

from __future__ import annotations

import re

from schemas.referral import ImagingStudy
from schemas.triage import SecondRead, SecondReadRecommendation, Urgency
from services.triage.engine.picture import ClinicalPicture
from services.triage.engine.rule_table import Thresholds
from services.triage.engine.trusted import trusted

CANNOT = r"can(?:not|'t|\s+not)"
# Canonical term -> pattern; longer phrases first so "cannot be ruled out" wins over parts.
LEXICON: tuple[tuple[str, str], ...] = (
    ("cannot be ruled out", rf"{CANNOT}\s+be\s+ruled\s+out"),
    ("cannot be excluded", rf"{CANNOT}\s+be\s+excluded"),
    ("cannot rule out", rf"{CANNOT}\s+rule\s+out"),
    ("cannot exclude", rf"{CANNOT}\s+exclude"),
    ("not excluded", r"not\s+(?:been\s+)?excluded"),
    ("equivocal", r"equivocal(?:ly)?"),
    ("indeterminate", r"indeterminate"),
    ("possibly", r"possibly"),
    ("possible", r"possible"),
    ("questionable", r"questionabl[ey]"),
    ("may represent", r"may\s+represent"),
    ("suspicious for", r"suspicious\s+for"),
    ("versus", r"versus|vs\.?(?=\s|$)"),
)
# Every pattern starts with its canonical term's first letter; the lookahead lets the scan skip
# other positions without trying all 13 alternatives there (a test checks each term matches).
LEXICON_FIRST_LETTERS = "".join(sorted({term[0] for term, _ in LEXICON}))
LEXICON_RE = re.compile(
    rf"\b(?=[{LEXICON_FIRST_LETTERS}])(?:"
    + "|".join(rf"(?P<t{i}>{pattern})" for i, (_, pattern) in enumerate(LEXICON)) + ")",
    re.IGNORECASE,
)
TERM_BY_GROUP = {f"t{i}": term for i, (term, _) in enumerate(LEXICON)}
# "No evidence of X" negates X up to the end of its clause.
NEGATION_RE = re.compile(
    r"\b(?:no|without)\s+(?:\w+\s+)?(?:evidence|signs?|findings?)\s+(?:of|for|to\s+suggest)\b"
    r"|\bnegative\s+for\b",
    re.IGNORECASE,
)
CLAUSE_END_RE = re.compile(r"[.;:!?](?=\s|$)|\n|\bbut\b|\bhowever\b", re.IGNORECASE)
IRREVERSIBLE_RE = re.compile(
    r"fusion|arthrodesis|interbody|\b[atpxo]lif\b|\bacdf\b|instrument|arthroplasty"
    r"|disc\s+replacement|corpectomy|osteotomy",
    re.IGNORECASE,
)


def hedging_terms(text: str) -> list[str]:
    """Lexicon terms in the text that are not inside a "no evidence of ..." clause."""
    negated: list[tuple[int, int]] = []
    for cue in NEGATION_RE.finditer(text):
        end = CLAUSE_END_RE.search(text, cue.end())
        negated.append((cue.end(), end.start() if end else len(text)))
    found = []
    for match in LEXICON_RE.finditer(text):
        at = match.start()
        if negated and any(start <= at < stop for start, stop in negated):
            continue
        found.append(TERM_BY_GROUP[str(match.lastgroup)])
    return list(dict.fromkeys(found))


def _discordant(p: ClinicalPicture) -> bool:
    limb_pain = p.radicular_signs or p.limb_dominant_radicular or p.claudicant
    if p.imaging.any_compression and not limb_pain and p.referral.symptoms.nrs_limb == 0:
        return True
    return limb_pain and p.imaging.no_neural_compression


def _early_postop_mri(studies: tuple[ImagingStudy, ...], weeks: float, t: Thresholds) -> bool:
    for study in studies:
        if study.modality not in ("mri", "mri_contrast"):
            continue
        after_surgery = weeks - (study.weeks_ago if study.weeks_ago is not None else 0.0)
        if after_surgery <= t.early_postop_mri_weeks:
            return True
    return False


def _scar_question_without_contrast(studies: tuple[ImagingStudy, ...]) -> bool:
    scar_question = False
    for s in studies:
        if s.modality == "mri_contrast":
            return False  # contrast MRI tells scar from disc: nothing left to flag
        f = s.findings
        if s.modality == "mri" and (
            f.scar_vs_disc_indeterminate or f.scar_encasing_root
            or f.disc_herniation == "operated_level"
        ):
            scar_question = True
    return scar_question


def also_recommended(p: ClinicalPicture, t: Thresholds) -> list[str]:
    """Second-read flags for a human to consider; never acted on automatically."""
    flags = []
    proposed = p.referral.proposed_surgery
    if proposed is not None and IRREVERSIBLE_RE.search(proposed.procedure):
        flags.append("proposed_irreversible_procedure")
    if _discordant(p):
        flags.append("imaging_exam_discordance")
    weeks = p.weeks_since_surgery
    if weeks is not None and p.studies:  # the study flags are about imaging after surgery
        if _scar_question_without_contrast(p.studies):
            flags.append("postop_scar_vs_disc_on_noncontrast_mri")
        if _early_postop_mri(p.studies, weeks, t):
            flags.append("mri_within_6_weeks_of_surgery")
    return flags


def second_read(p: ClinicalPicture, urgency: Urgency, t: Thresholds) -> SecondRead:
    """Recommendation from the hedging terms in current reports, urgency and surgery date."""
    terms: list[str] = []
    for study in p.studies:
        if study.report_text:
            terms.extend(hedging_terms(study.report_text))
    terms = list(dict.fromkeys(terms))
    days = p.referral.proposed_surgery.days_until_scheduled if p.referral.proposed_surgery else None
    recommendation: SecondReadRecommendation
    if not terms:
        recommendation = "none"
    elif urgency == "emergency":
        recommendation = "superseded_by_emergency"  # never delay an emergency for a second read
    elif urgency == "urgent" or (days is not None and days <= t.second_read_priority_surgery_days):
        recommendation = "priority_24h"
    else:
        recommendation = "standard_24_72h"
    return trusted(
        SecondRead, recommendation=recommendation, matched_phrases=terms,
        also_recommended=also_recommended(p, t),
    )
