"""`./dev chaos`: run the chaos scenarios, print the figures, exit 1 on any violation.

    python -m scripts.chaos [--scenario one|two|both] [--referrals N] [--rate R] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
import tempfile
from pathlib import Path

from scripts.chaos.runner import Scenario, describe, run
from services.common.settings import REPO_ROOT


def scenarios(
    which: str, referrals: int, rate: float, settle: float, receiver_down: float
) -> list[Scenario]:
    """The one-worker scenario (every fault, restarts) and the two-worker one (no restarts)."""
    found = []
    if which in ("one", "both"):
        found.append(Scenario("one worker per service", 1, referrals, rate, settle=settle,
                              receiver_down=receiver_down))
    if which in ("two", "both"):
        found.append(Scenario("two workers per service", 2, referrals, rate, settle=settle))
    return found


def _log(line: str) -> None:
    print(f"   {datetime.datetime.now(datetime.UTC):%H:%M:%S} {line}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", choices=("one", "two", "both"), default="both")
    parser.add_argument("--referrals", type=int, default=600)
    parser.add_argument("--rate", type=float, default=3.0, help="referrals per second")
    parser.add_argument("--settle", type=float, default=25.0, help="seconds between faults")
    parser.add_argument("--receiver-down", type=float, default=60.0, help="seconds")
    parser.add_argument("--dynamic-membership", action="store_true",
                        help="no FAUST_GROUP_INSTANCE_ID (to measure what static membership buys)")
    parser.add_argument("--keep", type=Path, default=None, help="keep logs and data here")
    args = parser.parse_args(argv)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                            capture_output=True, text=True).stdout.strip()
    print(f"chaos run {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC at {commit}")
    failed = False
    for scenario in scenarios(args.scenario, args.referrals, args.rate, args.settle,
                              args.receiver_down):
        scenario.static_membership = not args.dynamic_membership
        with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
            workdir = (args.keep or Path(tmp)) / scenario.name.replace(" ", "-")
            outcome = run(scenario, workdir, log=_log)
            print(describe(outcome), flush=True)
            failed |= not outcome.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
