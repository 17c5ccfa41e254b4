"""Builders for intake's unit tests: referrals and a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.referral import Referral

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def referral_body(**overrides: Any) -> dict[str, Any]:
    """A complete post-surgery referral body (imaging with a report, one surgery)."""
    body: dict[str, Any] = {
        "referral_id": "REF-1",
        "referral_type": "post_surgery",
        "region": "lumbar",
        "age": 52,
        "sex": "F",
        "referrer": {"id": "whoever-the-body-says", "organisation": "North GP"},
        "surgeries": [{"procedure": "microdiscectomy", "levels": ["L4-L5"],
                       "weeks_before_referral": 40}],
        "imaging": [{"modality": "mri", "weeks_ago": 2, "report_text": "Recurrent disc L4-L5."}],
    }
    body.update(overrides)
    return body


def referral(**overrides: Any) -> Referral:
    """A validated Referral from referral_body."""
    return Referral.model_validate(referral_body(**overrides))
