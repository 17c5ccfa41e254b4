"""Intake's FHIR status view: event folding rate, Task/DiagnosticReport rendering (with R4B
validation) and memory per case held. Prints figures; asserts nothing.

    .venv/bin/python -m bench fhir_status [--cases 5000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.cases import ReferralReceived  # noqa: E402
from schemas.envelope import Event  # noqa: E402
from schemas.referral import Referral  # noqa: E402
from schemas.reports import ReviewReport  # noqa: E402
from schemas.routing import (  # noqa: E402
    AssignmentAccepted,
    AssignmentCompleted,
    AssignmentOffered,
    CaseCompleted,
)
from services.intake.domain.registry import CaseRecord  # noqa: E402
from services.intake.fhir import resources  # noqa: E402
from services.intake.fhir.taskview import TaskView, progress_of  # noqa: E402

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Parsed per case, as the follower parses each event from Kafka (no shared objects).
REFERRAL_JSON = json.dumps(json.loads(
    (ROOT / "tests/fixtures/fhir/fbss-recurrent-disc.referral.json").read_text()))
REPORT = ReviewReport(conclusion="agrees", opinion="Recurrent disc at L4-5; revision advised.",
                      recommendations=["MRI with contrast"])


def case_events(case_id: str) -> list[Event]:
    step = {"case_id": case_id, "step_id": "spine_surgery", "team": "spine_surgery"}
    return [
        ReferralReceived(event_id=f"r-{case_id}", case_id=case_id, occurred_at=NOW,
                         referrer_id="ref-bench",
                         referral=Referral.model_validate_json(REFERRAL_JSON)),
        AssignmentOffered(event_id=f"o-{case_id}", occurred_at=NOW, specialist_id="s1",
                          urgency="soon", offer_expires_at=NOW + timedelta(hours=4), attempt=1,
                          deadline=NOW + timedelta(days=14), **step),
        AssignmentAccepted(event_id=f"a-{case_id}", occurred_at=NOW, specialist_id="s1",
                           urgency="soon", **step),
        AssignmentCompleted(event_id=f"c-{case_id}", occurred_at=NOW, specialist_id="s1",
                            report_ref=f"/cases/{case_id}/reports/spine_surgery",
                            report=REPORT, **step),
        CaseCompleted(event_id=f"d-{case_id}", case_id=case_id, occurred_at=NOW),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=5000)
    args = parser.parse_args()
    tracemalloc.start()
    events = [e for i in range(args.cases) for e in case_events(f"case-{i:06d}")]
    view = TaskView(max_cases=args.cases)
    start = time.process_time()
    for event in events:
        view.apply(event)
    fold = time.process_time() - start
    del events  # what stays is what the view holds
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    sample = list(view.cases.values())[:500]
    records = [CaseRecord(case_id=c.case_id, referrer_id="ref-bench", referral_id=c.case_id,
                          revision=1, first_body_hash="h", body_hash="h", updated_at=NOW)
               for c in sample]
    start = time.process_time()
    for record, case in zip(records, sample, strict=True):
        resources.task_resource(record, case, progress_of(case), [])
    task_cpu = (time.process_time() - start) / len(sample)
    start = time.process_time()
    for record, case in zip(records, sample, strict=True):
        resources.report_resource(record, "spine_surgery", case.steps["spine_surgery"])
    report_cpu = (time.process_time() - start) / len(sample)

    print(f"cases: {args.cases}, events folded: {5 * args.cases}")
    print(f"fold: {5 * args.cases / fold:,.0f} events/s of CPU")
    print(f"memory held by the view: {held / args.cases / 1024:.1f} KiB per case "
          f"(request summary and report included)")
    print(f"Task render + R4B validation: {task_cpu * 1000:.2f} ms CPU each")
    print(f"DiagnosticReport render + R4B validation: {report_cpu * 1000:.2f} ms CPU each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
