"""Section 3.2 modifiers: what raises routine to soon, with the brief's boundaries."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.referral import Referral
from services.triage.engine import triage_referral
from tests.unit.triage.builders import fired, pre_surgery, referral, study, triage


def limb_pain(nrs: int, **symptoms: Any) -> dict[str, Any]:
    return {"dominant": "leg", "pain_distribution": "radicular", "nrs_limb": nrs, **symptoms}


@pytest.mark.parametrize(
    "finding",
    [{"disc_herniation": "other_level"}, {"foraminal_stenosis_concordant": True},
     {"central_stenosis": "severe"}],
)
def test_modifier_severe_limb_pain_with_concordant_compression(finding: dict[str, Any]) -> None:
    result = triage(symptoms=limb_pain(7), imaging=[study(**finding)])
    assert fired(result) == {"MOD_limb_pain_concordant_compression": "soon"}
    assert result.urgency == "soon"


@pytest.mark.parametrize(
    ("symptoms", "finding"),
    [
        (limb_pain(6), {"disc_herniation": "other_level"}),
        (limb_pain(8, character=["claudicant"]), {"central_stenosis": "severe"}),
        (limb_pain(8), {"central_stenosis": "moderate"}),
    ],
)
def test_modifier_limb_pain_not_raised(symptoms: dict[str, Any], finding: dict[str, Any]) -> None:
    assert triage(symptoms=symptoms, imaging=[study(**finding)]).urgency == "routine"


def test_modifier_mild_non_progressing_deficit_is_soon() -> None:
    result = triage(neuro_exam={"motor_deficit": "mild"})
    assert fired(result) == {"MOD_new_mild_motor_deficit": "soon"}


def fusion(weeks: float, **overrides: Any) -> Referral:
    return referral(surgeries=[{"procedure": "tlif", "instrumented": True,
                                "weeks_before_referral": weeks}], **overrides)


@pytest.mark.parametrize(
    ("weeks", "status", "fires"),
    [(52, "absent", True), (51, "absent", False), (60, "incomplete", True), (60, "solid", False)],
)
def test_modifier_suspected_nonunion(weeks: float, status: str, fires: bool) -> None:
    result = triage_referral(fusion(weeks, imaging=[study("ct", fusion_status=status)]))
    assert ("MOD_suspected_nonunion" in fired(result)) is fires


@pytest.mark.parametrize(("mm", "fires"), [(0.9, False), (1, True)])
def test_modifier_screw_lucency_1mm(mm: float, fires: bool) -> None:
    result = triage_referral(fusion(20, imaging=[study("ct", screw_lucency_mm=mm)]))
    assert ("MOD_suspected_nonunion" in fired(result)) is fires


@pytest.mark.parametrize(("days", "urgency"), [(14, "soon"), (15, "routine")])
def test_modifier_surgery_within_14_days(days: int, urgency: str) -> None:
    result = triage_referral(pre_surgery(proposed_surgery={
        "procedure": "microdiscectomy", "days_until_scheduled": days}))
    assert result.urgency == urgency
