"""Which records a referral lacks: the documented list in services.intake.domain.missing_records."""

from __future__ import annotations

import pytest

from services.intake.domain.missing_records import missing_records
from tests.unit.intake.intake_builders import referral

NO_REPORT = [{"modality": "mri", "weeks_ago": 2}]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, []),
        ({"imaging": []}, ["imaging"]),
        ({"imaging": NO_REPORT}, ["imaging_report"]),
        ({"imaging": [{"modality": "mri", "report_text": "   "}]}, ["imaging_report"]),
        ({"surgeries": []}, ["surgery_history"]),
        ({"surgeries": [], "imaging": []}, ["surgery_history", "imaging"]),
        ({"referral_type": "pre_surgery", "surgeries": []}, ["proposed_surgery"]),
        ({"referral_type": "pre_surgery", "surgeries": [],
          "proposed_surgery": {"procedure": "tlif"}}, []),
    ],
)
def test_missing_records(overrides: dict[str, object], expected: list[str]) -> None:
    assert missing_records(referral(**overrides)) == expected


def test_one_reported_study_among_several_is_enough() -> None:
    imaging = [*NO_REPORT, {"modality": "ct", "report_text": "Solid fusion."}]
    assert missing_records(referral(imaging=imaging)) == []
