"""A re-triage that shortens an open offer's window tells its holder the new expiry."""

from __future__ import annotations

from datetime import timedelta

from schemas.routing import OfferExpiryChanged
from services.routing.domain.handlers import handle
from tests.unit.routing.builders import NOW, Routing, specialist, triaged

LATER = NOW + timedelta(hours=1)


def retriage(urgency: str = "urgent", revision: int = 2):  # type: ignore[no-untyped-def]
    return triaged(urgency=urgency, revision=revision).model_copy(update={"occurred_at": LATER})


def shortened(events) -> list[OfferExpiryChanged]:  # type: ignore[no-untyped-def]
    return [e for e in events if isinstance(e, OfferExpiryChanged)]


def test_a_retriage_that_shortens_an_offer_tells_its_holder_the_new_expiry() -> None:
    r = Routing(specialist("a"))
    r.send(triaged(urgency="routine"))  # a 12 h window: until 22:00
    result = r.send(retriage(), now=LATER)
    (changed,) = shortened(result.events)
    offer = r.state().steps["spine_surgery"].offer
    assert offer is not None and offer.expires_at == LATER + timedelta(minutes=30)
    assert (changed.specialist_id, changed.step_id, changed.team, changed.attempt) == (
        "a", "spine_surgery", "spine_surgery", 1)
    assert (changed.offer_expires_at, changed.urgency, changed.occurred_at) == (
        offer.expires_at, "urgent", LATER)
    assert [e.kind for e in r.state().record][-1] == "offer_shortened"


def test_a_retriage_that_leaves_the_window_as_it_was_says_nothing_of_it() -> None:
    r = Routing(specialist("a"))
    r.send(triaged(urgency="soon"))  # 4 h, until 14:00; "soon" again from 11:00 would be 15:00
    result = r.send(retriage(urgency="soon"), now=LATER)
    assert shortened(result.events) == []
    assert r.state().steps["spine_surgery"].offer.expires_at == NOW + timedelta(hours=4)  # type: ignore[union-attr]


def test_the_same_retriage_decided_again_gives_the_same_id_and_a_redelivery_nothing() -> None:
    r = Routing(specialist("a"))
    r.send(triaged(urgency="routine"))
    before = r.state()
    first = r.send(retriage(), now=LATER)
    # A crash before the row was written: the input comes again to the row as it was.
    again = handle(before, retriage(), directory=r.directory, loads=r.loads, policy=r.policy,
                   now=LATER)
    ids = [e.event_id for e in shortened(first.events)]
    assert len(ids) == 1 and [e.event_id for e in shortened(again.events)] == ids
    assert r.send(retriage(), now=LATER).events == []  # applied already: a redelivery


def test_an_offer_the_same_retriage_withdraws_is_not_announced_as_shortened() -> None:
    r = Routing(specialist("a"), specialist("oncall", role="emergency_on_call"))
    r.send(triaged(urgency="routine"))
    assert r.offered_to() == "a"
    emergency = triaged(urgency="emergency", emergency=True, revision=2)
    result = r.send(emergency.model_copy(update={"occurred_at": LATER}), now=LATER)
    # The emergency path assigns the on-call surgeon and withdraws a's offer: a hears that
    # alone, not first of a 15-minute window that closed in the same decision.
    assert shortened(result.events) == []
    assert ("OfferExpired", "a") in [(type(e).__name__, getattr(e, "specialist_id", None))
                                     for e in result.events]
