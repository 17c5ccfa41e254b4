"""The cases the stall watchdog looks at every tick: those a silent stage could still stall.

Between forecasts the timer reads only these rows; it used to parse every summary a worker
holds every 5 s, a cost that grew with open cases (issue 13)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta

from services.notify.casefile.models import CaseOutline
from services.notify.domain.watchdog import WatchdogPolicy, find_stalls
from services.notify.processor import WATCH_CHUNK, NotifyProcessor
from tests.notify.notify_rig import AgentRig
from tests.unit.notify.notify_builders import T0, CaseFlow


async def rows_looked_at(processor: NotifyProcessor, *, every_row: bool) -> list[CaseOutline]:
    """The rows the timer's look is given."""
    seen: list[CaseOutline] = []
    await processor.watch(lambda case, running: seen.append(case), every_row=every_row)
    return seen

async def test_a_case_is_watched_until_routing_answers_and_again_after_a_restart() -> None:
    rig, waiting, answered = AgentRig(), CaseFlow("case-w"), CaseFlow("case-a")
    await rig.feed(waiting.received(T0), topic="referral.events.v1")
    await rig.feed(answered.received(T0), topic="referral.events.v1")
    assert rig.processor.unsettled == {"case-w", "case-a"}  # triage has not answered either

    await rig.feed(waiting.triaged(T0), topic="case.triaged.v1")
    await rig.feed(answered.triaged(T0), topic="case.triaged.v1")
    await rig.feed(answered.offered(T0 + timedelta(seconds=5)))
    assert rig.processor.unsettled == {"case-w"}
    assert [v.case_id for v in rig.processor.unsettled_views()] == ["case-w"]

    # What the timer finds in those rows is what it would find in all of them.
    later = T0 + timedelta(minutes=10)
    everything = find_stalls(rig.processor.summary_views(), now=later, policy=WatchdogPolicy())
    watched = find_stalls(rig.processor.unsettled_views(), now=later, policy=WatchdogPolicy())
    assert watched == everything and [s.case_id for s in watched] == ["case-w"]

    restarted = await rig.restart()  # rows restored from the tables, as after a rebalance
    assert restarted.processor.unsettled == set()
    assert len(await rows_looked_at(restarted.processor, every_row=True)) == 2  # the forecast's
    assert restarted.processor.unsettled == {"case-w"}
    watched = await rows_looked_at(restarted.processor, every_row=False)
    assert [v.case_id for v in watched] == ["case-w"]


async def test_a_row_settled_behind_the_agents_back_leaves_the_set_when_read() -> None:
    rig, flow = AgentRig(), CaseFlow("case-x")
    await rig.feed(flow.received(T0), topic="referral.events.v1")
    other = AgentRig()  # the same case, answered, as a changelog recovery would restore it
    await other.feed(flow.received(T0), topic="referral.events.v1")
    await other.feed(flow.triaged(T0), topic="case.triaged.v1")
    await other.feed(flow.offered(T0))
    rig.summaries.update(other.summaries)
    assert rig.processor.unsettled_views() == []
    assert rig.processor.unsettled == set()


