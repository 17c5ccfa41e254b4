"""A cancellation after the case completed changes nothing in notify (review 3b, defect 2).

Routing ignores a cancel once the case completed: the reports stand. Notify must agree: the ops
summary and the referrer's status stay `completed`, and the referrer, told `status_completed`,
is not told `status_cancelled` afterwards.
"""

from __future__ import annotations

from datetime import timedelta

from services.notify.casefile import CaseSummary, apply_event, referrer_status
from services.notify.domain.state import CaseState
from tests.unit.casefile import events as ev
from tests.unit.notify.notify_builders import T0, CaseFlow, Harness


def _completed(case_id: str = "c1") -> CaseSummary:
    summary: CaseSummary | None = None
    for event in (ev.received(case_id, 0), ev.triaged(case_id, 1), ev.offered(case_id, 2),
                  ev.accepted(case_id, 5), ev.step_completed(case_id, 30),
                  ev.case_completed(case_id, 31)):
        summary = apply_event(summary, event)
    assert summary is not None and summary.status == "completed"
    return summary


def test_the_summary_and_the_referrer_status_stay_completed() -> None:
    done = _completed()
    late = apply_event(done, ev.cancelled("c1", 60 * 24 * 3))
    assert late is not None
    assert late.status == "completed" and late.stages.cancelled is None
    assert late.clocks == done.clocks  # what was reported about the clocks stands
    assert referrer_status(late).status == "completed"


def test_a_late_cancel_read_before_the_completion_still_ends_completed() -> None:
    # Two topics: notify may read the referrer's late cancel before routing's CaseCompleted.
    summary: CaseSummary | None = None
    for event in (ev.received("c1", 0), ev.triaged("c1", 1), ev.offered("c1", 2),
                  ev.accepted("c1", 5), ev.cancelled("c1", 40), ev.step_completed("c1", 30),
                  ev.case_completed("c1", 31)):
        summary = apply_event(summary, event)
    assert summary is not None and summary.status == "completed"


def _flow_to_completion() -> tuple[Harness, CaseFlow]:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(T0))
    h.apply(flow.offered(T0))
    h.apply(flow.accepted(T0 + timedelta(minutes=10)))
    h.apply(flow.step_completed(T0 + timedelta(hours=5)))
    h.apply(flow.case_completed(T0 + timedelta(hours=5)))
    assert h.notifications[-1] == ("referrer", "ref-1", "status_completed")
    return h, flow


def test_the_referrer_told_completed_is_not_told_cancelled() -> None:
    h, flow = _flow_to_completion()
    before = h.state
    assert before is not None
    out = h.apply(flow.cancelled(T0 + timedelta(days=3)))
    assert out.notifications == [] and out.events == []
    assert out.state.clocks == before.clocks and out.state.chains == before.chains
    assert h.notifications[-1] == ("referrer", "ref-1", "status_completed")


def test_the_completed_mark_survives_the_table_and_is_absent_on_other_rows() -> None:
    h, _ = _flow_to_completion()
    assert h.state is not None
    row = CaseState.from_json(h.state.to_json())
    assert row.completed
    # Written only when set, like `erased`: the previous release refuses unknown fields.
    assert '"completed"' not in CaseState(case_id="c2").to_json()
