"""An offer held for a capacity reservation its load owner never answers (review 18).

The retry was due at "oldest held + 30 s" for ever: every later tick carried that one due's
derived id and was dropped as a redelivery, so the offer's own expiry was never decided (no next
candidate, no escalation) while the reservation was sent again every 5 s for days. Now each ask
moves the next one later (30 s doubling to 5 min), every tick is new, and a held offer expires
on time like any other.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from schemas.routing import AssignmentOffered, CapacityDecided, CaseEscalated, OfferExpired
from services.routing import reservations
from services.routing.domain.policy import RoutingPolicy
from tests.routing.fakes import Clock, RecordingPublisher, Tables, Worker, make_processor
from tests.unit.routing.builders import NOW, cancelled, specialist, triaged

pytestmark = pytest.mark.asyncio
WINDOW = RoutingPolicy().offer_timeout("soon")  # triaged() is "soon": 4 h
TICK = timedelta(seconds=5)  # the expiry timer's interval in app.py


class Timer:
    """The expiry timer of app.py over one worker, keeping what it sent and when."""

    def __init__(self, worker: Worker, publisher: RecordingPublisher, clock: Clock) -> None:
        self.worker, self.publisher, self.clock = worker, publisher, clock
        self.tick_ids: list[str] = []
        self.asked: dict[str, list[datetime]] = {}  # specialist -> when a reservation went out

    async def run(self, until: datetime, every: timedelta = TICK) -> None:
        while self.clock.now < until:
            self.clock.now += every
            for tick in self.worker.due_ticks(self.clock()):
                self.tick_ids.append(tick.event_id)
                sent = len(self.publisher.deltas)
                await self.worker.on_case_input(tick)
                for delta in self.publisher.deltas[sent:]:
                    if delta.change == "offered":
                        self.asked.setdefault(delta.specialist_id, []).append(self.clock.now)


async def unanswered_case() -> tuple[Worker, RecordingPublisher, Timer, Tables]:
    """case-a with s1's offer held, s2 next in line; the load owner never answers."""
    clock = Clock(NOW)
    worker, pub, tables = make_processor(clock)
    for sid in ("s1", "s2"):
        worker.on_directory_record(sid.encode(), specialist(sid).model_dump_json().encode())
    pub.hold_load = True  # down, lagging, or its routing.load delta was dead-lettered
    await worker.on_case_input(triaged("case-a"))
    step = worker.case_state("case-a").steps["spine_surgery"]  # type: ignore[union-attr]
    assert step.offer is not None and step.offer.specialist_id == "s1"
    return worker, pub, Timer(worker, pub, clock), tables


async def test_a_held_offer_past_its_window_expires_and_moves_on() -> None:
    worker, pub, timer, _ = await unanswered_case()
    await timer.run(NOW + WINDOW)
    state = worker.case_state("case-a")
    assert state is not None
    step = state.steps["spine_surgery"]
    assert step.offer is not None and step.offer.specialist_id == "s2"
    assert step.offer.offered_at == NOW + WINDOW  # on the first tick at s1's expiry
    # Withdrawn as a held offer is: nobody saw it, so no OfferExpired goes out, but the record
    # says it expired and its reservation is closed (whatever the owner granted is freed).
    assert [e.specialist_id for e in state.record if e.kind == "expired"] == ["s1"]
    closed = [d for d in pub.deltas if d.change == "offer_closed"]
    assert [(d.specialist_id, d.occurred_at) for d in closed] == [("s1", NOW + WINDOW)]
    assert [AssignmentOffered.model_validate_json(raw).specialist_id
            for raw in state.held_offers.values()] == ["s2"]
    assert pub.events == []  # s1 was never told of the offer, so is not told it expired
    # s2's reservation goes unanswered too: nobody is left, so the step escalates on time.
    await timer.run(NOW + 2 * WINDOW)
    escalated = [e for e in pub.events if isinstance(e, CaseEscalated)]
    assert [(e.escalate_to, e.occurred_at) for e in escalated] == [("team_lead", NOW + 2 * WINDOW)]
    assert worker.case_state("case-a").held_offers == {}  # type: ignore[union-attr]
    assert [d.specialist_id for d in pub.deltas if d.change == "offer_closed"] == ["s1", "s2"]


