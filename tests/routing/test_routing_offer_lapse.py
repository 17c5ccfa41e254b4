"""A crash between the load row (written first) and the case row makes the case's input come
again. The replay saw the first specialist one slot fuller and could choose someone else; the
first slot then belonged to no case, and a specialist with room for one case was full for good.
Now the replay does not count the step's own slot (it decides as the first time did), and an
offer that no case will close, however it came about, lapses after every offer window.
"""

from __future__ import annotations

from datetime import timedelta

from schemas.directory import Capacity
from schemas.routing import AssignmentOffered, EmergencyAssigned
from schemas.sla_policy import DEFAULT_SLA_POLICY
from services.common.sla_policy import parse_targets
from services.routing.domain.load import LoadDelta, SpecialistLoad, apply_delta, lapsed_offers
from services.routing.domain.policy import OFFER_LAPSE_GRACE, RoutingPolicy
from services.routing.processor import RoutingProcessor
from tests.routing.fakes import Clock, Tables, make_processor
from tests.unit.routing.builders import NOW, shift, specialist, triaged

ONE = Capacity(max_open_cases=1, max_new_per_day=5)
SPECS = (specialist("s1", capacity=ONE), specialist("s2", capacity=ONE))
LIMIT = RoutingPolicy().offer_hold_limit()


def held(tables: Tables, specialist_id: str) -> set[str]:
    load = SpecialistLoad.model_validate_json(tables.loads[specialist_id.encode()])
    return set(load.offers) | set(load.open)


def offered(publisher) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {e.case_id: e.specialist_id for e in publisher.events
            if isinstance(e, AssignmentOffered)}


def owner(clock: Clock, tables: Tables | None = None):  # type: ignore[no-untyped-def]
    worker, publisher, tables = make_processor(clock, tables,
                                               reserve_here=lambda specialist_id: True)
    for spec in SPECS:
        worker.on_directory_record(spec.specialist_id.encode(), spec.model_dump_json().encode())
    return worker, publisher, tables


async def test_a_replay_offers_the_same_specialist_again_and_leaves_no_second_slot() -> None:
    """The crash above: the replay sees s1 one slot fuller, but not for this step's own slot,
    so it decides as the first time did, under the same ids (consumers drop the repeat)."""
    clock = Clock(NOW)
    worker, publisher, tables = owner(clock)
    await RoutingProcessor.on_case_input(worker, triaged("case-a"))
    first = [e for e in publisher.events if isinstance(e, AssignmentOffered)]
    tables.cases.clear()  # crash after the load row and the offer, before the case row
    again, republished, _ = owner(clock, tables)
    clock.now = NOW + timedelta(seconds=5)
    await RoutingProcessor.on_case_input(again, triaged("case-a"))
    second = [e for e in republished.events if isinstance(e, AssignmentOffered)]
    assert [(e.event_id, e.specialist_id) for e in second] == [
        (e.event_id, e.specialist_id) for e in first]
    assert held(tables, "s1") == {"case-a/spine_surgery"}
    assert tables.loads.get(b"s2") is None or held(tables, "s2") == set()


async def test_a_replayed_emergency_assigns_the_same_on_call_surgeon() -> None:
    """Same crash, emergency path: the on-call surgeon's open assignment made them look busier
    on replay, and the second EmergencyAssigned (same id, another surgeon) was dropped by its
    consumers as a repeat: the surgeon routing recorded was never paged."""
    on_call = [shift(NOW - timedelta(hours=1), 12)]
    surgeons = (specialist("oc1", on_call=on_call), specialist("oc2", on_call=on_call))
    tables = Tables()

    def worker_over(tables: Tables):  # type: ignore[no-untyped-def]
        worker, publisher, _ = make_processor(Clock(NOW), tables,
                                              reserve_here=lambda specialist_id: True)
        for spec in surgeons:
            worker.on_directory_record(spec.specialist_id.encode(),
                                       spec.model_dump_json().encode())
        return worker, publisher

    emergency = triaged("case-e", urgency="emergency", emergency=True)
    worker, publisher = worker_over(tables)
    await worker.on_case_input(emergency)
    first = [(e.event_id, e.specialist_id) for e in publisher.events
             if isinstance(e, EmergencyAssigned)]
    assert len(first) == 1
    tables.cases.clear()  # crash after the load row and the event, before the case row
    again, republished = worker_over(tables)
    await again.on_case_input(emergency)
    second = [(e.event_id, e.specialist_id) for e in republished.events
              if isinstance(e, EmergencyAssigned)]
    assert second == first
    state = again.case_state("case-e")
    assert state is not None
    assert {s.assignee for s in state.steps.values() if s.assignee} == {first[0][1]}


