"""The triage CLI: file or stdin in, result JSON out in schema order, exit 2 on invalid input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from schemas.triage import TriageResult
from services.triage.cli import main

VALID = {"referral_id": "cli-1", "referral_type": "post_surgery", "region": "lumbar", "age": 60,
         "sex": "M", "surgeries": [{"procedure": "tlif", "weeks_before_referral": 30}],
         "red_flags": {"saddle_anaesthesia": True}}


def run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_reads_stdin_and_prints_result_in_schema_order() -> None:
    code, out, _ = run(["-"], json.dumps(VALID))
    assert code == 0
    result = json.loads(out)
    assert list(result) == list(TriageResult.model_fields)
    assert result["urgency"] == "emergency"
    assert result["fired_rules"][0]["rule_id"] == "RF1_CES_established"


def test_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "referral.json"
    path.write_text(json.dumps(VALID))
    code, out, _ = run([str(path)])
    assert code == 0 and json.loads(out)["surgery_class"] == "fusion"


def test_invalid_referral_exits_2_naming_fields_without_values() -> None:
    bad = {**VALID, "age": 130, "symptoms": {"nrs_limb": 11}, "patient": {"name": "Jo Bloggs"},
           "clinical_question": 5}
    code, out, err = run(["-"], json.dumps(bad))
    assert code == 2 and out == ""
    assert "age" in err and "symptoms.nrs_limb" in err and "clinical_question" in err
    assert "130" not in err


def test_not_json_exits_2() -> None:
    code, _, err = run(["-"], "{not json")
    assert code == 2 and "Invalid JSON" in err


def test_missing_file_exits_2(tmp_path: Path) -> None:
    code, _, err = run([str(tmp_path / "absent.json")])
    assert code == 2 and "cannot read" in err


def test_cli_shows_the_referrer_priority_floor_and_text_findings() -> None:
    referral = {"referral_id": "cli-p", "referral_type": "pre_surgery", "region": "lumbar",
                "age": 60, "sex": "M", "referrer_priority": "stat",
                "clinical_question": "Denies saddle numbness. New difficulty starting to pee."}
    code, out, _ = run(["-"], json.dumps(referral))
    result = json.loads(out)
    assert code == 0 and result["urgency"] == "emergency"
    rules = {r["rule_id"]: r["reason"] for r in result["fired_rules"]}
    assert "referrer priority stat" in rules["REF_referrer_priority_floor"]
    assert "from free text — confirm" in rules["RF1_CES_established"]
    assert [s["reason"] for s in result["set_aside"]] == ["negated"]


def test_received_day_makes_the_letters_dates_count() -> None:
    referral = {"referral_id": "cli-d", "referral_type": "pre_surgery", "region": "lumbar",
                "age": 60, "sex": "M",
                "clinical_question": "His decompression is booked for 3 December 2026."}
    code, out, _ = run(["-", "--received", "2026-11-27"], json.dumps(referral))
    assert code == 0 and json.loads(out)["urgency"] == "soon"
    _, undated, _ = run(["-"], json.dumps(referral))
    assert json.loads(undated)["urgency"] == "routine"
    with pytest.raises(SystemExit) as refused:  # argparse's own usage error
        run(["-", "--received", "27/11/2026"], json.dumps(referral))
    assert refused.value.code == 2
