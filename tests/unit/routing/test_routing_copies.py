"""Handlers work on a copy of the case (made cheaper in issue 13): inputs stay as they were."""

from __future__ import annotations

from schemas.routing import AssignmentOffered, CapacityDecided
from services.routing import reservations
from tests.unit.routing.builders import NOW, Routing, accept, specialist, triaged


def test_working_copy_is_equal_and_shares_nothing_with_the_original() -> None:
    r = Routing(specialist("a"))
    r.send(triaged())
    state = r.state()
    before = state.model_dump_json()
    copy = state.working_copy()
    assert copy == state and copy is not state
    step = copy.steps["spine_surgery"]
    assert step.offer is not None
    step.offer.relaxed.append("changed in the copy")
    step.status = "assigned"
    copy.record[0].candidates.clear()
    copy.applied.append("changed-too")
    assert state.model_dump_json() == before


def test_handling_an_event_leaves_the_previous_state_unchanged() -> None:
    r = Routing(specialist("a"))
    r.send(triaged())
    previous = r.state()
    before = previous.model_dump_json()
    r.send(accept("case-1", "spine_surgery", "a"))
    assert r.state().steps["spine_surgery"].status == "assigned"
    assert previous.model_dump_json() == before


def _held_case() -> tuple[Routing, str, AssignmentOffered]:
    r = Routing(specialist("a"))
    result = r.send(triaged())
    reservations.hold_offers(result)
    (reservation_id, raw), = result.state.held_offers.items()
    return r, reservation_id, AssignmentOffered.model_validate_json(raw)


def test_a_grant_publishes_the_held_offer_and_leaves_its_input_unchanged() -> None:
    r, reservation_id, offer = _held_case()
    state = r.state()
    before = state.model_dump_json()
    grant = CapacityDecided(
        event_id="grant-1", case_id="case-1", occurred_at=NOW, reservation_id=reservation_id,
        step_id=offer.step_id, specialist_id=offer.specialist_id, team=offer.team, granted=True)
    result = reservations.on_granted(state, grant)
    assert result.events == [offer]
    assert result.state.held_offers == {} and result.state.applied[-1] == "grant-1"
    assert state.model_dump_json() == before  # the stored row is only replaced, never edited
    again = reservations.on_granted(result.state, grant)  # redelivered: published already
    assert again.events == [] and again.load_deltas == []
