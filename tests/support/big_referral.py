"""Referrals the contract allows at their largest, under the 1 MiB HTTP body limit (review 17:
routing's copy of one crash-looped its worker, and its dead letter was past the producer's
limit)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.cases import ReferralReceived
from schemas.referral import Referral

# A radiology report: what was seen first, the impression last (what a reviewer needs most).
REPORT_START = "TECHNIQUE: sagittal and axial T1 and T2. FINDINGS: "
REPORT_END = " IMPRESSION: recurrent disc at L4-5 compressing the L5 root."


def report_text(chars: int) -> str:
    filler = "the patient reports mild lumbar ache without leg symptoms " * (chars // 50 + 1)
    return REPORT_START + filler[:chars - len(REPORT_START) - len(REPORT_END)] + REPORT_END


def big_received(case_id: str = "case-1", *, reports: int = 50, report_chars: int = 19_500,
                 narratives: int = 0, narrative_chars: int = 20_000,
                 **fields: Any) -> ReferralReceived:
    """A ReferralReceived with `reports` imaging reports and `narratives` letters of the given
    length (50 x 19,500: a 977 KB body, a 1,019,652-byte event)."""
    body: dict[str, Any] = {
        "referral_id": "big-1", "age": 50, "sex": "F", "region": "lumbar",
        "referral_type": "post_surgery", "clinical_question": "Is revision surgery indicated?",
        "imaging": [{"modality": "mri", "weeks_ago": i, "report_text": report_text(report_chars)}
                    for i in range(reports)],
        "narratives": [{"source": f"letter-{i}", "text": "Letter. " * (narrative_chars // 8)}
                       for i in range(narratives)],
        **fields,
    }
    return ReferralReceived(event_id=f"recv-{case_id}", case_id=case_id,
                            occurred_at=datetime.now(UTC), referrer_id="ref-1",
                            referral=Referral.model_validate(body))


def small_received(case_id: str) -> ReferralReceived:
    """The smallest valid referral event (nothing coded): routine, triaged at once."""
    referral = Referral(
        referral_id=f"r-{case_id}", referral_type="post_surgery", region="lumbar", age=52, sex="F",
    )
    return ReferralReceived(
        event_id=f"ev-{case_id}", case_id=case_id, occurred_at=datetime.now(UTC),
        referrer_id="ref-test", referral=referral,
    )
