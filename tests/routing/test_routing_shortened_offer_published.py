"""The processor publishes a shortened offer window to the holder of a published offer, once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas.routing import OfferExpiryChanged
from tests.routing.fakes import Clock, make_processor
from tests.unit.routing.builders import NOW, specialist, triaged

pytestmark = pytest.mark.asyncio


async def test_a_retriage_publishes_the_shortened_window_once_under_a_derived_id() -> None:
    clock = Clock(NOW)
    worker, pub, _ = make_processor(clock)
    worker.directory.put(specialist("a"))
    await worker.on_case_input(triaged(urgency="routine"))
    clock.now = NOW + timedelta(hours=1)
    retriage = triaged(urgency="urgent", revision=2)
    await worker.on_case_input(retriage)
    (changed,) = [e for e in pub.events if isinstance(e, OfferExpiryChanged)]
    assert changed.offer_expires_at == clock.now + timedelta(minutes=30)
    assert changed.specialist_id == "a"
    # The case's next tick is the new expiry, not the old one 11 h later.
    assert worker.due["case-1"] == changed.offer_expires_at
    await worker.on_case_input(retriage)  # redelivered
    assert [e for e in pub.events if isinstance(e, OfferExpiryChanged)] == [changed]
