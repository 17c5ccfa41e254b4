"""Which records a referral lacks for a second opinion: the case is accepted but waits on them.

The list (documented in docs/intake.md):
- `surgery_history`: a post-surgery referral without any prior surgery.
- `imaging`: no imaging study at all (section 1.3 of the brief: imaging must match the exam).
- `imaging_report`: imaging listed but no study carries its report text (the second reader and
  the triage lexicon need it).
- `proposed_surgery`: a pre-surgery referral that does not say which operation is proposed.
"""

from __future__ import annotations

from schemas.referral import Referral

MISSING_RECORD_KINDS = ("surgery_history", "imaging", "imaging_report", "proposed_surgery")


def missing_records(referral: Referral) -> list[str]:
    """The records this referral still needs, in the fixed order of MISSING_RECORD_KINDS."""
    missing: list[str] = []
    if referral.referral_type == "post_surgery" and not referral.surgeries:
        missing.append("surgery_history")
    if not referral.imaging:
        missing.append("imaging")
    elif not any(study.report_text and study.report_text.strip() for study in referral.imaging):
        missing.append("imaging_report")
    if referral.referral_type == "pre_surgery" and referral.proposed_surgery is None:
        missing.append("proposed_surgery")
    return missing
