"""The schedule on which an unanswered reservation is asked again (reservations.py, review 18):
each wait at least the last, up to a cap, and the held offer's expiry always among the dues."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

from services.routing import reservations
from services.routing.domain.state import CaseRouting
from tests.unit.routing.builders import NOW, Routing, specialist, triaged

RETRY, CAP = reservations.RESERVATION_RETRY, reservations.RESERVATION_RETRY_MAX


def held_case() -> CaseRouting:
    r = Routing(specialist("a"))
    result = r.send(triaged())
    reservations.hold_offers(result)
    assert len(result.state.held_offers) == 1
    return result.state


def asked_at_every_due(state: CaseRouting, until: datetime) -> list[datetime]:
    """Ask exactly at each due the schedule gives (what the ticks do), until `until`."""
    times = []
    due = reservations.next_due(state)
    while due is not None and due < until:
        assert len(reservations.ask_again(state, due)) == 1
        times.append(due)
        later = reservations.next_due(state)
        assert later is not None and later > due  # a new due, so a new tick id
        due = later
    return times


def test_the_wait_doubles_from_30_s_up_to_the_cap() -> None:
    state = held_case()
    times = asked_at_every_due(state, NOW + timedelta(hours=1))
    waits = [b - a for a, b in pairwise([NOW, *times])]
    assert waits[:5] == [RETRY, RETRY, 2 * RETRY, 4 * RETRY, 8 * RETRY]
    assert set(waits[5:]) == {CAP}
    assert len(times) == 5 + (timedelta(hours=1) - 16 * RETRY) // CAP


def test_an_ask_before_its_time_sends_nothing_and_moves_nothing() -> None:
    state = held_case()
    assert reservations.ask_again(state, NOW + RETRY - timedelta(seconds=1)) == []
    assert reservations.next_due(state) == NOW + RETRY and state.held_asked_at == {}


def test_the_offer_expiry_is_the_due_once_no_ask_comes_before_it() -> None:
    state = held_case()
    offer = state.steps["spine_surgery"].offer
    assert offer is not None
    asked_at_every_due(state, offer.expires_at)
    assert reservations.next_due(state) == offer.expires_at


def test_rows_without_ask_times_read_and_write_as_before() -> None:
    state = held_case()
    assert "held_asked_at" not in state.model_dump_json()  # nothing asked again: as before
    old_row = CaseRouting.model_validate_json(state.model_dump_json())
    assert reservations.next_due(old_row) == NOW + RETRY  # first retry from the offer's time
    reservations.ask_again(state, NOW + RETRY)
    assert CaseRouting.model_validate_json(state.model_dump_json()) == state
