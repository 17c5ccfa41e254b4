"""Offers a specialist's load holds but no case will close lapse after every offer window.

A crash between the load row (written first) and the case row makes the case's input come
again; the replay sees the specialist one slot fuller and may choose someone else. The first
slot then belonged to no case: a specialist with room for one case was full for good.
"""

from __future__ import annotations

from datetime import timedelta

from schemas.directory import Capacity
from schemas.routing import AssignmentOffered
from schemas.sla_policy import DEFAULT_SLA_POLICY
from services.common.sla_policy import parse_targets
from services.routing.domain.load import LoadDelta, SpecialistLoad, apply_delta, lapsed_offers
from services.routing.domain.policy import OFFER_LAPSE_GRACE, RoutingPolicy
from services.routing.processor import RoutingProcessor
from tests.routing.fakes import Clock, Tables, make_processor
from tests.unit.routing.builders import NOW, specialist, triaged

ONE = Capacity(max_open_cases=1, max_new_per_day=5)
SPECS = (specialist("s1", capacity=ONE), specialist("s2", capacity=ONE))
LIMIT = RoutingPolicy().offer_hold_limit()


def held(tables: Tables, specialist_id: str) -> set[str]:
    load = SpecialistLoad.model_validate_json(tables.loads[specialist_id.encode()])
    return set(load.offers) | set(load.open)


def owner(clock: Clock, tables: Tables | None = None):  # type: ignore[no-untyped-def]
    worker, publisher, tables = make_processor(clock, tables,
                                               reserve_here=lambda specialist_id: True)
    for spec in SPECS:
        worker.on_directory_record(spec.specialist_id.encode(), spec.model_dump_json().encode())
    return worker, publisher, tables


async def replayed_into_an_orphan(clock: Clock):  # type: ignore[no-untyped-def]
    """case-a offered to s1; the case row lost; the replay offers s2. s1 holds an orphan."""
    worker, publisher, tables = owner(clock)
    await RoutingProcessor.on_case_input(worker, triaged("case-a"))
    first = [e.specialist_id for e in publisher.events if isinstance(e, AssignmentOffered)]
    tables.cases.clear()  # crash after the load row and the offer, before the case row
    again, republished, _ = owner(clock, tables)
    await RoutingProcessor.on_case_input(again, triaged("case-a"))
    second = [e.specialist_id for e in republished.events if isinstance(e, AssignmentOffered)]
    assert first == ["s1"] and second == ["s2"]
    assert held(tables, "s1") == held(tables, "s2") == {"case-a/spine_surgery"}
    return again, republished, tables


async def test_an_offer_its_case_lost_lapses_after_the_limit_and_its_slot_is_free() -> None:
    clock = Clock(NOW)
    worker, publisher, tables = await replayed_into_an_orphan(clock)
    clock.now = NOW + LIMIT - timedelta(seconds=1)
    assert worker.lapsed_offers(clock.now, lambda sid: True) == []  # inside the limit: kept
    clock.now = NOW + LIMIT
    lapses = worker.lapsed_offers(clock.now, lambda sid: True)
    # Both slots are past the limit by now (s2's case would have expired it on its tick).
    assert {(d.specialist_id, d.case_id, d.step_id, d.change) for d in lapses} == {
        ("s1", "case-a", "spine_surgery", "lapsed"), ("s2", "case-a", "spine_surgery", "lapsed")}
    for delta in lapses:
        await publisher.load_delta(delta)
    await publisher.bus.drain()
    assert held(tables, "s1") == held(tables, "s2") == set()
    await worker.on_case_input(triaged("case-b"))
    offered = {e.case_id: e.specialist_id for e in publisher.events
               if isinstance(e, AssignmentOffered)}
    assert offered["case-b"] in {"s1", "s2"}  # without the lapse both would be full


async def test_only_the_load_partitions_owner_sends_lapses_and_each_sweep_sends_the_same() -> None:
    clock = Clock(NOW)
    worker, _, _ = await replayed_into_an_orphan(clock)
    later = NOW + LIMIT + timedelta(hours=3)
    mine = worker.lapsed_offers(later, lambda sid: sid == "s1")
    assert [d.specialist_id for d in mine] == ["s1"]
    again = worker.lapsed_offers(later + timedelta(minutes=1), lambda sid: sid == "s1")
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
