"""The chaos suite, small (issue 14, item 7): one worker per service, each killed with SIGKILL
and restarted, the broker restarted, the webhook receiver down; then the verdict from the
topics and the receiver. `./dev chaos` runs the full size and the two-worker scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.chaos.runner import Scenario, describe, run

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


def test_one_worker_per_service_survives_every_fault(tmp_path: Path) -> None:
    scenario = Scenario("one worker per service (small)", workers=1, referrals=30, rate=2.0,
                        settle=6.0, broker_down=6.0, receiver_down=8.0, drain_timeout=180.0,
                        boot_allowance=True)
    outcome = run(scenario, tmp_path / "chaos", log=lambda line: print("  ..", line))
    print("\n" + describe(outcome))
    # Every invariant and the recovery bounds (15 s after a kill, 10 s after the broker
    # is back) are checked by the run itself; they are requirements, so they fail the test.
    # Generously: a restarted process's own boot (imports, until it serves HTTP; seconds on a
    # CPU shared by a whole test run) is added to the 15 s; `./dev chaos` holds the bare bound.
    assert outcome.verdict.figures["acknowledged"] >= scenario.referrals
    # Lost offsets (issue 14 item 5) are closed by services/common/safe_offsets.py: a case
    # triaged but not routed, an emergency not paged, a dead letter, is a failure like any other.
    assert outcome.verdict.violations == []
