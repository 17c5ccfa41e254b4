"""Reading CPU per text, PyRuSH's share of it, and peak RSS: full walk against filtered walk.

    python bench/splitter_bench.py [--repeats 3]

The sample is every row of the sixteen blind tables and narratives.txt (line breaks rendered
" | "). For pipeline.FAST_SENTENCES off and on: CPU per text (process time, median of the
repeats) of PyRuSH alone on tokenized docs, of the whole medspaCy pipeline, and of
`triage_referral` on each row as a clinical question; then the peak RSS of a fresh process that
builds the pipeline and triages the sample once, for each setting.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TABLE_DIR = ROOT / "tests" / "unit" / "triage" / "text"
BASE = {"referral_id": "n-1", "referral_type": "post_surgery", "region": "lumbar", "age": 50,
        "sex": "F", "surgeries": [{"procedure": "discectomy", "weeks_before_referral": 20}]}


def sample() -> list[str]:
    texts = []
    for path in [*sorted(TABLE_DIR.glob("blind_*.txt")), TABLE_DIR / "narratives.txt"]:
        for line in path.read_text("utf-8").splitlines():
            if " || " in line and not line.startswith("#"):
                texts.append(line.split(" || ", 1)[1])
    return texts


def build(fast: bool) -> Any:
    module = importlib.import_module("services.triage.engine.text.pipeline")
    from services.triage.engine.text.lexicon import lexicon

    module.FAST_SENTENCES = fast
    module._pipelines.clear()
    return module.pipeline(lexicon())


def per_text(run: Callable[[], object], count: int, repeats: int) -> float:
    """Median over `repeats` of the CPU milliseconds per text of one `run` over the sample."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        run()
        times.append((time.process_time() - start) / count * 1000)
    return statistics.median(times)


def measure(fast: bool, texts: list[str], repeats: int) -> dict[str, float]:
    from schemas.referral import Referral
    from services.triage.engine import triage_referral

    start = time.process_time()
    nlp = build(fast)
    built = time.process_time() - start
    rush = nlp.get_pipe("medspacy_pyrush")
    docs = [nlp.make_doc(t) for t in texts]
    referrals = [Referral.model_validate({**BASE, "clinical_question": t}) for t in texts]

    def split() -> None:
        for doc in docs:
            rush(doc)

    def read() -> None:
        for _ in nlp.pipe(texts):
            pass

    def triage() -> None:
        for referral in referrals:
            triage_referral(referral)

    triage()  # warm: the speller's index, the rule table
    return {"build_s": built, "pyrush_ms": per_text(split, len(texts), repeats),
            "nlp_ms": per_text(read, len(texts), repeats),
            "triage_ms": per_text(triage, len(texts), repeats)}


def peak_rss(fast: bool) -> float:
    """MB: a fresh process builds the pipeline and triages the sample once."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); import bench.splitter_bench as b; "
            f"b.rss_child({fast})")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["rss_mb"])


def rss_child(fast: bool) -> None:
    from schemas.referral import Referral
    from services.triage.engine import triage_referral

    build(fast)
    for text in sample():
        triage_referral(Referral.model_validate({**BASE, "clinical_question": text}))
    print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    texts = sample()
    print(f"{len(texts)} texts, mean {statistics.mean(map(len, texts)):.0f} characters")
    rows = {}
    for fast in (False, True):
        rows[fast] = measure(fast, texts, args.repeats)
        rows[fast]["rss_mb"] = peak_rss(fast)
    print(f"{'CPU per text (ms)':24s} {'full walk':>10s} {'filtered':>10s}")
    for key, label in (("pyrush_ms", "PyRuSH alone"), ("nlp_ms", "medspaCy pipeline"),
                       ("triage_ms", "triage_referral")):
        print(f"{label:24s} {rows[False][key]:10.2f} {rows[True][key]:10.2f}")
    for fast in (False, True):
        rest = rows[fast]["nlp_ms"] - rows[fast]["pyrush_ms"]
        print(f"  {'filtered' if fast else 'full walk'}: PyRuSH "
              f"{rows[fast]['pyrush_ms'] / rows[fast]['nlp_ms']:.0%} of the pipeline, the rest "
              f"{rest:.2f} ms")
    old, new = rows[False], rows[True]
    print(f"{'pipeline build (s)':24s} {old['build_s']:10.2f} {new['build_s']:10.2f}")
    print(f"{'peak RSS (MB)':24s} {rows[False]['rss_mb']:10.1f} {rows[True]['rss_mb']:10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
