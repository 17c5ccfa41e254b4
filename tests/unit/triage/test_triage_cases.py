"""Hand-written clinical cases (tests/triage_cases/*.json) checked against the engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from schemas.referral import Referral
from services.triage.engine import rule_table, triage_referral
from services.triage.engine.urgency import URGENCY_RULES

CASES_DIR = Path(__file__).resolve().parents[2] / "triage_cases"
CASE_FILES = sorted(CASES_DIR.glob("*.json"))
EXPECTATION_KEYS = {
    "urgency", "top_cause", "in_top3", "required_teams", "required_teams_include",
    "optional_teams_include", "fired_rules", "not_fired_rules", "must_exclude", "second_read",
}


def load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_case(path: Path) -> None:
    case = load(path)
    expected = case["expected"]
    assert set(expected) <= EXPECTATION_KEYS, "unknown expectation key"
    result = triage_referral(Referral.model_validate(case["referral"]))
    top3 = [c.cause for c in result.likely_causes]
    fired = [r.rule_id for r in result.fired_rules]
    assert result.urgency == expected["urgency"]
    if "top_cause" in expected:
        assert top3[0] == expected["top_cause"], top3
    assert set(expected.get("in_top3", [])) <= set(top3), top3
    if "required_teams" in expected:
        assert sorted(result.required_teams) == sorted(expected["required_teams"])
    assert set(expected.get("required_teams_include", [])) <= set(result.required_teams)
    assert set(expected.get("optional_teams_include", [])) <= set(result.optional_teams)
    assert set(expected.get("fired_rules", [])) <= set(fired), fired
    assert not set(expected.get("not_fired_rules", [])) & set(fired), fired
    if "must_exclude" in expected:
        assert set(expected["must_exclude"]) <= set(result.must_exclude)
        if not expected["must_exclude"]:
            assert result.must_exclude == []
    if "second_read" in expected:
        assert result.second_read.recommendation == expected["second_read"]


def test_at_least_30_cases_each_with_urgency_causes_and_teams() -> None:
    assert len(CASE_FILES) >= 30
    for path in CASE_FILES:
        expected = load(path)["expected"]
        assert "urgency" in expected, path.name
        assert {"top_cause", "in_top3"} & set(expected), path.name
        assert {"required_teams", "required_teams_include"} & set(expected), path.name


def test_cases_cover_every_cause_and_every_red_flag() -> None:
    causes: set[str] = set()
    rules: set[str] = set()
    for path in CASE_FILES:
        expected = load(path)["expected"]
        causes.update(expected.get("in_top3", []))
        causes.update([expected["top_cause"]] if "top_cause" in expected else [])
        rules.update(expected.get("fired_rules", []))
    assert causes == set(rule_table().causes)
    assert {rule_id for rule_id, _ in URGENCY_RULES if rule_id.startswith("RF")} <= rules
