"""The rule table file: loads, covers every cause and surgery class, and matches the code."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from services.triage.engine import load_rule_table, rule_table
from services.triage.engine.features import FEATURE_IDS
from services.triage.engine.rule_table import RULE_TABLE_PATH, SURGERY_CLASSES, parse_rule_table
from services.triage.engine.urgency import URGENCY_RULES

BRIEF_CAUSES = {
    "recurrent_disc_herniation", "disc_herniation", "epidural_fibrosis", "foraminal_stenosis",
    "central_stenosis", "adjacent_segment_disease", "instability", "pseudarthrosis",
    "hardware_failure", "discogenic_pain", "facet_joint_pain", "sacroiliac_joint_pain",
    "neuropathic_pain", "infection", "psychosocial_chronic_pain", "epidural_hematoma",
    "malignancy", "fracture", "expected_postop_recovery", "other_unknown",
}


def raw() -> dict[str, Any]:
    with RULE_TABLE_PATH.open() as handle:
        return dict(yaml.safe_load(handle))


def test_rule_table_loads_with_a_version() -> None:
    table = load_rule_table()
    assert table.version
    assert rule_table() is rule_table()  # loaded once per process


def test_every_cause_has_a_prior_for_every_surgery_class() -> None:
    table = load_rule_table()
    assert set(table.causes) == BRIEF_CAUSES
    for spec in table.cause_specs.values():
        assert set(spec.priors) == set(SURGERY_CLASSES)
        assert spec.required_teams


def test_brief_priors_spot_check() -> None:
    specs = load_rule_table().cause_specs
    assert specs["foraminal_stenosis"].priors["discectomy"] == 0.14
    assert specs["pseudarthrosis"].priors == {
        "discectomy": 0, "decompression": 0, "fusion": 0.12, "pre_surgery": 0}
    assert specs["epidural_hematoma"].priors["fusion"] == 0.005
    assert specs["malignancy"].priors["pre_surgery"] == 0.005


def test_features_in_file_match_features_in_code() -> None:
    assert set(load_rule_table().multipliers) == set(FEATURE_IDS)


def test_must_exclude_rules_are_real_rule_ids() -> None:
    rule_ids = {rule_id for rule_id, _ in URGENCY_RULES}
    assert set(load_rule_table().rule_must_exclude) <= rule_ids


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["causes"]["infection"]["priors"].pop("fusion"), "causes.infection.priors"),
        (lambda d: d["features"]["timing_lt_6w"]["multipliers"].update(unknown_cause=2),
         "unknown cause"),
        (lambda d: d["features"]["fever_ge_38"]["multipliers"].update(infection=0),
         "features.fever_ge_38.infection"),
        (lambda d: d["thresholds"].pop("fever_c"), "thresholds keys differ"),
        (lambda d: d.update(version=""), "version"),
        (lambda d: d["causes"]["fracture"].update(required_teams=["surgeons"]), "unknown team"),
    ],
)
def test_bad_tables_are_rejected_naming_the_key(mutate: Any, message: str) -> None:
    document = copy.deepcopy(raw())
    mutate(document)
    with pytest.raises(ValueError, match=message):
        parse_rule_table(document)
