"""The processor's parsed-row cache and per-case turns: fast, and never at the cost of the table."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from schemas.envelope import Event
from schemas.sla import SlaWarningRaised
from services.notify.casefile import CaseSummary
from services.notify.domain.state import CaseState
from tests.notify.notify_rig import AgentRig
from tests.unit.notify.notify_builders import T0, CaseFlow, CountingTable

ROUTING, REFERRALS, SLA = "routing.events.v1", "referral.events.v1", "sla.events.v1"


async def _life_of_a_case(rig: AgentRig, flow: CaseFlow) -> list[tuple[Event, str]]:
    """Feed a case from referral to a breach and back; returns every (event, topic) fed."""
    fed = [(flow.received(rig.clock()), REFERRALS), (flow.triaged(rig.clock()), "case.triaged.v1"),
           (flow.offered(rig.clock()), ROUTING)]
    for event, topic in fed:
        await rig.feed(event, topic=topic)
    await rig.run_minutes(range(0, 130))
    for event in list(rig.published):  # notify reads its own SLA events back from Kafka
        await rig.feed(event, topic=SLA)
        fed.append((event, SLA))
    rig.clock.set_minutes(131)
    accepted = flow.accepted(rig.clock())
    await rig.feed(accepted)
    fed.append((accepted, ROUTING))
    return fed


async def test_cached_rows_always_equal_the_table_rows() -> None:
    rig, flow = AgentRig(), CaseFlow()
    await _life_of_a_case(rig, flow)
    cached_state = rig.processor.states.cached("case-1")
    cached_summary = rig.processor.views.cached("case-1")
    assert cached_state == CaseState.from_json(rig.cases["case-1"])
    assert cached_summary == CaseSummary.model_validate_json(rig.summaries["case-1"])
    assert cached_state is not None and cached_state.clocks["s1:acceptance"].status == "met"


async def test_a_redelivered_event_writes_nothing_publishes_nothing_sends_nothing() -> None:
    cases, summaries = CountingTable(), CountingTable()
    rig, flow = AgentRig(cases=cases, summaries=summaries), CaseFlow()
    fed = await _life_of_a_case(rig, flow)
    writes, published, submitted = cases.writes + summaries.writes, len(rig.published), len(
        rig.submitted)
    for event, topic in fed:
        await rig.feed(event, topic=topic)
    assert cases.writes + summaries.writes == writes
    assert (len(rig.published), len(rig.submitted)) == (published, submitted)


async def test_events_that_change_nothing_write_no_case_row() -> None:
    cases = CountingTable()
    rig, flow = AgentRig(cases=cases), CaseFlow()
    await rig.feed(flow.offered(rig.clock()))
    writes = cases.writes
    rig.clock.set_minutes(10)
    await rig.feed(flow.tick(rig.clock()), topic="notify.commands.v1")  # nothing due yet
    assert cases.writes == writes


async def test_a_row_restored_behind_the_cache_is_the_one_the_next_event_sees() -> None:
    rig, flow = AgentRig(), CaseFlow()
    await rig.feed(flow.offered(rig.clock()))
    restored = CaseState.from_json(rig.cases["case-1"]).model_copy(update={"revision": 7})
    rig.cases["case-1"] = restored.to_json().encode()  # e.g. a newer row from the changelog
    rig.clock.set_minutes(5)
    await rig.feed(flow.accepted(rig.clock()))
    state = rig.processor.state_of("case-1")
    assert state is not None and state.revision == 7 and "s1:turnaround" in state.clocks


class GatedRig(AgentRig):
    """A rig whose broker holds every SLA acknowledgement until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def _publish(self, events: Sequence[Event]) -> None:
        self.waiting.set()
        await self.gate.wait()
        await super()._publish(events)


async def test_an_event_waits_while_another_of_its_case_awaits_an_acknowledgement() -> None:
    rig, flow = GatedRig(), CaseFlow()
    await rig.feed(flow.offered(rig.clock()))
    rig.clock.set_minutes(95)  # the 0.75 warning is due: the tick publishes and waits
    tick = asyncio.create_task(rig.feed(flow.tick(rig.clock()), topic="notify.commands.v1"))
    await rig.waiting.wait()
    accept = asyncio.create_task(rig.feed(flow.accepted(rig.clock())))  # another agent
    await asyncio.sleep(0)
    assert not accept.done()
    rig.gate.set()
    await asyncio.gather(tick, accept)
    state = CaseState.from_json(rig.cases["case-1"])
    acceptance = state.clocks["s1:acceptance"]
    assert acceptance.status == "met" and 0.75 in acceptance.fired  # neither change was lost
    assert "s1:turnaround" in state.clocks
    assert [type(e) for e in rig.published][:1] == [SlaWarningRaised]
    assert len(rig.processor.locks) == 0  # nobody holds or waits for the case any more


