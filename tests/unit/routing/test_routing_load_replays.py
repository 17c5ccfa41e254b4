"""A load row never counts one case step twice, whatever order copies of its changes arrive in.

A reservation is sent again, same id, while its answer is awaited (reservations.ask_again).
A copy still in a former case owner's producer can reach the load partition after the offer
was granted, published and accepted ("assigned"): it is granted again (the slot is held), and
it used to be recorded as an offer beside the open assignment, so the specialist counted one
case more (capacity refused, ranking) until the offer lapsed 13 h later.
"""

from __future__ import annotations

from datetime import timedelta

from services.routing.domain import capacity
from services.routing.domain.directory import compile_profile
from services.routing.domain.load import LoadDelta, apply_delta, day_start, figures
from tests.unit.routing.builders import NOW, specialist


def delta(change: str, minutes: int = 0) -> LoadDelta:
    return LoadDelta(event_id=f"load-{change}", case_id="case-a",
                     occurred_at=NOW + timedelta(minutes=minutes), specialist_id="s1",
                     step_id="spine_surgery", team="spine_surgery", change=change)  # type: ignore[arg-type]


def test_a_late_copy_of_a_reservation_after_acceptance_counts_the_case_once() -> None:
    offered, assigned = delta("offered"), delta("assigned", minutes=5)
    load = apply_delta(apply_delta(None, offered), assigned)
    profile = compile_profile(specialist("s1"))
    assert capacity.refusal(load, offered, profile) is None  # granted again: the slot is held
    again = apply_delta(load, offered)
    assert again.offers == {} and list(again.open) == ["case-a/spine_surgery"]
    assert figures(again, day_start(NOW, profile.zone)).held == 1
    # The step completes: nothing of it is left held.
    done = apply_delta(again, delta("completed", minutes=60))
    assert figures(done, day_start(NOW, profile.zone)).held == 0
