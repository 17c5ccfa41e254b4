"""The blind tables: text written from the brief without the lexicon in view, by helper sessions
(referral sentences, imaging reports). Known misses are marked `gap` and must still fail, so a
fix shows up here."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from schemas.referral import Referral
from services.triage.engine import triage_referral
from tests.unit.triage.text.test_text_narratives import BASE

HERE = Path(__file__).parent


def as_question(text: str) -> dict[str, Any]:
    return {"clinical_question": text}


def as_current_report(text: str) -> dict[str, Any]:
    return {"imaging": [{"modality": "mri", "weeks_ago": 1, "report_text": text}]}


def operated(ref: str, age: int, sex: str, procedure: str, weeks: float,
             region: str = "lumbar") -> dict[str, Any]:
    """A referral after one operation, nothing else coded (the tables' fixed context)."""
    return {"referral_id": ref, "referral_type": "post_surgery", "region": region, "age": age,
            "sex": sex, "surgeries": [{"procedure": procedure, "weeks_before_referral": weeks}]}


def facing_surgery(ref: str, age: int, sex: str, region: str = "lumbar") -> dict[str, Any]:
    """A pre-surgery referral: no operation yet, nothing else coded."""
    return {"referral_id": ref, "referral_type": "pre_surgery", "region": region, "age": age,
            "sex": sex}


# A pre-surgery referral: no operation yet, nothing coded (the text carries the date).
PRE_SURGERY = facing_surgery("p-1", 50, "F")
# A cervical referral after an anterior cervical discectomy and fusion, nothing coded.
CERVICAL = operated("c-1", 50, "F", "acdf", 20, region="cervical")
# An older patient after a lumbar decompression, nothing coded (RF9's low-energy rule by age).
ELDERLY = operated("e-1", 78, "F", "laminectomy_decompression", 20)
# Three weeks after a microdiscectomy: the early rules (RF11, fever alone) apply, nothing coded.
EARLY = operated("y-1", 45, "M", "microdiscectomy", 3)
# Years after a fusion (failed back surgery syndrome): an L4/5 TLIF 150 weeks ago, age 58 M.
LATE = operated("l-1", 58, "M", "tlif", 150)
# Facing neck surgery: a pre-surgery cervical referral, age 62 F, nothing coded.
PRE_CERVICAL = facing_surgery("pc-1", 62, "F", region="cervical")
# The first week after a two-level lumbar decompression, age 71 F (ward notes dated by the
# post-operative day), nothing coded.
FIRST_WEEK = operated("fw-1", 71, "F", "laminectomy_decompression", 1)
# Written in the United States ten weeks after an instrumented L4-5 fusion, age 52 M: the
# patient's jurisdiction has numeric dates read month first (text/dates.py), nothing else coded.
US = {**operated("us-1", 52, "M", "fusion_instrumented", 10), "patient": {"jurisdiction": "US-TX"}}
# Other illnesses in the way: an instrumented L4-5 fusion 30 weeks before, age 67 M (RF9's
# low-energy arm by age), nothing coded.
COMORBID = operated("cm-1", 67, "M", "fusion_instrumented", 30)
# Pregnancy, birth and after: a microdiscectomy 70 weeks before, age 32 F, nothing coded.
PREGNANCY = operated("pg-1", 32, "F", "microdiscectomy", 70)
# Young, active and online: a microdiscectomy 12 weeks before, age 24 M, nothing coded.
YOUNG = operated("yg-1", 24, "M", "microdiscectomy", 12)
# Pain clinic and neuromodulation: an L4-S1 instrumented fusion 200 weeks before, age 55 F.
PAIN_CLINIC = operated("pn-1", 55, "F", "fusion_instrumented", 200)
# Many operations: a revision and extension of an instrumented fusion to L3-S1 (RF11, fever alone).
REVISION = operated("rv-1", 59, "F", "fusion_instrumented", 5)
# Neurology clinics and nerve look-alikes: facing a first lumbar operation.
NEURO = facing_surgery("nr-1", 44, "F")
# Reports for lawyers, insurers and employers.
MEDICOLEGAL = operated("ml-1", 52, "M", "discectomy", 40)
# Ambulance and emergency department (RF11, fever alone and RF9's low-energy arm by age).
AMBULANCE = operated("am-1", 71, "M", "laminectomy_decompression", 3)
# Exported from the GP record.
CODED = operated("cd-1", 63, "F", "laminectomy_decompression", 16)
# The finding inside the boilerplate.
BOILERPLATE = operated("bp-1", 47, "M", "microdiscectomy", 9)
# Infection after spine surgery.
INFECTION = operated("if-1", 58, "M", "fusion_instrumented", 8)
# An older neck after surgery (RF9's low-energy arm by age).
NECK_OLDER = operated("no-1", 74, "F", "acdf", 10, region="cervical")
# The thoracic spine four weeks after a decompression (RF11, fever alone; RF9's low-energy arm).
THORACIC = operated("th-1", 66, "M", "laminectomy_decompression", 4, region="thoracic")
# A care-home resident with dementia (RF9's low-energy arm by age).
CARE_HOME = operated("ch-1", 82, "F", "laminectomy_decompression", 12)
# Bladder, bowel and pelvic clinics: facing a first lumbar operation.
UROGYNAE = facing_surgery("ug-1", 56, "F")
# Discharge summaries and letters of other services, two weeks after a fusion.
DISCHARGE = operated("ds-1", 61, "M", "fusion_instrumented", 2)
# Medicines, doses and side effects.
MEDICINES = operated("md-1", 49, "F", "microdiscectomy", 7)
# Physiotherapy, OT, podiatry and orthotics (RF9's low-energy arm by age).
ALLIED = operated("ah-1", 68, "M", "laminectomy_decompression", 14)
# Work, sport and injuries.
WORK_INJURY = operated("wi-1", 38, "M", "microdiscectomy", 20)
# Typed in a hurry: typos, autocorrect and dictation.
TYPOS = operated("ty-1", 33, "F", "discectomy", 26)
TABLES = {"blind_narratives.txt": (as_question, BASE), "blind_letters.txt": (as_question, BASE),
          "blind_reports.txt": (as_current_report, BASE),
          "blind_letters2.txt": (as_question, BASE), "blind_notes.txt": (as_question, BASE),
          "blind_presurgery.txt": (as_question, PRE_SURGERY),
          "blind_hard.txt": (as_question, BASE), "blind_documents.txt": (as_question, BASE),
          "blind_benign.txt": (as_question, BASE), "blind_long.txt": (as_question, BASE),
          "blind_dated.txt": (as_question, BASE), "blind_dated_pre.txt": (as_question, PRE_SURGERY),
          "blind_forms.txt": (as_question, BASE), "blind_threads.txt": (as_question, BASE),
          "blind_regions.txt": (as_question, CERVICAL),
          "blind_elderly.txt": (as_question, ELDERLY),
          "blind_early.txt": (as_question, EARLY),
          "blind_malignancy.txt": (as_question, BASE),
          "blind_late.txt": (as_question, LATE),
          "blind_precervical.txt": (as_question, PRE_CERVICAL),
          "blind_firstweek.txt": (as_question, FIRST_WEEK),
          "blind_us.txt": (as_question, US),
          "blind_calls.txt": (as_question, BASE),
          "blind_englishes.txt": (as_question, LATE),
          "blind_comorbid.txt": (as_question, COMORBID),
          "blind_pregnancy.txt": (as_question, PREGNANCY),
          "blind_templates.txt": (as_question, BASE),
          "blind_young.txt": (as_question, YOUNG),
          "blind_painclinic.txt": (as_question, PAIN_CLINIC),
          "blind_translated.txt": (as_question, BASE),
          "blind_revision.txt": (as_question, REVISION),
          "blind_neuro.txt": (as_question, NEURO),
          "blind_medicolegal.txt": (as_question, MEDICOLEGAL),
          "blind_ambulance.txt": (as_question, AMBULANCE),
          "blind_coded.txt": (as_question, CODED),
          "blind_boilerplate.txt": (as_question, BOILERPLATE),
          "blind_infection.txt": (as_question, INFECTION),
          "blind_neckolder.txt": (as_question, NECK_OLDER),
          "blind_typos.txt": (as_question, TYPOS),
          "blind_carehome.txt": (as_question, CARE_HOME),
          "blind_thoracic.txt": (as_question, THORACIC),
          "blind_urogynae.txt": (as_question, UROGYNAE),
          "blind_discharge.txt": (as_question, DISCHARGE),
          "blind_medicines.txt": (as_question, MEDICINES),
          "blind_allied.txt": (as_question, ALLIED),
          "blind_workinjury.txt": (as_question, WORK_INJURY)}
# The day the referrals were received (their calendar dates count from it), as the worker reads
# them; the pre-surgery table's last section was written for a reader with no such day.
RECEIVED = date(2026, 11, 27)
UNDATED = {"blind_presurgery.txt"}


def _cases() -> list:
    cases = []
    for name, (place, base) in TABLES.items():
        for line in (HERE / name).read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            gap = line.startswith("gap ")
            expected, text = line.removeprefix("gap ").split(" || ", 1)
            marks = [pytest.mark.xfail(strict=True, reason="known gap")] if gap else []
            as_of = None if name in UNDATED else RECEIVED
            cases.append(pytest.param(expected, {**base, **place(text)}, as_of, marks=marks,
                                      id=f"{name.split('.')[0]}:{text[:40]}"))
    return cases


@pytest.mark.parametrize(("expected", "fields", "as_of"), _cases())
def test_blind_text_gets_the_briefs_urgency(
    expected: str, fields: dict[str, Any], as_of: date | None
) -> None:
    result = triage_referral(Referral.model_validate(fields), as_of=as_of)
    assert result.urgency == expected, (
        [r.rule_id for r in result.fired_rules], [(s.concept, s.reason) for s in result.set_aside])
