"""Triage reads referrals on its reader thread: while a long reading runs, the worker's event
loop keeps serving (health probes, faust's rebalance callbacks, commits), and the referrals are
still triaged and published one at a time, in the order they came."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

import pytest

from schemas.cases import CaseTriaged
from schemas.referral import Referral
from schemas.triage import TriageResult
from services.triage.app import referral_handler
from services.triage.engine import triage_referral
from tests.unit.triage.test_triage_handler import REFERRAL, received


async def test_the_loop_keeps_turning_while_a_referral_is_read() -> None:
    reading, release = threading.Event(), threading.Event()

    def slow_engine(referral: Referral, *, as_of: date | None = None) -> TriageResult:
        reading.set()
        assert release.wait(10), "the test never released the reading"
        return triage_referral(referral, as_of=as_of)

    published: list[CaseTriaged] = []

    async def publish(triaged: CaseTriaged) -> None:
        published.append(triaged)

    with ThreadPoolExecutor(max_workers=1) as reader:
        handle = referral_handler(publish=publish, engine=slow_engine, reader=reader)
        task: asyncio.Task[None] = asyncio.create_task(
            handle(received_now(), None))  # type: ignore[arg-type]
        while not reading.is_set():
            await asyncio.sleep(0.001)
        # The engine is mid-reading and blocked: on the loop this would hang the test here.
        ticks = 0
        for _ in range(20):
            await asyncio.sleep(0)
            ticks += 1
        assert ticks == 20 and not task.done() and published == []
        release.set()
        await asyncio.wait_for(task, 10)
    assert [t.case_id for t in published] == ["case-1"]


async def test_referrals_are_triaged_in_order_and_an_engine_error_reaches_the_caller() -> None:
    order: list[str] = []

    def engine(referral: Referral, *, as_of: date | None = None) -> TriageResult:
        order.append(referral.referral_id)
        if referral.referral_id == "bad":
            raise ValueError("unreadable")  # process_events dead-letters what the handler raises
        return triage_referral(referral, as_of=as_of)

    published: list[str] = []

    async def publish(triaged: CaseTriaged) -> None:
        published.append(triaged.case_id)

    with ThreadPoolExecutor(max_workers=1) as reader:
        handle = referral_handler(publish=publish, engine=engine, reader=reader)
        for name in ("a", "b", "c"):
            await handle(received_as(name), None)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="unreadable"):
            await handle(received_as("bad"), None)  # type: ignore[arg-type]
    assert order == ["a", "b", "c", "bad"] and published == ["case-a", "case-b", "case-c"]


def received_now() -> Any:
    return received(datetime.now(UTC))


def received_as(name: str) -> Any:
    event = received_now()
    referral = REFERRAL.model_copy(update={"referral_id": name})
    return event.model_copy(update={"referral": referral, "case_id": f"case-{name}"})


async def test_a_cancelled_agent_stops_at_once_while_the_reading_ends_in_its_thread() -> None:
    # A revoke cancels the agent; faust waits for that within the rebalance timeout (10 s), so
    # the handler must not wait for a long reading to end.
    reading, release = threading.Event(), threading.Event()

    def slow_engine(referral: Referral, *, as_of: date | None = None) -> TriageResult:
        reading.set()
        release.wait(10)
        return triage_referral(referral, as_of=as_of)

    async def publish(triaged: CaseTriaged) -> None:
        raise AssertionError("a cancelled reading is not published")

    with ThreadPoolExecutor(max_workers=1) as reader:
        handle = referral_handler(publish=publish, engine=slow_engine, reader=reader)
        task: asyncio.Task[None] = asyncio.create_task(
            handle(received_now(), None))  # type: ignore[arg-type]
        while not reading.is_set():
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 1.0)
        release.set()
