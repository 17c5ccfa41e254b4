"""The timer's look (stall gauges, stall alarms, breach forecast) reads only the cases this
worker owns. faust keeps consuming standby changelog partitions into the same tables after
recovery, so a worker also holds the rows of cases another worker owns that changed since the
last rebalance: each such case was counted in both workers' `notify_stalled_cases` and
`notify_cases_at_risk` gauges ("each worker counts its own cases, so the gauges add up") and
logged as stalled by both."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from schemas.envelope import Event
from services.common.consume import EventMeta
from services.notify.casefile.models import CaseOutline
from tests.notify.notify_rig import AgentRig
from tests.unit.notify.notify_builders import T0, CaseFlow


async def feed(rig: AgentRig, event: Event, partition: int) -> None:
    meta = EventMeta(topic="referral.events.v1", partition=partition, offset=1,
                     key=event.case_id.encode())
    await rig.processor.handle(event, meta)
    rig.processor.flush()


async def test_rows_of_partitions_owned_elsewhere_are_not_looked_at() -> None:
    rig = AgentRig()
    await feed(rig, CaseFlow("case-mine").received(T0), partition=0)
    await feed(rig, CaseFlow("case-standby").received(T0), partition=1)  # a standby copy
    owned = {0}
    for every_row in (True, False):
        seen: list[str] = []

        def add(case: CaseOutline, running: Mapping[str, datetime]) -> None:
            seen.append(case.case_id)  # noqa: B023

        await rig.processor.watch(add, every_row=every_row,
                                  owned=lambda partition: partition in owned)
        assert seen == ["case-mine"], every_row
