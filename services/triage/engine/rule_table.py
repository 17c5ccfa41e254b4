"""Load and check rule_table.yaml once; precompute log priors and log multipliers for the model."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, get_args

from schemas.triage import CauseFactor, SurgeryClass, Team
from services.common.config_yaml import load_config_yaml

RULE_TABLE_PATH = Path(__file__).with_name("rule_table.yaml")
SURGERY_CLASSES: tuple[SurgeryClass, ...] = get_args(SurgeryClass)
TEAMS: tuple[Team, ...] = get_args(Team)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Cut-offs of the urgency rules and cause features (see rule_table.yaml for meaning)."""

    recent_episode_days: float
    fever_c: float
    post_void_residual_ml: float
    early_postop_weeks: float
    crp_early_window_weeks: float
    crp_early_abnormal_mg_l: float
    crp_late_abnormal_mg_l: float
    crp_rising_after_postop_days: float
    severe_limb_pain_nrs: float
    fracture_risk_age: float
    nonunion_weeks: float
    screw_lucency_minor_mm: float
    screw_lucency_major_mm: float
    pre_surgery_soon_days: float
    second_read_priority_surgery_days: float
    early_postop_mri_weeks: float
    timing_early_weeks: float
    timing_late_weeks: float
    recovery_window_weeks: float
    recovery_unlikely_weeks: float
    pain_free_long_weeks: float
    pain_free_short_min_weeks: float
    pain_free_short_max_weeks: float
    scar_onset_min_weeks: float
    scar_onset_max_weeks: float
    sij_tests_positive: float
    sij_tests_negative: float
    esr_high_mm_h: float
    trauma_recent_days: float
    haematoma_window_weeks: float
    translation_equivocal_mm: float
    translation_unstable_mm: float
    block_positive_pct: float
    block_negative_pct: float
    team_cause_min_probability: float


@dataclass(frozen=True, slots=True)
class CauseSpec:
    """One cause: prior weight per surgery class and the teams section 5.3 routes it to."""

    name: str
    priors: Mapping[SurgeryClass, float]
    required_teams: tuple[Team, ...]
    required_one_of: tuple[Team, ...]
    optional_teams: tuple[Team, ...]


@dataclass(frozen=True, slots=True)
class RuleTable:
    """The whole table plus precomputed log tables, so the hot path only adds floats."""

    version: str
    thresholds: Thresholds
    causes: tuple[str, ...]
    cause_specs: Mapping[str, CauseSpec]
    multipliers: Mapping[str, Mapping[str, float]]  # feature -> cause -> multiplier
    rule_must_exclude: Mapping[str, tuple[str, ...]]
    # ln(prior) per class in `causes` order; -inf marks a zero prior (cause impossible).
    log_priors: Mapping[SurgeryClass, tuple[float, ...]]
    # feature -> ((cause index, ln multiplier), ...)
    log_multipliers: Mapping[str, tuple[tuple[int, float], ...]]
    # cause -> feature -> (rank, factor): rank 0 is the strongest effect (largest |ln m|, ties by
    # feature id); the factors are immutable models built once, so a result can share them
    cause_effects: Mapping[str, Mapping[str, tuple[int, CauseFactor]]]


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(f"rule table: {message}")


def _thresholds(raw: Any) -> Thresholds:
    _require(isinstance(raw, dict), "thresholds must be a mapping")
    names = {f.name for f in dataclasses.fields(Thresholds)}
    _require(set(raw) == names, f"thresholds keys differ: {sorted(set(raw) ^ names)}")
    for key, value in raw.items():
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        _require(ok, f"thresholds.{key} must be a number")
    return Thresholds(**{k: float(v) for k, v in raw.items()})


def _teams(raw: Any, where: str) -> tuple[Team, ...]:
    teams = tuple(raw or ())
    for team in teams:
        _require(team in TEAMS, f"{where}: unknown team {team!r}")
    return teams


