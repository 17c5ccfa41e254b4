"""An event applied again yields byte-identical notifications under the same Idempotency-Key.

`created_at` was the read time: an event applied again (redelivered after a crash, or its row
lost before the commit) queued a webhook with the same key but another signed body. Messages
are dated by their cause event now (`Context.at`: its `occurred_at`, never after now).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from schemas.envelope import Event
from services.notify.domain.handlers import apply_event
from services.notify.domain.outbox import webhook_body
from services.notify.domain.state import CaseState
from tests.unit.notify.notify_builders import POLICY, T0, CaseFlow, FakeContacts, Harness


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def _prior() -> tuple[CaseState, CaseFlow]:
    """A received, triaged case with an offer out: what the events below apply to."""
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(at(0)))
    h.apply(flow.triaged(at(1)))
    h.apply(flow.offered(at(2)))
    assert h.state is not None
    return h.state, flow


CAUSES: dict[str, Callable[[CaseFlow], Event]] = {
    "offer": lambda f: f.offered(at(5), specialist="spec-2", step="s2"),
    "accepted": lambda f: f.accepted(at(5)),
    "emergency": lambda f: f.emergency(at(5)),
    "escalated": lambda f: f.escalated(at(5), to="ops"),
    "received_again": lambda f: f.received(at(5), missing=("mri_report",), revision=2),
    "cancelled": lambda f: f.cancelled(at(5)),
}


@pytest.mark.parametrize("cause", sorted(CAUSES))
def test_the_same_event_read_at_another_time_queues_the_same_bytes(cause: str) -> None:
    prior, flow = _prior()
    event = CAUSES[cause](flow)
    outs = [apply_event(prior, event, policy=POLICY, contacts=FakeContacts(), now=now,
                        partition=0)
            for now in (at(5) + timedelta(seconds=2), at(5) + timedelta(hours=3))]
    first, again = ([n.model_dump_json() for n in out.notifications] for out in outs)
    assert first, "the cause queues at least one message"
    assert again == first
    assert [webhook_body(n) for n in outs[1].notifications] == [
        webhook_body(n) for n in outs[0].notifications]
    assert all(n.created_at == event.occurred_at for n in outs[0].notifications)


def test_an_event_stamped_ahead_of_our_clock_is_dated_now() -> None:
    prior, flow = _prior()
    event = flow.offered(at(60), specialist="spec-2", step="s2")
    out = apply_event(prior, event, policy=POLICY, contacts=FakeContacts(), now=at(10),
                      partition=0)
    assert [n.created_at for n in out.notifications] == [at(10)]
