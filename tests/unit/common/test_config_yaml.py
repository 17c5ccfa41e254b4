"""Hand-edited YAML refuses a repeated key instead of keeping the last one silently."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.common.config_yaml import DuplicateKeyError, load_config_yaml
from services.common.sla_policy import load_sla_policy
from services.triage.engine.rule_table import load_rule_table
from services.triage.engine.text.lexicon import LEXICON_PATH, load_lexicon
from services.triage.engine.urgency import URGENCY_RULES

REPEATED = """
concepts:
  fever:
    patterns: [[{LOWER: fever}]]
    phrases: [pyrexia]
    patterns: [[{LOWER: rigors}]]
"""


def test_a_repeated_key_is_an_error_naming_it_and_its_line() -> None:
    with pytest.raises(DuplicateKeyError, match=r"'patterns' repeated at line 6"):
        load_config_yaml(REPEATED)


def test_without_repeats_it_reads_as_safe_load() -> None:
    text = "a: 1\nb: [x, {c: 'yes', d: null}]\nc: {e: 2}\n"
    assert load_config_yaml(text) == yaml.safe_load(text)


def test_the_lexicon_refuses_a_concept_with_two_pattern_lists(tmp_path: Path) -> None:
    text = LEXICON_PATH.read_text(encoding="utf-8").replace(
        "  bowel_incontinence:\n",
        "  bowel_incontinence:\n    patterns: [[{LOWER: soiled}]]\n", 1)
    path = tmp_path / "lexicon.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DuplicateKeyError, match="patterns"):
        load_lexicon(path, {rule_id for rule_id, _ in URGENCY_RULES})


def test_the_lexicon_refuses_an_unquoted_yes_as_a_word(tmp_path: Path) -> None:
    # YAML reads a bare `yes` as True; spaCy then refuses the pattern at the first referral read
    text = LEXICON_PATH.read_text(encoding="utf-8").replace(
        "  sexual_dysfunction_new:\n", "  sexual_dysfunction_probe:\n    patterns: [[{LOWER: ok}, "
        "{LOWER: yes}]]\n  sexual_dysfunction_new:\n", 1)
    path = tmp_path / "lexicon.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="quote the word"):
        load_lexicon(path, {rule_id for rule_id, _ in URGENCY_RULES})


def test_the_packaged_files_have_no_repeated_keys() -> None:
    load_lexicon(LEXICON_PATH, {rule_id for rule_id, _ in URGENCY_RULES})
    load_rule_table()


def test_an_sla_policy_file_with_a_repeated_urgency_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sla.yaml"
    path.write_text("urgencies:\n  soon: {turnaround_seconds: 60}\n"
                    "  soon: {turnaround_seconds: 600}\n", encoding="utf-8")
    monkeypatch.setenv("SLA_POLICY_FILE", str(path))
    with pytest.raises(DuplicateKeyError, match="'soon' repeated at line 3"):
        load_sla_policy()


def test_the_lexicon_lists_each_phrase_once_and_only_words_as_phrases() -> None:
    # A hand edit can append a token pattern to a phrase list (the lexicon reads it as nothing)
    # or list a phrase twice; neither is an error YAML reports.
    concepts = load_config_yaml(LEXICON_PATH.read_text(encoding="utf-8"))["concepts"]
    for name, concept in concepts.items():
        phrases = concept.get("phrases") or []
        assert all(isinstance(p, str) for p in phrases), f"{name}: a pattern among its phrases"
        repeated = {p for p in phrases if phrases.count(p) > 1}
        assert not repeated, f"{name} lists {sorted(repeated)} twice"
        patterns = concept.get("patterns") or []
        assert all(isinstance(p, list) for p in patterns), f"{name}: a phrase among its patterns"
