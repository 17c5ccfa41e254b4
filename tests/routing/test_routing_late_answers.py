"""Offers held for their capacity reservation, and what the case does when the answer is late
or the case stops first (review 21)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from schemas.directory import Capacity
from schemas.routing import (
    AssignmentOffered,
    OfferExpired,
    OfferExpiryChanged,
    ReviewDeadlineChanged,
    RoutingStopped,
)
from services.common.auth import mint_token
from services.routing.api import create_api
from services.routing.domain.load import SpecialistLoad
from services.routing.domain.policy import RoutingPolicy
from tests.routing.fakes import (
    Clock,
    InProcessGateway,
    RecordingPublisher,
    Tables,
    Worker,
    make_processor,
)
from tests.unit.routing.builders import NOW, accept, cancelled, complete, specialist, triaged

pytestmark = pytest.mark.asyncio
WINDOW = RoutingPolicy().offer_timeout("soon")  # triaged() is "soon": 4 h
ONE = Capacity(max_open_cases=1, max_new_per_day=5)


def seed(worker: Worker, *specs) -> None:  # type: ignore[no-untyped-def]
    for spec in specs:
        worker.on_directory_record(spec.specialist_id.encode(), spec.model_dump_json().encode())


async def held_case(
    *specs, case_id: str = "case-a", **triage
) -> tuple[Worker, RecordingPublisher, Tables, Clock]:
    """A case whose first offer waits for a load owner that has not answered yet."""
    clock = Clock(NOW)
    worker, pub, tables = make_processor(clock)
    seed(worker, *specs)
    pub.hold_load = True
    await worker.on_case_input(triaged(case_id, **triage))
    return worker, pub, tables, clock


def offered(pub: RecordingPublisher) -> list[AssignmentOffered]:
    return [e for e in pub.events if isinstance(e, AssignmentOffered)]


async def test_a_late_refusal_gives_the_next_candidate_a_whole_window() -> None:
    worker, pub, tables, clock = await held_case(specialist("s1", capacity=ONE), specialist("s2"))
    # s1 is full on the owner's table (a case the asking worker's view had not seen yet), and
    # the owner answers 3 h 50 min into the 4 h window (down, or lagging behind).
    full = SpecialistLoad(specialist_id="s1", open={"case-z/spine_surgery": NOW})
    tables.loads[b"s1"] = full.model_dump_json().encode()
    late = NOW + timedelta(hours=3, minutes=50)
    clock.now, pub.hold_load = late, False
    (reservation,) = [d for d in pub.deltas if d.change == "offered"]
    pub.bus.queue.append(reservation)
    await pub.bus.drain()
    (offer,) = offered(pub)
    assert offer.specialist_id == "s2"
    # It was back-dated to s1's offer: offered at 10:00 "expiring" at 14:00, told at 13:50.
    assert (offer.occurred_at, offer.offer_expires_at) == (late, late + WINDOW)
    step = worker.case_state("case-a").steps["spine_surgery"]  # type: ignore[union-attr]
    assert step.offer is not None and step.offer.expires_at == late + WINDOW


async def test_a_cancelled_case_names_only_specialists_who_were_told_of_it() -> None:
    worker, pub, _, _ = await held_case(specialist("s1"), specialist("s2"))
    await worker.on_case_input(cancelled("case-a"))
    (stopped,) = [e for e in pub.events if isinstance(e, RoutingStopped)]
    # s1's offer was never published: no "case withdrawn" notice for a case they never saw.
    assert stopped.specialist_ids == []
    assert offered(pub) == []
    # Their reservation is released all the same.
    assert [(d.specialist_id, d.change) for d in pub.deltas if d.change != "offered"] == [
        ("s1", "released")]


async def test_a_cancelled_case_still_names_holders_of_published_offers_and_assignees() -> None:
    worker, pub, _, _ = await held_case(
        specialist("r1", role="neuroradiologist"), specialist("p1", role="pain_medicine"),
        teams=("spine_radiology", "pain_medicine"))
    # The radiology reservation is granted and accepted; pain's is still held.
    (radiology,) = [d for d in pub.deltas if d.change == "offered" and d.specialist_id == "r1"]
    pub.hold_load = False
    pub.bus.queue.append(radiology)
    await pub.bus.drain()
    pub.hold_load = True
    assert [o.specialist_id for o in offered(pub)] == ["r1"]
    await worker.on_case_input(accept("case-a", "spine_radiology", "r1"))
    await worker.on_case_input(cancelled("case-a"))
    (stopped,) = [e for e in pub.events if isinstance(e, RoutingStopped)]
    assert stopped.specialist_ids == ["r1"]


async def test_an_offer_waiting_for_its_reservation_opens_neither_case_view_nor_reports() -> None:
    worker, pub, _, clock = await held_case(
        specialist("r1", role="neuroradiologist"), specialist("s1"),
        teams=("spine_radiology", "spine_surgery"))
    (radiology,) = [d for d in pub.deltas if d.change == "offered"]
    pub.hold_load = False
    pub.bus.queue.append(radiology)
    await pub.bus.drain()
    await worker.on_case_input(accept("case-a", "spine_radiology", "r1", at=clock.now))
    pub.hold_load = True  # surgery's reservation, sent on completion, waits for its answer
    await worker.on_case_input(complete("case-a", "spine_radiology", "r1", at=clock.now))
    step = worker.case_state("case-a").steps["spine_surgery"]  # type: ignore[union-attr]
    assert step.offer is not None and step.offer.specialist_id == "s1"
    me = {"Authorization": f"Bearer {mint_token(subject='s1', role='specialist')}"}
    api = httpx.ASGITransport(app=create_api(InProcessGateway(worker)))
    async with httpx.AsyncClient(transport=api, base_url="http://routing") as client:
        paths = ["/cases/case-a/review", "/cases/case-a/reports",
                 "/cases/case-a/reports/spine_radiology"]
        # Not offered to s1 yet (and never, if the reservation is refused): as /me/offers.
        assert (await client.get("/me/offers", headers=me)).json() == []
        assert [(await client.get(p, headers=me)).status_code for p in paths] == [404] * 3
        (surgery,) = [d for d in pub.deltas if d.change == "offered" and d.specialist_id == "s1"]
        pub.hold_load = False
        pub.bus.queue.append(surgery)
        await pub.bus.drain()  # granted: the offer is published
        assert [o["case_id"] for o in (await client.get("/me/offers", headers=me)).json()] == [
            "case-a"]
        assert [(await client.get(p, headers=me)).status_code for p in paths] == [200] * 3


async def retriaged_while_held() -> tuple[Worker, RecordingPublisher, Clock]:
    """s1's "soon" offer (4 h) waits for its reservation; an hour later the case is re-triaged
    urgent: review deadline forward, the offer's expiry cut to 30 min from then."""
    worker, pub, _, clock = await held_case(specialist("s1"), specialist("s2"))
    clock.now = NOW + timedelta(hours=1)
    retriage = triaged("case-a", urgency="urgent", revision=2)
    await worker.on_case_input(retriage.model_copy(update={"occurred_at": clock.now}))
    return worker, pub, clock


