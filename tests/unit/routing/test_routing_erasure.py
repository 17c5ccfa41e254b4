"""Erasure in the routing domain: the case is marked erased for good."""

from __future__ import annotations

from schemas.cases import CaseErased
from tests.unit.routing.builders import NOW, Routing, specialist, triaged, types


def erased() -> CaseErased:
    return CaseErased(event_id="erase-1", case_id="case-1", occurred_at=NOW,
                      referrer_id="ref-1", requested_by="ops-1")


def test_a_late_triage_after_erasure_leaves_the_case_erased_and_silent() -> None:
    r = Routing(specialist("surg"))
    assert types(r.send(erased()).events) == ["RoutingStopped"]
    assert r.send(triaged()).events == []
    assert r.state().erased and r.state().status == "stopped" and r.state().steps == {}

