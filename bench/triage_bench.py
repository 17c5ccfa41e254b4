"""Triage throughput on one core over the hand-written cases: python bench/triage_bench.py.

--text none     the cases with every free text removed (structured fields only)
--text cases    the cases as written (most carry one imaging report sentence)
--text letters  the cases plus a referral letter of four to six sentences in clinical_question
--hostile       CPU per referral for hostile free text at the reading limit (repeated words
                that many patterns and negations start on, no full stops), one run per shape
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.referral import Referral  # noqa: E402
from services.triage.engine import rule_table, triage_referral  # noqa: E402
from services.triage.engine.text import warm_pipeline  # noqa: E402

CASES_DIR = ROOT / "tests" / "triage_cases"
# Typical referral letters (no red flag in most, context that must be set aside in some).
LETTERS = (
    "Thank you for seeing this lady who had an L4-5 microdiscectomy last year. Her leg pain "
    "settled for six months and has returned over the last few weeks, mainly leg pain worse on "
    "sitting. She denies any saddle numbness and her bladder and bowels are normal. Father had "
    "bowel cancer. I would be grateful for your opinion on whether revision is indicated.",
    "Persistent back pain after fusion at L4-S1. Pain is mechanical and worse on standing. No "
    "fever, wound healed well. She was safety-netted for cauda equina symptoms. Previous "
    "urinary retention after a catheter in 2019, resolved. Is the fusion solid?",
    "Both legs painful since the weekend and new difficulty starting to pee. Known to have "
    "diabetes. MRI last year showed a broad-based disc bulge. Please advise urgently.",
    "On chemotherapy for breast cancer; new ooze from the wound and night sweats this week. "
    "Temperature 37.6 today. Pain wakes her at night. Return if weakness develops.",
)


def _without_text(referral: Referral) -> Referral:
    studies = [s.model_copy(update={"report_text": None}) for s in referral.imaging]
    return referral.model_copy(update={"imaging": studies, "clinical_question": None,
                                       "narratives": []})


def load_referrals(text: str = "cases") -> list[Referral]:
    """Parse every case once, outside the timed loop (no pydantic re-validation while timing)."""
    paths = sorted(CASES_DIR.glob("*.json"))
    referrals = [Referral.model_validate(json.loads(p.read_text())["referral"]) for p in paths]
    if text == "none":
        return [_without_text(r) for r in referrals]
    if text == "letters":
        return [r.model_copy(update={"clinical_question": LETTERS[i % len(LETTERS)]})
                for i, r in enumerate(referrals)]
    return referrals


# the day of receipt the worker hands the engine (calendar dates count from it)
RECEIVED = date(2026, 11, 27)


# Shapes that once made the reading quadratic: every word a pattern or ConText can start on,
# one endless sentence (fifteenth session, 2026-11-29: "not changed at my review" x 2,400
# took 116 s of CPU before sentences were capped and modifiers compared per sentence).
HOSTILE = {
    "repeated 'has'": "has ",
    "repeated 'leg'": "leg ",
    "'leg pain ,'": "leg pain , ",
    "'not changed at my review'": "not changed at my review ",
    "'no saddle anaesthesia'": "no saddle anaesthesia ",
    "'fusion l4 / 5'": "fusion l4 / 5 ",
    "'in'": "in ",
    "'down the side of the'": "down the side of the ",
    # sixteenth session: a slip in every word (each mended), spoken punctuation, the longest
    # open gaps of the new patterns ("screws ... has snapped", "bottom ... dentist")
    "'numbess incontinance'": "numbess incontinance ",
    "'comma full stop'": "comma full stop ",
    "'screws'": "screws ",
    "'bottom'": "bottom ",
    "'revision surgery'": "revision surgery ",
    "'cannot'": "cannot ",
    "'listed for'": "listed for ",
    # seventeenth session: a calendar date in every word (each becomes "N days ago"), the new
    # "pain unlike before" gaps
    "'revision on 12/11/2026'": "revision on 12/11/2026 ",
    "'new pain in the other'": "new pain in the other ",
    # forms: a box in every word (each written "| no …"), a yes/no pair in every field
    "'☐ saddle'": "☐ saddle ",
    "'retention ☐ Y ☑ N'": "retention ☐ Y ☑ N ",
    # nineteenth session (cervical referrals): the arm's radicular gap, a weekday before every
    # date, root compression's cervical levels, the arms' bilateral pattern
    "'radiating down into the'": "radiating down into the ",
    "'on Fri 20/11'": "on Fri 20/11 ",
    "'foraminal stenosis c6'": "foraminal stenosis c6 ",
    "'pain in both arms'": "pain in both arms ",
    # twentieth session: two weights in every field (weight_fall's gap), a screen's "? No" in
    # every field, the plantarflexion and "new pain down the right leg" gaps, a score before
    # its site
    "'wt 61kg (was 70kg)'": "wt 61kg (was 70kg) ",
    "'Night pain? No.'": "Night pain? No. ",
    "'cant go up on my'": "cant go up on my ",
    "'new pain down my right'": "new pain down my right ",
    "', 8/10 leg'": ", 8/10 leg ",
    # twenty-first session: the crash-to-speed gap (12 words), a screw "... is broke", the
    # fear modifier, a weekday after "since", a bound on a lucency
    "'crash on the motorway'": "crash on the motorway ",
    "'screw on the right side'": "screw on the right side ",
    "'I'm terrified'": "I'm terrified ",
    "'since Saturday'": "since Saturday ",
    "'less than 1 mm lucency'": "less than 1 mm lucency ",
    # the pre-surgery cervical table's patterns: falling serial grades, a constant pain at night
    "'4+/5, 24/10 4/5,'": "4+/5, 24/10 4/5, ",
    "'constant pain in the neck'": "constant pain in the neck ",
    # twenty-second session (the first week after the operation): a CRP series in every field
    # (crp_series' 22-token gap), the wiping clause's gap, discharge advice, "as bad as before"
    "'CRP POD2 96, POD4 55,'": "CRP POD2 96, POD4 55, ",
    "'POD4 55 →'": "POD4 55 → ",
    "'when I wipe'": "when I wipe ",
    "'return to ED if'": "return to ED if ",
    "'leg as bad as before the op'": "leg as bad as before the op ",
    # the US table: a month-first date after every CRP (a series with its unit each), the 911
    # precaution's forward reach
    "'CRP 11/10/26: 1.6 mg/dL;'": "CRP 11/10/26: 1.6 mg/dL; ",
    "'call 911 or go to the ER for'": "call 911 or go to the ER for ",
    # the twenty-third session: a question answered in the next turn (text/dialogue.py), a field
    # answered with its finding, a crash dated by a year, an accident far from its word
    "'Dr: Any numbness? | Pt: no'": "Dr: Any numbness? | Pt: no. ",
    "'Bowels: no control.'": "Bowels: no control. ",
    "'RTA 2019 at 60 mph'": "RTA 2019 at 60 mph, ",
    "'accident in bed on Wednesday'": "accident in bed on Wednesday night ",
}


def hostile(limit: int) -> None:
    base = {"referral_id": "h-1", "referral_type": "post_surgery", "region": "lumbar",
            "age": 50, "sex": "F", "surgeries": [{"procedure": "discectomy",
                                                  "weeks_before_referral": 20}]}
    for name, words in HOSTILE.items():
        text = (words * (limit // len(words) + 1))[:limit]
        referral = Referral.model_validate({**base, "narratives": [
            {"source": "letter", "text": text[i:i + 20_000]} for i in range(0, limit, 20_000)]})
        start = time.process_time()
        result = triage_referral(referral, as_of=RECEIVED)
        print(f"  {name:30s} {limit:,} chars: {time.process_time() - start:6.2f} s CPU "
              f"({result.urgency})")


def window_rate(run: Callable[[Referral], object], referrals: list[Referral],
                seconds: float) -> float:
    """Cases per second of CPU time over one window of about `seconds`, round-robin."""
    done = 0
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - start_wall < seconds:
        for referral in referrals:
            run(referral)
        done += len(referrals)
    return done / (time.process_time() - start_cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--windows", type=int, default=10, help="timed windows")
    parser.add_argument("--seconds", type=float, default=0.5, help="length of each window")
    parser.add_argument("--text", choices=("none", "cases", "letters"), default="cases",
                        help="free text in the referrals (see the module docstring)")
    parser.add_argument("--hostile", action="store_true",
                        help="hostile free text at the reading limit (see the docstring)")
    parser.add_argument("--with-json", action="store_true",
                        help="also serialise each result to JSON, as the agent does")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    referrals = load_referrals(args.text)
    rule_table()  # load the table before timing
    warm_pipeline()  # the medspaCy pipeline is built once per process, not per referral
    if args.hostile:
        from services.triage.engine.text.lexicon import lexicon

        print(f"triage, hostile free text (one core, load avg {os.getloadavg()[0]:.1f})")
        hostile(lexicon().max_text_chars)
        return 0

    def triage_only(referral: Referral) -> object:
        return triage_referral(referral, as_of=RECEIVED)

    def triage_and_json(referral: Referral) -> object:
        return triage_referral(referral, as_of=RECEIVED).model_dump_json()

    run = triage_and_json if args.with_json else triage_only
    for referral in referrals:  # warm up, and check every case runs
        run(referral)
    rates = [window_rate(run, referrals, args.seconds) for _ in range(args.windows)]
    # CPU time, not wall time, so other processes on the machine do not count against us;
    # the best window is the least disturbed one (as timeit advises), the median is typical.
    best, median = max(rates), statistics.median(rates)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"triage{' + JSON' if args.with_json else ''} (text: {args.text}): "
          f"{len(referrals)} distinct cases, "
          f"{args.windows} x {args.seconds}s windows on one core (load avg {load:.1f})")
    print(f"  best   {best:,.0f} cases/s ({1e6 / best:.1f} us/case)")
    print(f"  median {median:,.0f} cases/s ({1e6 / median:.1f} us/case)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