def _cause(name: str, raw: Any) -> CauseSpec:
    _require(isinstance(raw, dict), f"causes.{name} must be a mapping")
    priors = raw.get("priors") or {}
    _require(set(priors) == set(SURGERY_CLASSES), f"causes.{name}.priors needs every class")
    for cls, weight in priors.items():
        ok = isinstance(weight, int | float) and weight >= 0
        _require(ok, f"causes.{name}.priors.{cls} must be >= 0")
    return CauseSpec(
        name=name,
        priors={cls: float(priors[cls]) for cls in SURGERY_CLASSES},
        required_teams=_teams(raw.get("required_teams"), f"causes.{name}.required_teams"),
        required_one_of=_teams(raw.get("required_one_of"), f"causes.{name}.required_one_of"),
        optional_teams=_teams(raw.get("optional_teams"), f"causes.{name}.optional_teams"),
    )


def _log_priors(specs: Mapping[str, CauseSpec]) -> dict[SurgeryClass, tuple[float, ...]]:
    table: dict[SurgeryClass, tuple[float, ...]] = {}
    for cls in SURGERY_CLASSES:
        total = sum(spec.priors[cls] for spec in specs.values())
        _require(total > 0, f"every prior for class {cls} is zero")
        table[cls] = tuple(
            math.log(spec.priors[cls] / total) if spec.priors[cls] > 0 else -math.inf
            for spec in specs.values()
        )
    return table


def _multipliers(raw: Any, causes: tuple[str, ...]) -> dict[str, dict[str, float]]:
    _require(isinstance(raw, dict) and bool(raw), "features must be a non-empty mapping")
    table: dict[str, dict[str, float]] = {}
    for feature, body in raw.items():
        mults = (body or {}).get("multipliers") or {}
        _require(bool(mults), f"features.{feature} has no multipliers")
        for cause, m in mults.items():
            _require(cause in causes, f"features.{feature}: unknown cause {cause!r}")
            ok = isinstance(m, int | float) and not isinstance(m, bool) and m > 0
            _require(ok, f"features.{feature}.{cause} must be > 0")
        table[feature] = {cause: float(m) for cause, m in mults.items()}
    return table


def _cause_effects(
    cause: str, multipliers: Mapping[str, Mapping[str, float]]
) -> dict[str, tuple[int, CauseFactor]]:
    moved = sorted(
        (-abs(math.log(mults[cause])), feature, mults[cause])
        for feature, mults in multipliers.items() if mults.get(cause, 1.0) != 1.0
    )
    return {
        feature: (rank, CauseFactor(feature=feature, multiplier=multiplier))
        for rank, (_, feature, multiplier) in enumerate(moved)
    }


def parse_rule_table(raw: Any) -> RuleTable:
    """Validate a parsed YAML document and build the rule table; ValueError names the bad key."""
    _require(isinstance(raw, dict), "document must be a mapping")
    version = raw.get("version")
    _require(isinstance(version, str) and bool(version), "version must be a non-empty string")
    causes_raw = raw.get("causes")
    _require(isinstance(causes_raw, dict) and bool(causes_raw), "causes must be a mapping")
    specs = {name: _cause(name, body) for name, body in causes_raw.items()}
    causes = tuple(specs)
    multipliers = _multipliers(raw.get("features"), causes)
    index = {cause: i for i, cause in enumerate(causes)}
    must_exclude = {
        rule: tuple(names) for rule, names in (raw.get("rule_must_exclude") or {}).items()
    }
    return RuleTable(
        version=str(version),
        thresholds=_thresholds(raw.get("thresholds")),
        causes=causes,
        cause_specs=specs,
        multipliers=multipliers,
        rule_must_exclude=must_exclude,
        log_priors=_log_priors(specs),
        log_multipliers={
            feature: tuple((index[c], math.log(m)) for c, m in mults.items() if m != 1)
            for feature, mults in multipliers.items()
        },
        cause_effects={cause: _cause_effects(cause, multipliers) for cause in causes},
    )


def load_rule_table(path: Path = RULE_TABLE_PATH) -> RuleTable:
    """Read and validate a rule table file."""
    with path.open(encoding="utf-8") as handle:
        return parse_rule_table(load_config_yaml(handle.read()))


@cache
def rule_table() -> RuleTable:
    """The packaged rule table, loaded once per process."""
    return load_rule_table()
