"""Facing neck surgery (blind pre-surgery cervical table, 2026-11-29): the operation's date by a
cervical procedure's name, the neck's score beside the arm's, serial grades that fall, and a
degenerative cord compression that is no bone lesion."""

from __future__ import annotations

from datetime import date

from schemas.referral import Referral
from schemas.triage import TriageResult
from services.triage.engine import triage_referral

PRE_CERVICAL = {"referral_id": "pc-1", "referral_type": "pre_surgery", "region": "cervical",
                "age": 62, "sex": "F"}


def read(text: str) -> TriageResult:
    return triage_referral(Referral.model_validate({**PRE_CERVICAL, "clinical_question": text}),
                           as_of=date(2026, 11, 27))


def test_a_cervical_operation_dated_within_fourteen_days_is_soon() -> None:
    for text in ("The date for my laminoplasty is Wednesday 9th December.",
                 "ACDF C6/7 is planned for 11 December 2026.",
                 "Listed for posterior cervical foraminotomy (right C6/7) on 02/12/2026.",
                 "They brought her C6/7 ACDF forward from February to 07/12/2026."):
        assert read(text).urgency == "soon", text
    assert read("ACDF C6/7 is planned for 15 December 2026.").urgency == "routine"


def test_the_neck_s_score_makes_the_arm_s_dominant() -> None:
    text = ("Right arm pain 8 from 10 to the little finger. Neck pain is 3 from 10. MRI: right "
            "C7-T1 disc herniation with compression of the C8 root.")
    assert read(text).urgency == "soon"
    assert read(text.replace("Neck pain is 3 from 10", "Neck pain is 9 from 10")).urgency == (
        "routine")


def test_grades_falling_visit_by_visit_are_a_progressing_deficit() -> None:
    assert read("Serial MRC grading of finger flexion: 19/09 4+/5, 24/10 4/5, 20/11 4-/5."
                ).urgency == "emergency"
    assert read("Grip 4/5 then 3/5 today.").urgency == "emergency"
    # two limbs, not a decline
    assert read("Power: right finger flexion 4+/5, left finger flexion 4/5.").urgency == "soon"


def test_a_degenerative_cord_compression_is_no_bone_lesion() -> None:
    text = ("Myelopathy: Hoffmann positive, brisk reflexes, stable since 2024. MRI: C5/6 cord "
            "compression with T2 signal change. Listed for laminoplasty, date awaited.")
    assert read(text).urgency == "routine"
    assert read("MRI: metastatic cord compression at C6.").urgency != "routine"


def test_a_feared_paralysis_is_no_deficit_and_a_stumble_with_osteoporosis_counts() -> None:
    assert read("I lie awake worrying that I'll be paralysed by the operation.").urgency == (
        "routine")
    assert read("Osteoporosis on denosumab. She missed the last stair at home on 19/11 and "
                "fell, jarring her neck.").urgency == "urgent"