def with_an_orphan(clock: Clock):  # type: ignore[no-untyped-def]
    """s1's load holds an offer for a case whose row knows nothing of it (however it was
    lost); s1 has room for one case, so it looks full."""
    tables = Tables()
    orphan = SpecialistLoad(specialist_id="s1", offers={"case-x/spine_surgery": NOW})
    tables.loads[b"s1"] = orphan.model_dump_json().encode()
    return owner(clock, tables)


async def test_an_offer_no_case_knows_lapses_after_the_limit_and_its_slot_is_free() -> None:
    clock = Clock(NOW)
    worker, publisher, tables = with_an_orphan(clock)
    await worker.on_case_input(triaged("case-a"))
    assert offered(publisher) == {"case-a": "s2"}  # s1 is full with the orphan
    clock.now = NOW + LIMIT - timedelta(seconds=1)
    assert [d.case_id for d in worker.offers_to_lapse(clock.now, lambda sid: True)
            if d.specialist_id == "s1"] == []  # inside the limit: kept
    clock.now = NOW + LIMIT
    lapses = [d for d in worker.offers_to_lapse(clock.now, lambda sid: True)
              if d.specialist_id == "s1"]
    assert [(d.case_id, d.step_id, d.change) for d in lapses] == [
        ("case-x", "spine_surgery", "lapsed")]
    for delta in lapses:
        await publisher.load_delta(delta)
    await publisher.bus.drain()
    assert held(tables, "s1") == set()
    await worker.on_case_input(triaged("case-b"))
    assert offered(publisher)["case-b"] == "s1"  # without the lapse s1 stayed full for good


async def test_only_the_load_partitions_owner_sends_lapses_and_each_sweep_sends_the_same() -> None:
    clock = Clock(NOW)
    worker, _, _ = with_an_orphan(clock)
    later = NOW + LIMIT + timedelta(hours=3)
    assert worker.offers_to_lapse(later, lambda sid: sid != "s1") == []
    mine = worker.offers_to_lapse(later, lambda sid: sid == "s1")
    assert [d.specialist_id for d in mine] == ["s1"]
    again = worker.offers_to_lapse(later + timedelta(minutes=1), lambda sid: sid == "s1")
    assert [d.event_id for d in again] == [d.event_id for d in mine]  # derived, not new
    assert mine[0].occurred_at == NOW  # the offer's own time: what the load agent checks


def test_a_lapse_frees_only_the_offer_it_was_sent_for() -> None:
    slot_at = NOW
    load = SpecialistLoad(specialist_id="s1", offers={"case-a/spine_surgery": slot_at},
                          open={"case-b/spine_surgery": NOW - timedelta(days=3)})
    [lapse] = lapsed_offers(load, NOW + LIMIT, LIMIT)
    freed = apply_delta(load, lapse)
    assert freed.offers == {} and freed.open == load.open  # assignments never lapse
    assert apply_delta(freed, lapse) == freed  # the same lapse again changes nothing
    # The slot offered again (same case and step, a later offer) before the lapse arrived:
    reoffered = load.model_copy(update={"offers": {"case-a/spine_surgery": NOW + LIMIT}})
    assert apply_delta(reoffered, lapse).offers == reoffered.offers


def test_the_limit_follows_the_one_sla_policy() -> None:
    assert timedelta(hours=12) + OFFER_LAPSE_GRACE == LIMIT  # routine's window is the longest
    shorter = DEFAULT_SLA_POLICY.model_copy(update={"urgencies": {
        **DEFAULT_SLA_POLICY.urgencies, **parse_targets("routine=2h/24h/42d,soon=3h/8h/14d")}})
    assert RoutingPolicy(sla=shorter).offer_hold_limit() == timedelta(hours=3) + OFFER_LAPSE_GRACE
    delta = LoadDelta(event_id="e", case_id="c", occurred_at=NOW, specialist_id="s",
                      step_id="t", team="", change="lapsed")
    assert apply_delta(None, delta).offers == {}  # a lapse for a row gone (erased) is harmless
