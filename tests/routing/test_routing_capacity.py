"""Capacity reservations between workers, with dict tables: two workers deciding at once, and a
load partition taken over by another worker, never put a specialist over capacity."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from schemas.directory import Capacity
from schemas.routing import AssignmentOffered, CaseEscalated, OfferExpired
from services.routing.domain.load import SpecialistLoad
from services.routing.processor import RoutingProcessor
from tests.routing.fakes import Bus, Clock, RecordingPublisher, Tables, make_processor
from tests.unit.routing.builders import NOW, accept, specialist, triaged

ONE = Capacity(max_open_cases=1, max_new_per_day=5)


def seed(processor: RoutingProcessor, *specs) -> None:  # type: ignore[no-untyped-def]
    for spec in specs:
        processor.on_directory_record(spec.specialist_id.encode(), spec.model_dump_json().encode())


def two_workers(*specs, load_tables: Tables | None = None):  # type: ignore[no-untyped-def]
    """Workers A and B, own case tables; A owns every specialist's load partition."""
    clock, bus = Clock(NOW), Bus()
    a, pub_a, tables_a = make_processor(clock, load_tables, bus=bus)
    b, pub_b, _ = make_processor(clock, bus=bus)
    for worker in (a, b):
        seed(worker, *specs)
    owners = {"case-a": a, "case-b": b}
    bus.load_owner = lambda specialist_id: a
    bus.case_owner = lambda case_id: owners[case_id]
    return a, b, bus, [pub_a, pub_b], tables_a


def published(publishers: list[RecordingPublisher], kind: type) -> list:  # type: ignore[type-arg]
    return [e for p in publishers for e in p.events if isinstance(e, kind)]


def held(tables: Tables, specialist_id: str) -> int:
    load = SpecialistLoad.model_validate_json(tables.loads[specialist_id.encode()])
    return len(load.offers) + len(load.open)


async def test_two_workers_choosing_the_same_specialist_at_once_do_not_overcommit() -> None:
    a, b, bus, pubs, tables = two_workers(specialist("s1", capacity=ONE),
                                          specialist("s2", capacity=ONE))
    # Both decide before either reservation reached the load owner: both views say s1 is free.
    await RoutingProcessor.on_case_input(a, triaged("case-a"))
    await RoutingProcessor.on_case_input(b, triaged("case-b"))
    assert published(pubs, AssignmentOffered) == []  # nothing is offered before it is granted
    await bus.drain()

    offers = {o.case_id: o.specialist_id for o in published(pubs, AssignmentOffered)}
    assert offers == {"case-a": "s1", "case-b": "s2"}
    assert (held(tables, "s1"), held(tables, "s2")) == (1, 1)
    assert published(pubs, OfferExpired) == []  # the refused offer was never seen by anyone
    record = [e.kind for e in b.case_state("case-b").record]  # type: ignore[union-attr]
    assert "capacity_refused" in record


async def test_the_loser_escalates_when_nobody_else_has_room() -> None:
    a, b, bus, pubs, tables = two_workers(specialist("s1", capacity=ONE))
    await RoutingProcessor.on_case_input(a, triaged("case-a"))
    await RoutingProcessor.on_case_input(b, triaged("case-b"))
    await bus.drain()
    assert [o.case_id for o in published(pubs, AssignmentOffered)] == ["case-a"]
    assert [e.case_id for e in published(pubs, CaseEscalated)] == ["case-b"]
    assert held(tables, "s1") == 1


async def test_many_cases_from_two_workers_stay_within_every_capacity() -> None:
    specs = [specialist(f"s{i}", capacity=Capacity(max_open_cases=2, max_new_per_day=9))
             for i in range(3)]
    clock, bus = Clock(NOW), Bus()
    a, pub_a, tables = make_processor(clock, bus=bus)
    b, pub_b, _ = make_processor(clock, bus=bus)
    for worker in (a, b):
        seed(worker, *specs)
    cases = [f"case-{i}" for i in range(10)]
    owner = {c: (a if i % 2 else b) for i, c in enumerate(cases)}
    bus.load_owner, bus.case_owner = (lambda sid: a), owner.__getitem__
    for case_id in cases:  # every decision before any reservation is answered
        await RoutingProcessor.on_case_input(owner[case_id], triaged(case_id))
    await bus.drain()
    per_specialist = Counter(o.specialist_id for o in published([pub_a, pub_b], AssignmentOffered))
    assert max(per_specialist.values()) <= 2 and sum(per_specialist.values()) == 6
    assert all(held(tables, s.specialist_id) <= 2 for s in specs)


async def test_a_worker_taking_over_the_load_partition_keeps_capacity() -> None:
    a, b, bus, pubs, tables = two_workers(specialist("s1", capacity=ONE),
                                          specialist("s2", capacity=ONE))
    await a.on_case_input(triaged("case-a"))  # granted by A, the load owner then
    # A dies. C takes over its load partitions with the table restored from the changelog;
    # B's view never heard of case-a's offer.
    restored = Tables()
    restored.loads = tables.loads
    c, _, _ = make_processor(Clock(NOW), restored, bus=bus)
    seed(c, specialist("s1", capacity=ONE), specialist("s2", capacity=ONE))
    bus.load_owner = lambda specialist_id: c
    b.loads.put(SpecialistLoad(specialist_id="s1"))  # B's stale view: s1 looks free
    await b.on_case_input(triaged("case-b"))
    offers = {o.case_id: o.specialist_id for o in published(pubs, AssignmentOffered)}
    assert offers == {"case-a": "s1", "case-b": "s2"}
    assert held(tables, "s1") == 1


async def test_an_offer_waiting_for_its_reservation_cannot_be_accepted() -> None:
    a, _, bus, pubs, _ = two_workers(specialist("s1"))
    await RoutingProcessor.on_case_input(a, triaged("case-a"))
    result = await RoutingProcessor.on_case_input(a, accept("case-a", "spine_surgery", "s1"))
    assert result.outcome is not None and result.outcome.status == "conflict"
    await bus.drain()
    assert [o.specialist_id for o in published(pubs, AssignmentOffered)] == ["s1"]
    result = await a.on_case_input(accept("case-a", "spine_surgery", "s1"))
    assert result.outcome is not None and result.outcome.status == "ok"


async def test_a_reservation_whose_answer_was_lost_is_asked_again() -> None:
    clock = Clock(NOW)
    worker, published_by, _ = make_processor(clock)
    seed(worker, specialist("s1"))
    published_by.hold_load = True  # the load owner died before answering
    await worker.on_case_input(triaged("case-a"))
    assert not any(isinstance(e, AssignmentOffered) for e in published_by.events)
    published_by.hold_load = False
    clock.now = NOW + timedelta(seconds=29)
    assert worker.due_ticks(clock()) == []
    clock.now = NOW + timedelta(seconds=30)
    for tick in worker.due_ticks(clock()):
        await worker.on_case_input(tick)
    offers = [e for e in published_by.events if isinstance(e, AssignmentOffered)]
    assert [o.specialist_id for o in offers] == ["s1"]
    assert len({d.event_id for d in published_by.deltas if d.change == "offered"}) == 1
