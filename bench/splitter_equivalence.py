"""PyRuSH's full walk against the filtered one (text/sentences.py), over every table row.

    python bench/splitter_equivalence.py [--hostile]

Every row of every table (tests/unit/triage/text/*.txt, read as the tests read them: context,
as_of) is triaged twice, with pipeline.FAST_SENTENCES off and on. While the filtered pipeline
reads, every text PyRuSH is given (the respelled text, as the reader hands it over) is also
split by the full walk; prints the texts whose FastCNER matches or sentence spans differ, and
the rows whose urgency or fired rules differ. --hostile adds the shapes of
`python -m bench triage --hostile` (slow: a minute or two per pass).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.referral import Referral  # noqa: E402
from services.triage.engine import triage_referral  # noqa: E402
from services.triage.engine.text.lexicon import lexicon  # noqa: E402

# the package re-exports the function `pipeline` under the module's name
pipeline_module = importlib.import_module("services.triage.engine.text.pipeline")

TABLE_DIR = ROOT / "tests" / "unit" / "triage" / "text"


def rows() -> list[tuple[str, dict[str, Any], Any]]:
    """(table:line, referral fields, as_of) for every row, as the table tests read them."""
    from tests.unit.triage.text.test_text_blind_narratives import (
        RECEIVED,
        TABLES,
        UNDATED,
        as_question,
    )
    from tests.unit.triage.text.test_text_narratives import BASE

    found = []
    for path in sorted(TABLE_DIR.glob("*.txt")):
        place, base = TABLES.get(path.name, (as_question, BASE))
        as_of = RECEIVED if path.name in TABLES and path.name not in UNDATED else None
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if " || " not in line or line.startswith("#"):
                continue
            text = line.split(" || ", 1)[1]
            found.append((f"{path.name}:{number}", {**base, **place(text)}, as_of))
    return found


def hostile_rows() -> list[tuple[str, dict[str, Any], Any]]:
    from bench.triage_bench import HOSTILE, RECEIVED

    limit = lexicon().max_text_chars
    base = {"referral_id": "h-1", "referral_type": "post_surgery", "region": "lumbar",
            "age": 50, "sex": "F", "surgeries": [{"procedure": "discectomy",
                                                  "weeks_before_referral": 20}]}
    found = []
    for name, words in HOSTILE.items():
        text = (words * (limit // len(words) + 1))[:limit]
        narratives = [{"source": "letter", "text": text[i:i + 20_000]}
                      for i in range(0, limit, 20_000)]
        found.append((f"hostile {name}", {**base, "narratives": narratives}, RECEIVED))
    return found


def use(fast: bool) -> Any:
    """The process-wide pipeline, rebuilt with the filtered walk on or off."""
    pipeline_module.FAST_SENTENCES = fast
    pipeline_module._pipelines.clear()
    return pipeline_module.pipeline(lexicon())


class Spy:
    """Splits every text PyRuSH is given with both walks; returns the filtered walk's spans."""

    def __init__(self, nlp: Any) -> None:
        self.rush = nlp.get_pipe("medspacy_pyrush").rush
        self.split = self.rush.segToSentenceSpans
        self.texts = 0
        self.match_diffs: list[str] = []
        self.span_diffs: list[str] = []
        self.fallbacks = 0
        self.rush.segToSentenceSpans = self

    def __call__(self, text: str) -> Any:
        fastner = self.rush.fastner
        filtered = fastner.process
        self.texts += 1
        if "\\" in text:
            self.fallbacks += 1
        matches = {}
        for name, process in (("full", fastner.full_process), ("filtered", filtered)):
            found: dict[str, list] = {"stbegin": [], "stend": []}
            process(text, 0, found)
            matches[name] = {k: [(s.begin, s.end, s.rule_id) for s in v] for k, v in found.items()}
        fastner.process = fastner.full_process
        try:
            full = self.split(text)
        finally:
            fastner.process = filtered
        spans = self.split(text)
        if matches["full"] != matches["filtered"]:
            self.match_diffs.append(text[:60])
        if [(s.begin, s.end) for s in full] != [(s.begin, s.end) for s in spans]:
            self.span_diffs.append(text[:60])
        return spans


def triage_all(cases: list[tuple[str, dict[str, Any], Any]]) -> tuple[dict[str, Any], float]:
    results = {}
    start = time.process_time()
    for name, fields, as_of in cases:
        result = triage_referral(Referral.model_validate(fields), as_of=as_of)
        results[name] = (result.urgency, sorted(r.rule_id for r in result.fired_rules))
    return results, time.process_time() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hostile", action="store_true", help="also the hostile shapes")
    args = parser.parse_args()
    cases = rows() + (hostile_rows() if args.hostile else [])
    print(f"{len(cases)} referrals ({len(rows())} table rows)")
    use(False)
    old, old_cpu = triage_all(cases)
    spy = Spy(use(True))
    new, new_cpu = triage_all(cases)
    print(f"texts split: {spy.texts} (full walk for {spy.fallbacks}: a backslash)")
    print(f"texts whose FastCNER matches differ: {len(spy.match_diffs)}")
    print(f"texts whose sentence boundaries differ: {len(spy.span_diffs)}")
    for text in spy.span_diffs[:20]:
        print(f"  {text!r}")
    urgency = [n for n in old if old[n][0] != new[n][0]]
    rules = [n for n in old if old[n] != new[n]]
    print(f"referrals whose urgency differs: {len(urgency)}; whose fired rules differ: "
          f"{len(rules)}")
    for name in rules[:20]:
        print(f"  {name}: {old[name]} -> {new[name]}")
    print(f"triage CPU over these referrals: full walk {old_cpu:.1f} s, filtered "
          f"{new_cpu:.1f} s (the filtered pass also runs the full walk, for the comparison)")
    return 1 if spy.match_diffs or spy.span_diffs or rules else 0


if __name__ == "__main__":
    sys.exit(main())
