"""Load and check red_flag_lexicon.yaml once: concepts, combinations and ConText rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from services.common.config_yaml import load_config_yaml
from services.triage.engine.text.spelling import lexicon_words

LEXICON_PATH = Path(__file__).with_name("red_flag_lexicon.yaml")
CANCELLING = {  # ConText category -> set-aside reason, strongest first
    "FAMILY": "family",
    "NEGATED_EXISTENCE": "negated",
    "RULED_OUT": "ruled_out",
    "HYPOTHETICAL": "hypothetical",
    "HISTORICAL": "historical",
}
OPTIONAL_CANCELLING = {"LONGSTANDING": "longstanding_or_stable", "EXPLAINED": "explained"}
URGENCIES = ("routine", "soon", "urgent", "emergency")
REGIONS = frozenset({"lumbar", "cervical", "thoracic"})  # schemas.referral's Referral.region
VALUE_KINDS = ("temperature", "number", "duration_weeks", "volume_ml", "length_mm", "crp_mg_l",
               "days_until", "pain_score", "weeks_ago", "days_ago", "weight_drop_kg", "crp_rise",
               "crp_latest")
DATED_KINDS = ("weeks_ago", "days_ago")  # value kinds whose words end on ConText's own "ago"
# Structured fields text may stand for, with the order in which a value is "worse" (raising
# only). None means a number (higher is worse) or a boolean (true is worse).
FIELD_ORDERS: dict[str, tuple[str, ...] | None] = {
    "red_flags.saddle_anaesthesia": None,
    "red_flags.bladder_change": (
        "none", "longstanding_unchanged", "new_altered_sensation_or_hesitancy",
        "retention_or_incontinence",
    ),
    "red_flags.bowel_incontinence": None,
    "red_flags.sexual_dysfunction_new": None,
    "red_flags.bilateral_radicular_new_or_worsening_14d": None,
    "red_flags.fever_c": None,
    "red_flags.wound_drainage": None,
    "red_flags.wound_erythema": None,
    "red_flags.crp_mg_l": None,
    "red_flags.crp_trend": ("unknown", "falling", "rising"),
    "red_flags.weight_loss_unexplained": None,
    "red_flags.night_pain_unremitting": None,
    "red_flags.trauma": ("none", "low_energy", "high_energy"),
    "neuro_exam.motor_deficit": ("none", "mild", "severe"),
    "neuro_exam.motor_progressing": None,
    "neuro_exam.myelopathy_signs": None,
    "comorbidities.immunosuppressed": None,
    "comorbidities.diabetes": None,
    "comorbidities.iv_drug_use": None,
    "comorbidities.osteoporosis": None,
    "comorbidities.anticoagulant": None,
    "comorbidities.cancer_history": None,
    "imaging.discitis_signs": None,
    "imaging.fluid_collection": None,
    "imaging.bone_lesion": None,
    "imaging.new_fracture": None,
    "imaging.hardware_breakage_or_migration": None,
    "imaging.hardware_malposition": None,
    "imaging.cauda_equina_compression": ("none", "equivocal", "present"),
    "imaging.screw_lucency_mm": None,
    "imaging.fusion_status": ("none", "solid", "incomplete", "absent"),
    # 3.2's soon modifier: raised like a red-flag field (a higher limb score, compression seen)
    "symptoms.nrs_limb": None,
    "imaging.concordant_compression": None,
    # cause-model features: their concepts are `only_if_absent` (fill what the referrer left
    # unset, never overrule a coded value)
    "symptoms.dominant": None,
    "symptoms.pain_distribution": None,
    "symptoms.aggravators": None,
    "symptoms.character": None,
    "timeline.pain_free_interval_weeks": None,
    "timeline.onset_weeks_after_last_surgery": None,
    "symptoms.vs_preop_pain": None,
    "timeline.current_episode_days": None,
    # 3.2: a proposed operation within 14 days, from relative words only (days.py); a coded
    # date is never overruled
    "proposed_surgery.days_until_scheduled": None,
    # 3.1's early post-operative rules count from the last operation: one the text names that is
    # newer than every coded one joins the list (overlay.py, `_Builder.newer_operation`)
    "surgeries.weeks_before_referral": None,
}


@dataclass(frozen=True, slots=True)
class Concept:
    name: str
    sets: tuple[tuple[str, Any], ...] = ()
    value: str | None = None
    fires: tuple[str, str] | None = None  # (rule id, level)
    rules: tuple[str, ...] = ()
    only_if_absent: bool = False
    history_counts: bool = False
    also_cancelled_by: frozenset[str] = frozenset()
    cue: bool = False
    mask: bool = False  # its longer span only hides shorter ones ("fluid retention"): not read
    phrases: tuple[str, ...] = ()
    patterns: tuple[list[dict[str, Any]], ...] = ()
    # The spine regions whose referrals the concept belongs to (empty: every region). "Both
    # arms" is radicular only in a cervical referral; in a lumbar one it is another complaint.
    regions: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Combination:
    concept: str
    all: tuple[str, ...]
    within: str  # sentence | text
    # Set aside (stable) when one of these ends the scope after the parts: "new 4/5, stable".
    unless: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Lexicon:
    version: str
    max_text_chars: int
    concepts: dict[str, Concept]
    combinations: tuple[Combination, ...]
    context_rules: tuple[dict[str, Any], ...]
    drop_default_context: frozenset[str] = field(default_factory=frozenset)
    # Concepts that only fill fields the referrer left empty (cause-model features); worked
    # out once at load, read for every text.
    fill_ins: frozenset[str] = field(default_factory=frozenset)
    masks: frozenset[str] = field(default_factory=frozenset)  # role: mask concepts, at load
    # Concepts dated "N weeks / days ago": ConText's own "ago" is among their words and still
    # speaks for the other mentions around it ("offered surgery a fortnight ago" is no date ahead)
    dated: frozenset[str] = field(default_factory=frozenset)
    words: frozenset[str] = field(default_factory=frozenset)  # what spelling.py mends toward


def _concept(name: str, raw: dict[str, Any], rule_ids: set[str]) -> Concept:
    known = {"sets", "value", "fires", "rules", "only_if_absent", "history_counts",
             "also_cancelled_by", "role", "phrases", "patterns", "regions"}
    if unknown := set(raw) - known:
        raise ValueError(f"lexicon concept {name}: unknown keys {sorted(unknown)}")
    sets = tuple((raw.get("sets") or {}).items())
    for field_path, _ in sets:
        if field_path not in FIELD_ORDERS:
            raise ValueError(f"lexicon concept {name}: unknown field {field_path}")
    fires = raw.get("fires")
    if fires is not None and (fires.get("rule") not in rule_ids or fires.get("level") not in
                              URGENCIES):
        raise ValueError(f"lexicon concept {name}: fires needs a known rule and level")
    rules = tuple(raw.get("rules") or ())
    if unknown_rules := set(rules) - rule_ids:
        raise ValueError(f"lexicon concept {name}: unknown rules {sorted(unknown_rules)}")
    if raw.get("role") not in (None, "cue", "mask"):
        raise ValueError(f"lexicon concept {name}: role is cue or mask")
    if raw.get("value") is not None and raw["value"] not in VALUE_KINDS:
        raise ValueError(f"lexicon concept {name}: value must be one of {VALUE_KINDS}")
    extra = frozenset(raw.get("also_cancelled_by") or ())
    if extra - set(OPTIONAL_CANCELLING):
        raise ValueError(f"lexicon concept {name}: also_cancelled_by {sorted(extra)}")
    phrases = tuple(str(p).lower() for p in raw.get("phrases") or ())
    regions = frozenset(raw.get("regions") or ())
    if regions - REGIONS:
        raise ValueError(f"lexicon concept {name}: regions must be among {sorted(REGIONS)}")
    for pattern in raw.get("patterns") or ():
        _check_pattern(name, pattern)
    return Concept(
        name=name, sets=sets, value=raw.get("value"),
        fires=(fires["rule"], fires["level"]) if fires else None, rules=rules,
        only_if_absent=bool(raw.get("only_if_absent")),
        history_counts=bool(raw.get("history_counts")), also_cancelled_by=extra,
        cue=raw.get("role") == "cue", mask=raw.get("role") == "mask", phrases=phrases,
        patterns=tuple(raw.get("patterns") or ()), regions=regions,
    )


def _check_pattern(name: str, pattern: Any) -> None:
    # YAML turns a bare `on` or `no` into a boolean: a word list must hold strings only.
    if not isinstance(pattern, list) or not all(isinstance(t, dict) for t in pattern):
        raise ValueError(f"lexicon concept {name}: a pattern is a list of token dicts")
    for token in pattern:
        for key, attr in token.items():
            words = attr.get("IN") if isinstance(attr, dict) else None
            if words is not None and not all(isinstance(w, str) for w in words):
                raise ValueError(f"lexicon concept {name}: quote the words in {words}")
            if key in ("LOWER", "TEXT") and isinstance(attr, bool):  # {LOWER: yes}
                raise ValueError(f"lexicon concept {name}: quote the word in {token}")


def load_lexicon(path: Path, rule_ids: set[str]) -> Lexicon:
    """Load and check a lexicon file (ValueError names the bad concept or key)."""
    raw = load_config_yaml(path.read_text(encoding="utf-8"))
    concepts = {
        name: _concept(name, spec or {}, rule_ids)
        for name, spec in {**raw["concepts"], **(raw.get("derived_concepts") or {})}.items()
    }
    combinations = []
    for combo in raw.get("combinations") or ():
        parts, unless = tuple(combo["all"]), tuple(combo.get("unless") or ())
        if combo["concept"] not in concepts or not set(parts) | set(unless) <= set(concepts):
            raise ValueError(f"lexicon combination {combo}: unknown concept")
        if combo.get("within", "sentence") not in ("sentence", "text"):
            raise ValueError(f"lexicon combination {combo}: within is sentence or text")
        combinations.append(Combination(combo["concept"], parts, combo.get("within", "sentence"),
                                        unless))
    for rule in raw.get("context_rules") or ():
        _check_pattern(f"context rule {rule.get('literal')}", rule.get("pattern") or [])
        if unknown := set(rule.get("allowed_types") or ()) - set(concepts):
            raise ValueError(f"context rule {rule.get('literal')}: unknown concepts {unknown}")
    return Lexicon(
        version=str(raw["version"]), max_text_chars=int(raw["max_text_chars"]),
        concepts=concepts, combinations=tuple(combinations),
        context_rules=tuple(raw.get("context_rules") or ()),
        drop_default_context=frozenset(raw.get("drop_default_context") or ()),
        fill_ins=frozenset(name for name, c in concepts.items() if c.only_if_absent),
        masks=frozenset(name for name, c in concepts.items() if c.mask),
        dated=frozenset(name for name, c in concepts.items() if c.value in DATED_KINDS),
        words=lexicon_words(concepts.values(), raw.get("context_rules") or ()),
    )


@cache
def lexicon() -> Lexicon:
    """The packaged lexicon, loaded and checked once per process."""
    from services.triage.engine.urgency import URGENCY_RULES  # the rule ids it may name

    return load_lexicon(LEXICON_PATH, {rule_id for rule_id, _ in URGENCY_RULES})