async def test_reading_every_row_lets_the_loop_run_and_keeps_cases_tracked_meanwhile() -> None:
    """Thousands of rows parse for seconds: agents (and the group heartbeat) get turns, and
    what they fold meanwhile (a new case, an answer) is not undone by the older snapshot."""
    rig = AgentRig()
    for i in range(WATCH_CHUNK * 2 + 1):  # settled cases: routing answered
        flow = CaseFlow(f"case-{i}")
        await rig.feed(flow.received(T0), topic="referral.events.v1")
        await rig.feed(flow.triaged(T0), topic="case.triaged.v1")
        await rig.feed(flow.offered(T0))
    pending = CaseFlow("case-pending")
    await rig.feed(pending.received(T0), topic="referral.events.v1")
    fresh = AgentRig(  # a worker that reads these rows from JSON, as after a recovery
        cases=dict(rig.cases), summaries=dict(rig.summaries))
    order: list[str] = []

    async def scan() -> list[object]:
        views = await rows_looked_at(fresh.processor, every_row=True)
        order.append("every row read")
        return list(views)

    async def meanwhile() -> None:
        await asyncio.sleep(0)
        order.append("an agent ran")
        await fresh.feed(CaseFlow("case-new").received(T0), topic="referral.events.v1")
        await fresh.feed(pending.triaged(T0), topic="case.triaged.v1")  # answered meanwhile
        await fresh.feed(pending.offered(T0))

    views, _ = await asyncio.gather(scan(), meanwhile())
    assert order == ["an agent ran", "every row read"]
    assert len(views) == WATCH_CHUNK * 2 + 2  # the snapshot taken before the new case
    assert "case-pending" in {v.case_id for v in views if v.stages.triaged is None}
    assert fresh.processor.unsettled == {"case-new"}  # what the agents did meanwhile wins


async def test_the_every_row_pass_skips_closed_cases_unparsed_until_a_recovery() -> None:
    """In service most rows are closed cases: the forecast's pass parses each of them once,
    then skips it; a row erased leaves the set."""
    rig, open_case, done = AgentRig(), CaseFlow("case-open"), CaseFlow("case-done")
    for flow in (open_case, done):
        await rig.feed(flow.received(T0), topic="referral.events.v1")
    await rig.feed(done.cancelled(T0 + timedelta(minutes=1)), topic="referral.events.v1")
    assert rig.processor.closed == {"case-done"}  # the agents keep the set

    fresh = AgentRig(cases=dict(rig.cases), summaries=dict(rig.summaries))  # rows from JSON
    views = fresh.processor.views
    assert [v.case_id for v in await rows_looked_at(fresh.processor, every_row=True)] == [
        "case-open"]
    assert fresh.processor.closed == {"case-done"}  # found closed by parsing its row
    parses = views.parses
    assert [v.case_id for v in await rows_looked_at(fresh.processor, every_row=True)] == [
        "case-open"]
    assert views.parses - parses == 1  # only the open row was parsed again

    del fresh.summaries["case-done"]  # erased: its id leaves the set with its row
    await rows_looked_at(fresh.processor, every_row=True)
    assert fresh.processor.closed == set()


async def test_the_rescan_lets_the_loop_run_and_an_agents_change_meanwhile_wins() -> None:
    """The rescan reads every case row too: agents get turns between chunks, and a case they
    changed meanwhile is indexed as it is now, not as the older snapshot had it."""
    rig = AgentRig()
    for i in range(WATCH_CHUNK * 2):
        flow = CaseFlow(f"case-{i}")
        await rig.feed(flow.received(T0), topic="referral.events.v1")
        await rig.feed(flow.offered(T0))
    late = CaseFlow("case-late")  # the last row the rescan reaches
    await rig.feed(late.received(T0), topic="referral.events.v1")
    await rig.feed(late.offered(T0))
    rig.processor.flush()
    fresh = AgentRig(cases=dict(rig.cases), summaries=dict(rig.summaries))
    order: list[str] = []

    async def rescan() -> int:
        pending = await fresh.processor.rescan(lambda partition: True)
        order.append("rescan done")
        return pending

    async def meanwhile() -> None:
        await asyncio.sleep(0)
        order.append("an agent ran")
        await fresh.feed(late.accepted(T0 + timedelta(minutes=5)))  # acceptance clock stops

    pending, _ = await asyncio.gather(rescan(), meanwhile())
    assert order == ["an agent ran", "rescan done"]
    # every delivery still to make, the late case's as the agent left it
    assert pending == sum(len(state.outbox) for _, state in fresh.processor.states.items())
    assert pending > WATCH_CHUNK * 2
    now = fresh.processor.state_of("case-late")
    before = rig.processor.state_of("case-late")
    assert now is not None and before is not None and now.next_due_at != before.next_due_at
    indexed = fresh.processor.index._due.get("case-late")
    assert (indexed.at if indexed else None) == now.next_due_at  # the agent's, not the snapshot's