async def grant(pub: RecordingPublisher, specialist_id: str) -> None:
    (reservation,) = [d for d in pub.deltas
                      if d.change == "offered" and d.specialist_id == specialist_id]
    pub.hold_load = False
    pub.bus.queue.append(reservation)
    await pub.bus.drain()


async def test_an_offer_granted_after_a_retriage_is_published_as_the_case_now_stands() -> None:
    worker, pub, clock = await retriaged_while_held()
    step = worker.case_state("case-a").steps["spine_surgery"]  # type: ignore[union-attr]
    assert step.offer is not None and step.offer.expires_at == NOW + timedelta(minutes=90)
    # Nobody was told of s1's offer yet: the deadline change names no holder (the offer will),
    # and the shortened window is not announced to them either.
    (moved,) = [e for e in pub.events if isinstance(e, ReviewDeadlineChanged)]
    assert moved.specialist_id is None and moved.deadline == step.deadline
    assert not any(isinstance(e, OfferExpiryChanged) for e in pub.events)
    clock.now = NOW + timedelta(minutes=65)
    await grant(pub, "s1")
    (offer,) = offered(pub)
    # It said "soon", the old deadline and an expiry 2 h 55 min later than the real one.
    assert (offer.urgency, offer.deadline, offer.offer_expires_at) == (
        "urgent", step.deadline, step.offer.expires_at)
    # Dated when it is published (notify's acceptance clock starts then), same id as decided.
    assert offer.occurred_at == clock.now


async def test_a_grant_after_the_offers_expiry_publishes_nothing_and_frees_the_slot() -> None:
    worker, pub, clock = await retriaged_while_held()
    clock.now = NOW + timedelta(minutes=95)  # past the shortened expiry, before the next tick
    await grant(pub, "s1")
    assert offered(pub) == []  # s1 is not told of an offer that is already over
    await worker.on_case_input(worker.due_ticks(clock.now)[0])
    assert not any(isinstance(e, OfferExpired) for e in pub.events)
    assert ("s1", "offer_closed") in [(d.specialist_id, d.change) for d in pub.deltas]
    step = worker.case_state("case-a").steps["spine_surgery"]  # type: ignore[union-attr]
    assert step.offer is not None and step.offer.specialist_id == "s2"
