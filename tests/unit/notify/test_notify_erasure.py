"""An erased case stays erased in notify: events that arrive after CaseErased (other topics are
read by other agents; deliveries are at-least-once) queue nothing and put no patient text back
in the case row. Only ticks, delivery outcomes and routing's RoutingStopped still apply."""

from __future__ import annotations

import json
from datetime import timedelta

from schemas.cases import CaseErased
from schemas.notifications import NotificationFailed
from services.notify.domain.handlers import apply_event
from services.notify.domain.state import CaseState
from tests.unit.notify.notify_builders import POLICY, T0, CaseFlow, FakeContacts, Harness
from tests.unit.notify.test_notify_text_flags import SENTENCE, triaged_from


def erased_case() -> tuple[Harness, CaseFlow]:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(T0))
    h.apply(CaseErased(event_id="e-erased", case_id=flow.case_id, occurred_at=T0,
                       referrer_id=flow.referrer_id, requested_by="ops-1"))
    assert h.state is not None and h.state.erased and h.state.outbox == []
    return h, flow


def test_a_triage_read_after_erasure_sends_and_keeps_no_sentence() -> None:
    h, flow = erased_case()
    out = h.apply(triaged_from(flow, SENTENCE))
    assert out.notifications == [] and out.events == []
    assert h.state is not None and SENTENCE not in h.state.model_dump_json()


def test_late_events_of_an_erased_case_queue_nothing() -> None:
    h, flow = erased_case()
    at = T0 + timedelta(minutes=5)
    late = [flow.received(at, revision=2), flow.triaged(at), flow.offered(at),
            flow.accepted(at), flow.emergency(at), flow.escalated(at),
            flow.step_completed(at), flow.case_completed(at), flow.ack(at)]
    for event in late:
        assert h.apply(event).notifications == [], type(event).__name__
    for hours in (1, 6, 48):  # every clock stopped at erasure: no warning, breach or page
        assert h.apply(flow.tick(T0 + timedelta(hours=hours))).notifications == []
    failed = NotificationFailed(event_id="e-failed", case_id=flow.case_id, occurred_at=at,
                                notification_id="n-1", audience="referrer",
                                subscriber_id="ref-1", kind="status_triaged", attempts=2,
                                reason="timeout", final=False)
    h.apply(failed)
    assert h.state is not None and h.state.outbox == [] and h.state.steps == {}
    assert h.state.revision == 1 and h.state.urgency is None and h.events == []


def test_a_late_event_changes_only_the_partition_of_a_moved_erased_row() -> None:
    h, flow = erased_case()
    assert h.state is not None
    out = apply_event(h.state, triaged_from(flow, SENTENCE), policy=POLICY,
                      contacts=FakeContacts(), now=T0, partition=3)
    assert out.notifications == [] and out.state.partition == 3
    assert out.state.model_copy(update={"partition": 0}) == h.state


def test_holders_still_hear_the_case_is_withdrawn_after_erasure() -> None:
    # Routing answers the erasure with RoutingStopped, read after CaseErased here.
    h, flow = erased_case()
    stopped = flow.stopped(T0).model_copy(update={"specialist_ids": ["spec-1"]})
    assert h.apply(stopped).notifications[0].kind == "case_withdrawn"


def test_only_an_erased_row_carries_the_mark() -> None:
    # CaseState refuses unknown fields: a worker of the previous release, mid rolling deploy,
    # must still read every row that is not erased
    state = CaseState(case_id="case-1")
    assert "erased" not in json.loads(state.model_dump_json())
    state.erased = True
    assert json.loads(state.model_dump_json())["erased"] is True
    assert CaseState.model_validate_json(state.model_dump_json()).erased