async def test_the_forecasts_deadlines_are_those_of_notifys_clocks_read_in_chunks() -> None:
    from services.notify.dashboard.ops_watch import clock_deadlines

    rig = AgentRig()
    for i in range(WATCH_CHUNK + 3):
        flow = CaseFlow(f"case-{i}")
        await rig.feed(flow.received(T0), topic="referral.events.v1")
        await rig.feed(flow.offered(T0))  # an acceptance clock runs
    rig.processor.flush()
    fresh = AgentRig(clock=rig.clock, cases=dict(rig.cases), summaries=dict(rig.summaries))
    known: dict[str, Mapping[str, datetime]] = {}
    turns: list[int] = []

    async def count_turns() -> None:
        while len(turns) < 100:
            turns.append(1)
            await asyncio.sleep(0)

    counter = asyncio.create_task(count_turns())
    await fresh.processor.watch(lambda case, running: known.update({case.case_id: running}),
                                every_row=True)
    counter.cancel()
    one_by_one = clock_deadlines(fresh.processor.state_of, fresh.clock)
    assert known == {case_id: one_by_one(case_id) for case_id in known}
    assert all(known.values()) and len(known) == WATCH_CHUNK + 3
    assert turns  # the loop had a turn meanwhile


async def test_the_forecasts_pass_reads_outlines_and_finds_what_full_rows_would() -> None:
    """Rows the pass has to parse are read without their timeline (half of a row, most of its
    parse, and thousands were held at once); stalls and the forecast come out the same."""
    from services.notify.casefile.models import CaseSummary
    from services.notify.dashboard.ops_watch import OpsWatch, clock_deadlines

    rig = AgentRig()
    for i in range(6):
        flow = CaseFlow(f"case-{i}")
        await rig.feed(flow.received(T0), topic="referral.events.v1")
        if i % 2:
            await rig.feed(flow.triaged(T0), topic="case.triaged.v1")
            await rig.feed(flow.offered(T0 + timedelta(seconds=5)))
    rig.processor.flush()
    fresh = AgentRig(clock=rig.clock, cases=dict(rig.cases), summaries=dict(rig.summaries))
    views = await rows_looked_at(fresh.processor, every_row=True)
    assert views and all(type(v) is CaseOutline for v in views)  # nothing cached: all outlines
    full = [CaseSummary.model_validate_json(raw) for raw in rig.summaries.values()]
    assert all(v.timeline for v in full)  # the rows have timelines the pass did not read

    later = T0 + timedelta(minutes=30)
    deadlines = clock_deadlines(fresh.processor.state_of, fresh.clock)
    watch = OpsWatch()
    from_outlines = watch.assess(views, deadlines, later)
    from_full = watch.assess(full, deadlines, later)
    assert from_outlines.stalls == from_full.stalls and from_outlines.stalls
    assert from_outlines.risks == from_full.risks and from_outlines.risks
    assert from_outlines.deadlines == from_full.deadlines and from_outlines.deadlines


async def test_a_pass_that_only_rebuilds_the_set_reads_no_case_row() -> None:
    """After recovery the worker reads every summary to learn which cases may stall; the SLA
    clocks in the case rows are not needed for that, and are not parsed."""
    rig, flow = AgentRig(), CaseFlow("case-w")
    await rig.feed(flow.received(T0), topic="referral.events.v1")
    rig.processor.flush()
    fresh = AgentRig(cases=dict(rig.cases), summaries=dict(rig.summaries))
    given: list[Mapping[str, datetime]] = []
    await fresh.processor.watch(lambda case, running: given.append(running), every_row=True,
                                clocks=False)
    assert given == [{}] and fresh.processor.states.parses == 0
    assert fresh.processor.unsettled == {"case-w"}
