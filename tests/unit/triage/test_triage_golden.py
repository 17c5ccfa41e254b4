"""Golden outputs: the CLI prints, byte for byte, what it printed when each golden was recorded.

A change to any result (rule table, engine, schema) fails here first. When a change is meant,
regenerate deliberately and review the diff of tests/triage_cases/golden/ before committing:

    .venv/bin/python -m tests.unit.triage.test_triage_golden
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from schemas.referral import Referral
from schemas.triage import TriageResult
from services.triage import cli
from services.triage.engine import triage_referral

CASES_DIR = Path(__file__).resolve().parents[2] / "triage_cases"
GOLDEN_DIR = CASES_DIR / "golden"
CASE_FILES = sorted(CASES_DIR.glob("*.json"))


def cli_output(case_file: Path) -> str:
    """What `python -m services.triage.cli` prints for the case's referral."""
    referral = json.loads(case_file.read_text(encoding="utf-8"))["referral"]
    stdout, stderr = io.StringIO(), io.StringIO()
    code = cli.main(["-"], stdin=io.StringIO(json.dumps(referral)), stdout=stdout, stderr=stderr)
    assert code == 0, stderr.getvalue()
    return stdout.getvalue()


def test_every_case_has_a_golden_and_every_golden_a_case() -> None:
    assert sorted(p.name for p in GOLDEN_DIR.glob("*.json")) == [p.name for p in CASE_FILES]


@pytest.mark.parametrize("case_file", CASE_FILES, ids=lambda p: p.stem)
def test_output_is_byte_identical_to_golden(case_file: Path) -> None:
    golden = (GOLDEN_DIR / case_file.name).read_text(encoding="utf-8")
    assert cli_output(case_file) == golden


@pytest.mark.parametrize("case_file", CASE_FILES, ids=lambda p: p.stem)
def test_result_passes_the_contract_it_skipped(case_file: Path) -> None:
    # The engine builds its models without validation (engine/trusted.py); the contract must
    # still accept every result, with every field present and in declaration order.
    referral = json.loads(case_file.read_text(encoding="utf-8"))["referral"]
    result = triage_referral(Referral.model_validate(referral))
    assert TriageResult.model_validate(result.model_dump()) == result
    printed = result.model_dump_json()
    assert TriageResult.model_validate_json(printed).model_dump_json() == printed


def regenerate() -> int:
    """Rewrite every golden from the current engine; review the diff before committing."""
    GOLDEN_DIR.mkdir(exist_ok=True)
    for stale in GOLDEN_DIR.glob("*.json"):
        stale.unlink()
    for case_file in CASE_FILES:
        (GOLDEN_DIR / case_file.name).write_text(cli_output(case_file), encoding="utf-8")
    print(f"wrote {len(CASE_FILES)} goldens to {GOLDEN_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(regenerate())