async def test_the_events_of_a_case_between_commits_cost_one_write_per_table() -> None:
    cases, summaries = CountingTable(), CountingTable()
    rig, flow = AgentRig(cases=cases, summaries=summaries, commit_every_event=False), CaseFlow()
    for event, topic in ((flow.received(rig.clock()), REFERRALS),
                         (flow.triaged(rig.clock()), "case.triaged.v1"),
                         (flow.offered(rig.clock()), ROUTING)):
        await rig.feed(event, topic=topic)
    assert (cases.writes, summaries.writes) == (0, 0)
    assert rig.processor.flush() == 2
    assert (cases.writes, summaries.writes) == (1, 1)
    assert CaseState.from_json(cases["case-1"]) == rig.processor.states.cached("case-1")


async def test_readers_see_rows_not_yet_written() -> None:
    rig, flow = AgentRig(commit_every_event=False), CaseFlow()
    await rig.feed(flow.offered(rig.clock()))
    assert rig.cases == {} and rig.summaries == {}
    state = rig.processor.state_of("case-1")
    assert state is not None and "s1:acceptance" in state.clocks
    assert [s.status for s in rig.processor.summary_views()] == ["offered"]
    assert await rig.processor.rescan(lambda partition: True) == 1  # the offer still to deliver
    rig.clock.set_minutes(95)
    assert list(rig.processor.due_cases(lambda partition: True)) == ["case-1"]


async def test_a_crash_before_the_commit_is_repaired_by_consuming_again() -> None:
    flow = CaseFlow()
    offered, accepted = flow.offered(T0), flow.accepted(T0 + timedelta(minutes=100))

    async def run(rig: AgentRig, crash: bool) -> AgentRig:
        await rig.feed(offered)
        rig.processor.flush()  # committed
        await rig.run_minutes(range(0, 100))  # the 0.75 warning, not committed yet
        rig.clock.set_minutes(100)
        await rig.feed(accepted)
        if not crash:
            rig.processor.flush()
            return rig
        survivor = AgentRig(clock=rig.clock, cases=dict(rig.cases), summaries=dict(rig.summaries),
                            commit_every_event=False)
        await survivor.processor.rescan(lambda partition: True)
        survivor.published = rig.published
        await survivor.run_minutes(range(0, 100))  # the uncommitted ticks and events come again
        survivor.clock.set_minutes(100)
        await survivor.feed(accepted)
        survivor.processor.flush()
        return survivor

    clean = await run(AgentRig(commit_every_event=False), crash=False)
    repaired = await run(AgentRig(commit_every_event=False), crash=True)
    assert repaired.cases == clean.cases and repaired.summaries == clean.summaries
    assert {e.event_id for e in repaired.published} == {e.event_id for e in clean.published}


async def test_rows_of_a_revoked_partition_are_dropped_not_written() -> None:
    cases = CountingTable()
    rig, flow = AgentRig(cases=cases, commit_every_event=False), CaseFlow()
    await rig.feed(flow.offered(rig.clock()))  # partition 0
    assert rig.processor.forget({1}) == 0
    assert rig.processor.forget({0}) == 2  # the case row and its summary
    assert rig.processor.flush() == 0 and cases.writes == 0
    assert rig.processor.state_of("case-1") is None


async def test_a_rescan_forgets_the_due_cases_of_partitions_handed_over() -> None:
    # The index held every case a worker ever handed over, read on every tick; each rescan
    # (after every recovery, and periodically) now keeps only the owned partitions' cases.
    rig, flow = AgentRig(), CaseFlow()
    await rig.feed(flow.offered(rig.clock()))  # partition 0
    await rig.processor.rescan(lambda partition: True)
    assert len(rig.processor.index) == 1

    await rig.processor.rescan(lambda partition: partition != 0)  # partition 0 handed over
    assert len(rig.processor.index) == 0
    rig.clock.set_minutes(95)
    assert list(rig.processor.due_cases(lambda partition: True)) == []

    await rig.processor.rescan(lambda partition: True)  # and back: its row is read again
    assert list(rig.processor.due_cases(lambda partition: True)) == ["case-1"]


async def test_cases_are_due_by_the_instant_their_ticks_carry() -> None:
    # review 22: the tick was stamped before the index read the clock; a case falling due between
    # the two got a tick that, evaluated as of its stamp, raised nothing, and waited 30 s more
    rig, flow = AgentRig(commit_every_event=False), CaseFlow()
    await rig.feed(flow.offered(rig.clock()))
    await rig.processor.rescan(lambda partition: True)
    rig.clock.set_minutes(95)
    stamp = rig.clock() - timedelta(minutes=30)  # before anything fell due
    assert list(rig.processor.due_cases(lambda partition: True, stamp)) == []
    assert list(rig.processor.due_cases(lambda partition: True, rig.clock())) == ["case-1"]
