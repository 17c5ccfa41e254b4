"""The agent's code path with a controllable clock: timeouts, re-offers, escalation, restarts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from schemas.directory import Capacity
from schemas.topics import CASE_PARTITIONS
from services.common.partitions import case_partition
from services.routing.domain.directory import DirectoryRecordError
from tests.routing.fakes import Clock, make_processor
from tests.unit.routing.builders import NOW, accept, specialist, triaged

URGENT_TIMEOUT = timedelta(minutes=30)


def seed(processor, *specs) -> None:  # type: ignore[no-untyped-def]
    for spec in specs:
        processor.on_directory_record(spec.specialist_id.encode(), spec.model_dump_json().encode())


async def run_due(processor, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    """What the faust timer does, then the commands agent."""
    for tick in processor.due_ticks(clock()):
        await processor.on_case_input(tick)


async def test_timeout_reoffer_then_escalation_driven_by_the_timer() -> None:
    clock = Clock(NOW)
    processor, published, _ = make_processor(clock)
    seed(processor, specialist("a"), specialist("b"))
    await processor.on_case_input(triaged(urgency="urgent"))
    assert published.types() == ["AssignmentOffered"]
    assert processor.due == {"case-1": NOW + URGENT_TIMEOUT}

    clock.now = NOW + URGENT_TIMEOUT - timedelta(seconds=1)
    assert processor.due_ticks(clock()) == []

    clock.now = NOW + URGENT_TIMEOUT
    await run_due(processor, clock)
    assert published.types()[1:] == ["OfferExpired", "AssignmentOffered"]
    assert published.events[-1].specialist_id == "b"  # type: ignore[attr-defined]

    clock.now = NOW + 2 * URGENT_TIMEOUT
    await run_due(processor, clock)
    assert published.types()[3:] == ["OfferExpired", "CaseEscalated"]
    assert published.events[-1].escalate_to == "team_lead"  # type: ignore[attr-defined]

    clock.now = NOW + 3 * URGENT_TIMEOUT
    await run_due(processor, clock)
    assert published.events[-1].escalate_to == "ops"  # type: ignore[attr-defined]


async def test_the_timer_ticks_only_cases_this_worker_owns() -> None:
    clock = Clock(NOW)
    processor, _, _ = make_processor(clock)
    seed(processor, specialist("a"), specialist("b"))
    await processor.on_case_input(triaged("case-mine", urgency="urgent"))
    await processor.on_case_input(triaged("case-theirs", urgency="urgent"))
    clock.now = NOW + URGENT_TIMEOUT
    # The table still holds rows of partitions given away (standby or revoked): not ours to tick.
    mine = case_partition("case-mine", CASE_PARTITIONS)
    assert case_partition("case-theirs", CASE_PARTITIONS) != mine  # else the test proves nothing
    ticks = processor.due_ticks(clock(), owns=lambda partition: partition == mine)
    assert [t.case_id for t in ticks] == ["case-mine"]
    assert {t.case_id for t in processor.due_ticks(clock())} == {"case-mine", "case-theirs"}


async def test_a_repeated_tick_is_decided_once() -> None:
    clock = Clock(NOW + URGENT_TIMEOUT)
    processor, published, _ = make_processor(clock)
    seed(processor, specialist("a"), specialist("b"))
    clock.now = NOW
    await processor.on_case_input(triaged(urgency="urgent"))
    clock.now = NOW + URGENT_TIMEOUT
    [tick] = processor.due_ticks(clock())
    await processor.on_case_input(tick)
    count = len(published.events)
    await processor.on_case_input(tick)  # the timer fired again before the first was applied
    assert len(published.events) == count


async def test_load_survives_a_restart_and_still_caps_capacity() -> None:
    clock = Clock(NOW)
    one = Capacity(max_open_cases=1, max_new_per_day=5)
    processor, _, tables = make_processor(clock)
    seed(processor, specialist("a", capacity=one), specialist("b", capacity=one))
    await processor.on_case_input(triaged("case-1"))
    holder = processor.case_state("case-1").steps["spine_surgery"].offer.specialist_id  # type: ignore[union-attr]
    await processor.on_case_input(accept("case-1", "spine_surgery", holder))

    restarted, published, _ = make_processor(clock, tables)  # views rebuilt from the tables
    seed(restarted, specialist("a", capacity=one), specialist("b", capacity=one))  # re-read
    await restarted.on_case_input(triaged("case-2"))
    offered = published.events[-1].specialist_id  # type: ignore[attr-defined]
    assert offered != holder


async def test_load_changes_from_before_a_restart_reach_the_view() -> None:
    clock = Clock(NOW)
    processor, published, tables = make_processor(clock)
    seed(processor, specialist("a"))
    published.hold_load = True  # the load agent had not caught up when the process died
    await processor.on_case_input(triaged())
    restarted, _, _ = make_processor(clock, tables)
    seed(restarted, specialist("a"))
    assert restarted.loads.holding("a") == ([], [])
    for delta in published.deltas:  # the load agent catches up after the restart
        await restarted.on_load_delta(delta)
    assert restarted.loads.holding("a") == (["case-1/spine_surgery"], [])


async def test_redelivered_input_publishes_nothing_new() -> None:
    processor, published, _ = make_processor(Clock(NOW))
    seed(processor, specialist("a"))
    event = triaged()
    await processor.on_case_input(event)
    count = len(published.events)
    await processor.on_case_input(event)
    assert len(published.events) == count


async def test_directory_updates_take_effect_without_restart() -> None:
    processor, published, _ = make_processor(Clock(NOW))
    await processor.on_case_input(triaged())
    assert published.types()[-1] == "CaseEscalated"
    seed(processor, specialist("late"))
    processor.clock.now = NOW + timedelta(hours=4)  # type: ignore[attr-defined]
    await run_due(processor, processor.clock)  # type: ignore[arg-type]
    assert published.events[-1].specialist_id == "late"  # type: ignore[attr-defined]


def test_directory_tombstone_removes_and_bad_records_are_refused() -> None:
    processor, _, _ = make_processor(Clock(NOW))
    seed(processor, specialist("a"))
    processor.on_directory_record(b"a", b"")
    assert processor.directory.get("a") is None
    with pytest.raises(DirectoryRecordError):
        processor.on_directory_record(b"b", specialist("a").model_dump_json().encode())
    with pytest.raises(ValidationError):
        processor.on_directory_record(b"a", b'{"specialist_id": "a"}')


async def test_inputs_routing_ignores_leave_no_state() -> None:
    processor, _, tables = make_processor(Clock(NOW))
    result = await processor.on_case_input(accept("nobody", "spine_surgery", "a"))
    assert result.outcome is not None and result.outcome.status == "not_found"
    assert tables.cases == {}


async def test_a_directory_change_ruling_out_a_holder_withdraws_the_offer_at_the_next_tick(
) -> None:
    clock = Clock(NOW)
    processor, published, _ = make_processor(clock)
    seed(processor, specialist("a"), specialist("b"))
    await processor.on_case_input(triaged(urgency="routine"))  # a window of hours
    assert published.events[-1].specialist_id == "a"  # type: ignore[attr-defined]
    due = processor.due["case-1"]
    seed(processor, specialist("c"), specialist("b", skills=["endoscopic"]))  # not a's entry
    seed(processor, specialist("a"))  # the same entry read again
    assert processor.due["case-1"] == due
    clock.now = NOW + timedelta(minutes=5)
    seed(processor, specialist("a", active=False))
    assert processor.due["case-1"] == clock.now  # ticked now, not when the window ends
    await run_due(processor, clock)
    assert published.types()[-2:] == ["OfferExpired", "AssignmentOffered"]
    assert published.events[-2].reason == "withdrawn"  # type: ignore[attr-defined]
    assert published.events[-1].specialist_id == "b"  # type: ignore[attr-defined]
    assert processor.due["case-1"] > clock.now  # back to b's offer window
    clock.now += timedelta(minutes=1)  # (a tick's id is its due: the same due, the same tick)
    processor.on_directory_record(b"b", b"")  # removed from the directory
    await run_due(processor, clock)
    assert published.types()[-2:] == ["OfferExpired", "AssignmentOffered"]
    assert published.events[-1].specialist_id == "c"  # type: ignore[attr-defined]