async def test_re_asks_are_bounded_and_every_tick_is_new_over_three_days() -> None:
    worker, pub, timer, _ = await unanswered_case()
    await timer.run(NOW + 2 * WINDOW)  # both held offers' windows, at the timer's 5 s
    await timer.run(NOW + timedelta(hours=72), every=timedelta(minutes=1))  # escalated since
    assert len(timer.tick_ids) == len(set(timer.tick_ids))  # none dropped as a repeat
    for sid, offered_at in (("s1", NOW), ("s2", NOW + WINDOW)):
        sent = [d for d in pub.deltas if d.change == "offered" and d.specialist_id == sid]
        assert {(d.event_id, d.occurred_at) for d in sent} == {(sent[0].event_id, offered_at)}
        asked = timer.asked.get(sid, [])
        if sid == "s1":
            asked = [NOW, *asked]  # its first ask went out with the triage
        waits = [later - earlier for earlier, later in pairwise(asked)]
        # 30 s, then each wait at least the one before, never much over 5 min; none after
        # the offer's own expiry.
        assert asked[0] == offered_at and waits[0] == reservations.RESERVATION_RETRY
        assert waits == sorted(waits)
        assert max(waits) <= reservations.RESERVATION_RETRY_MAX + TICK
        assert asked[-1] < offered_at + WINDOW
        assert len(sent) <= WINDOW / reservations.RESERVATION_RETRY_MAX + 8  # not 2880
    state = worker.case_state("case-a")
    assert state is not None and state.held_offers == {} and state.held_asked_at == {}
    assert state.steps["spine_surgery"].status == "escalated"
    assert len([d for d in pub.deltas if d.change == "offered"]) < 130  # 865 before (review)


async def test_a_redelivered_tick_asks_nothing_and_the_schedule_survives_a_restart() -> None:
    worker, pub, timer, tables = await unanswered_case()
    timer.clock.now = NOW + reservations.RESERVATION_RETRY
    (tick,) = worker.due_ticks(timer.clock())
    await worker.on_case_input(tick)
    assert len([d for d in pub.deltas if d.change == "offered"]) == 2
    await worker.on_case_input(tick)  # the timer sent it again, or Kafka redelivered it
    assert len([d for d in pub.deltas if d.change == "offered"]) == 2
    due = worker.due["case-a"]
    assert due == tick.occurred_at + reservations.RESERVATION_RETRY  # the last ask + its age
    restarted, _, _ = make_processor(timer.clock, tables)
    assert restarted.due["case-a"] == due  # the ask's time is in the case row
    timer.clock.now = due
    (later,) = restarted.due_ticks(timer.clock())
    assert later.event_id != tick.event_id


async def test_a_late_answer_after_the_expiry_is_stale() -> None:
    worker, pub, timer, _ = await unanswered_case()
    await timer.run(NOW + WINDOW)  # s1 expired unanswered, s2 held
    pub.hold_load = False
    (closed,) = [d for d in pub.deltas if d.change == "offer_closed"]
    for delta in [d for d in pub.deltas if d is not closed]:  # the load owner catches up
        await worker.on_load_delta(delta)
    answers = list(worker.bus.queue)
    await worker.bus.drain()  # its answers come back, s1's after s1's expiry
    late = [a for a in answers if isinstance(a, CapacityDecided) and a.specialist_id == "s1"]
    assert late and all(a.granted for a in late)
    assert {a.event_id for a in late} == {late[0].event_id}  # one answer, sent once per ask
    released = [d for d in pub.deltas if d.change == "offer_closed" and d.specialist_id == "s1"]
    assert [d.event_id for d in released] == [closed.event_id, released[-1].event_id]
    offers = [e for e in pub.events if isinstance(e, AssignmentOffered)]
    assert [o.specialist_id for o in offers] == ["s2"]  # s1 never offered: no double offer
    assert not any(isinstance(e, OfferExpired) for e in pub.events)
    s1, s2 = worker.loads.get("s1"), worker.loads.get("s2")
    assert s1 is not None and s1.offers == {}  # the late grant's slot is free again
    assert s2 is not None and list(s2.offers) == ["case-a/spine_surgery"]
    # Freed by the late grant itself (released again), not only by the expiry's offer_closed,
    # which may come later still (delivered now) or never.
    assert worker.load_rows.get(b"s1").offers == {}  # type: ignore[union-attr]
    await worker.on_load_delta(closed)
    assert worker.load_rows.get(b"s1").offers == {}  # type: ignore[union-attr]
    refused = late[0].model_copy(update={"event_id": "refused-late", "granted": False,
                                         "reason": "at_open_capacity"})
    result = await worker.on_case_input(refused)
    assert result.events == [] and result.load_deltas == []
    state = worker.case_state("case-a")
    assert state is not None and state.held_offers == {}
    offer = state.steps["spine_surgery"].offer
    assert offer is not None and offer.specialist_id == "s2"


async def test_a_grant_for_a_case_cancelled_meanwhile_offers_nobody_and_frees_the_slot() -> None:
    clock = Clock(NOW)
    worker, publisher, _ = make_processor(clock)
    worker.on_directory_record(b"s1", specialist("s1").model_dump_json().encode())
    publisher.hold_load = True  # the reservation waits at its owner
    await worker.on_case_input(triaged("case-a"))
    await worker.on_case_input(cancelled("case-a"))
    state = worker.case_state("case-a")
    assert state is not None and state.status != "open" and state.held_offers
    publisher.hold_load = False
    for delta in list(publisher.deltas):  # the owner catches up and grants the reservation
        await worker.on_load_delta(delta)
    await worker.bus.drain()
    assert "AssignmentOffered" not in publisher.types()
    load = worker.loads.get("s1")
    assert load is not None and load.offers == {}
