"""Reservations decided by the worker that owns the specialist's load partition, without the
Kafka round trip (issue 13): same decisions, same capacity, one hop instead of three."""

from __future__ import annotations

from datetime import timedelta

from schemas.directory import Capacity
from schemas.routing import AssignmentOffered, CaseEscalated
from services.common.partitions import case_partition
from services.routing.app import LOAD_PARTITIONS, load_writer
from services.routing.domain.load import SpecialistLoad
from services.routing.processor import RoutingProcessor
from tests.routing.fakes import Bus, Clock, RecordingPublisher, Tables, make_processor
from tests.unit.routing.builders import NOW, absence, specialist, triaged

ONE = Capacity(max_open_cases=1, max_new_per_day=5)
TWO = Capacity(max_open_cases=2, max_new_per_day=5)


def seed(processor: RoutingProcessor, *specs) -> None:  # type: ignore[no-untyped-def]
    for spec in specs:
        processor.on_directory_record(spec.specialist_id.encode(), spec.model_dump_json().encode())


def offers(*publishers: RecordingPublisher) -> dict[str, str]:
    return {e.case_id: e.specialist_id for p in publishers for e in p.events
            if isinstance(e, AssignmentOffered)}


def held(tables: Tables, specialist_id: str) -> set[str]:
    load = SpecialistLoad.model_validate_json(tables.loads[specialist_id.encode()])
    return set(load.offers) | set(load.open)


def owner_of_every_load(*specs, tables: Tables | None = None):  # type: ignore[no-untyped-def]
    worker, publisher, tables = make_processor(Clock(NOW), tables,
                                               reserve_here=lambda specialist_id: True)
    seed(worker, *specs)
    return worker, publisher, tables


async def test_the_load_owner_offers_at_once_with_nothing_sent_over_kafka() -> None:
    worker, publisher, tables = owner_of_every_load(specialist("s1"))
    # Not the Worker fake's on_case_input: that would drain the bus afterwards.
    await RoutingProcessor.on_case_input(worker, triaged("case-a"))
    assert offers(publisher) == {"case-a": "s1"}
    assert [d for d in publisher.deltas if d.change == "offered"] == []  # no reservation sent
    assert publisher.decisions == [] and publisher.bus.queue == []
    assert len(held(tables, "s1")) == 1
    state = worker.case_state("case-a")
    assert state is not None and state.held_offers == {}
    assert worker.loads.get("s1") is not None and len(worker.loads.get("s1").offers) == 1  # type: ignore[union-attr]


async def test_a_local_refusal_moves_on_to_the_next_candidate_at_once() -> None:
    worker, publisher, tables = owner_of_every_load(specialist("s1", capacity=ONE),
                                                    specialist("s2", capacity=ONE))
    await RoutingProcessor.on_case_input(worker, triaged("case-a"))
    first = offers(publisher)["case-a"]
    # The view forgets the first offer (as a lagging view would): the domain picks the same
    # specialist again, the owner's table refuses it, and the next candidate is offered.
    worker.loads.put(SpecialistLoad(specialist_id=first))
    await RoutingProcessor.on_case_input(worker, triaged("case-b"))
    assert offers(publisher) == {"case-a": first, "case-b": ({"s1", "s2"} - {first}).pop()}
    assert len(held(tables, "s1")) == len(held(tables, "s2")) == 1
    record = [e.kind for e in worker.case_state("case-b").record]  # type: ignore[union-attr]
    assert "capacity_refused" in record


async def test_local_and_remote_reservations_together_never_overcommit() -> None:
    clock, bus = Clock(NOW), Bus()
    a, pub_a, tables = make_processor(clock, bus=bus, reserve_here=lambda specialist_id: True)
    b, pub_b, _ = make_processor(clock, bus=bus)  # B owns no load partition: asks A over Kafka
    for worker in (a, b):
        seed(worker, specialist("s1", capacity=ONE), specialist("s2", capacity=ONE))
    bus.load_owner = lambda specialist_id: a
    bus.case_owner = {"case-a": a, "case-b": b}.__getitem__
    # B decides first; its reservation is still on the way when A decides the same specialist.
    await RoutingProcessor.on_case_input(b, triaged("case-b"))
    await RoutingProcessor.on_case_input(a, triaged("case-a"))
    assert set(offers(pub_a, pub_b)) == {"case-a"}  # A's own reservation: offered at once
    await bus.drain()
    assert set(offers(pub_a, pub_b).values()) == {"s1", "s2"}
    assert len(held(tables, "s1")) == len(held(tables, "s2")) == 1


async def test_nobody_with_room_escalates_without_a_round_trip() -> None:
    worker, publisher, tables = owner_of_every_load(specialist("s1", capacity=ONE))
    await RoutingProcessor.on_case_input(worker, triaged("case-a"))
    worker.loads.put(SpecialistLoad(specialist_id="s1"))  # a stale view: s1 looks free
    await RoutingProcessor.on_case_input(worker, triaged("case-b"))
    assert offers(publisher) == {"case-a": "s1"}
    assert [e.case_id for e in publisher.events if isinstance(e, CaseEscalated)] == ["case-b"]
    assert {slot.split("/", 1)[0] for slot in held(tables, "s1")} == {"case-a"}  # case-b none


