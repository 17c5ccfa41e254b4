"""The emergency pathway's clocks never pause for records the referrer owes.

A case waiting for records paused every clock, the on-call surgeon's 15-minute acknowledgement
clock too: an emergency whose referral lacked an MRI report (or whose referrer later listed
one as missing) was paged, and if nobody acknowledged, nothing warned, breached or escalated.
"""

from __future__ import annotations

from datetime import timedelta

from schemas.sla import SlaBreached, SlaPaused
from tests.unit.notify.notify_builders import T0, CaseFlow, Harness


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def test_an_emergency_paged_while_records_are_owed_still_escalates() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(at(0), missing=("mri_report",)))
    out = h.apply(flow.emergency(at(1)))
    assert out.state.clocks["e1:acceptance"].status == "running"
    h.apply(flow.tick(at(17)))
    assert any(isinstance(e, SlaBreached) and e.step_id == "e1" for e in h.events)
    assert ("specialist", "oncall-1", "sla_breached") in h.notifications


def test_records_listed_missing_after_the_page_do_not_pause_it() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(at(0)))
    h.apply(flow.emergency(at(1)))
    out = h.apply(flow.received(at(2), missing=("mri_report",), revision=2))
    assert not any(isinstance(e, SlaPaused) for e in out.events)
    assert out.state.clocks["e1:acceptance"].status == "running"