async def test_a_replayed_input_grants_the_slot_it_already_holds_and_offers_the_same() -> None:
    worker, publisher, tables = owner_of_every_load(specialist("s1", capacity=TWO))
    await RoutingProcessor.on_case_input(worker, triaged("case-a"))
    # Crash after the load row and the offer, before the case row: the input comes again.
    tables.cases.clear()
    again, republished, _ = owner_of_every_load(specialist("s1", capacity=TWO), tables=tables)
    await RoutingProcessor.on_case_input(again, triaged("case-a"))
    first = [e for e in publisher.events if isinstance(e, AssignmentOffered)]
    second = [e for e in republished.events if isinstance(e, AssignmentOffered)]
    assert [e.event_id for e in second] == [e.event_id for e in first]  # consumers drop it
    assert len(held(tables, "s1")) == 1


async def test_a_replay_after_a_boundary_decides_with_the_first_decisions_clock() -> None:
    # s1 goes on leave a minute after the first decision; the replay comes two minutes later.
    away = specialist("s1", absences=[absence(NOW + timedelta(minutes=1), hours=8)])
    worker, publisher, tables = owner_of_every_load(away, specialist("s2"))
    await RoutingProcessor.on_case_input(worker, triaged("case-a"))
    (first,) = [e for e in publisher.events if isinstance(e, AssignmentOffered)]
    assert first.specialist_id == "s1"
    tables.cases.clear()  # crash after the load row and the offer, before the case row
    again, republished, _ = make_processor(Clock(NOW + timedelta(minutes=2)), tables,
                                           reserve_here=lambda specialist_id: True)
    seed(again, away, specialist("s2"))
    await RoutingProcessor.on_case_input(again, triaged("case-a"))
    (second,) = [e for e in republished.events if isinstance(e, AssignmentOffered)]
    # Decided now, s1 would be away and s2 offered under the same id, which consumers drop:
    # s2 never told, s1 told of an offer routing's row gives to someone else.
    assert (second.event_id, second.specialist_id, second.occurred_at, second.offer_expires_at) \
        == (first.event_id, "s1", first.occurred_at, first.offer_expires_at)
    assert b"s2" not in tables.loads or held(tables, "s2") == set()
    state = again.case_state("case-a")
    assert state is not None and state.steps[first.step_id].offer.offered_at == NOW  # type: ignore[union-attr]


async def test_a_slot_the_case_row_knows_does_not_set_the_clock() -> None:
    worker, _, tables = owner_of_every_load(specialist("s1", capacity=TWO))
    await RoutingProcessor.on_case_input(worker, triaged("case-a"))
    later = NOW + timedelta(minutes=5)
    again, _, _ = make_processor(Clock(later), tables,
                                           reserve_here=lambda specialist_id: True)
    seed(again, specialist("s1", capacity=TWO))
    await RoutingProcessor.on_case_input(again, triaged("case-a", revision=2, urgency="urgent"))
    assert [r.at for r in again.case_state("case-a").record][-1] == later  # type: ignore[union-attr]


def test_a_load_row_written_from_a_case_handler_goes_to_the_specialists_partition() -> None:
    class FakeTable:
        def __init__(self) -> None:
            self.changelog: list[tuple[int | None, bytes]] = []
            self.data: dict[bytes, bytes] = {}

        def send_changelog(self, partition: int | None, key: bytes, value: bytes) -> None:
            self.changelog.append((partition, key))

    table = FakeTable()
    load_writer(table)(b"spec-7", b"{}")  # type: ignore[arg-type]
    # Not the partition of the case event being handled: the one routing.load.v1 keys it to.
    assert table.changelog == [(case_partition("spec-7", LOAD_PARTITIONS), b"spec-7")]
    assert table.data == {b"spec-7": b"{}"}


async def test_an_unreadable_load_row_refuses_its_specialist_and_the_case_moves_on() -> None:
    # A row written by a later release (a field this one forbids): reading it raised, and the
    # case input that picked this specialist was dead-lettered, never routed.
    tables = Tables()
    tables.loads[b"s1"] = b'{"specialist_id": "s1", "field_of_a_later_release": 1}'
    worker, publisher, tables = owner_of_every_load(specialist("s1"), specialist("s2"),
                                                    tables=tables)
    worker.loads.put(SpecialistLoad(specialist_id="s2", last_assigned_at=NOW))  # s1 ranks first
    await RoutingProcessor.on_case_input(worker, triaged("case-a"))
    assert offers(publisher) == {"case-a": "s2"}
    record = [e.kind for e in worker.case_state("case-a").record]  # type: ignore[union-attr]
    assert "capacity_refused" in record
    assert tables.loads[b"s1"] == b'{"specialist_id": "s1", "field_of_a_later_release": 1}'


def test_a_rebuild_leaves_out_an_unreadable_row_instead_of_crashing() -> None:
    # rebuild() runs after every rebalance: a row it cannot parse crashed the worker each time.
    tables = Tables()
    tables.loads[b"s1"] = b'{"specialist_id": "s1", "field_of_a_later_release": 1}'
    tables.loads[b"s2"] = SpecialistLoad(specialist_id="s2", last_assigned_at=NOW) \
        .model_dump_json().encode()
    tables.cases[b"case-x"] = b'{"case_id": "case-x", "field_of_a_later_release": 1}'
    worker, _, _ = owner_of_every_load(specialist("s1"), specialist("s2"), tables=tables)
    worker.rebuild()
    assert worker.synced and worker.loads.get("s1") is None
    assert worker.loads.get("s2") is not None and "case-x" not in worker.due
