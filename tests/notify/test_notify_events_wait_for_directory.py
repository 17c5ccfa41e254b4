"""Events whose recipients come from the specialist directory wait for its first load.

The timer already sent no tick before the directory was read, but the agents applied whatever
they read: a tick read again from the command topic after a restart, or a `CaseEscalated` to a
team lead that names none, resolved the lead before the directory was there and fell back to
the subscribers file's lead for the team (or ops). The agent now holds such an event until the
directory's first load, for at most NOTIFY_DIRECTORY_WAIT_SECONDS, then applies it as before
(logged and counted). Readiness says "directory: not loaded" meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from schemas.directory import Specialist
from services.common.consume import EventMeta
from services.notify.directory import DirectoryCache, DirectoryWait
from services.notify.domain.outbox import Notification
from services.notify.processor import NotifyProcessor
from tests.unit.notify.notify_builders import POLICY, T0, CaseFlow, FakeContacts


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def meta(offset: int) -> EventMeta:
    return EventMeta(topic="routing.events.v1", partition=0, offset=offset, key=b"case-1")


def waits(outcome: str) -> float:
    return REGISTRY.get_sample_value("notify_directory_waits_total", {"outcome": outcome}) or 0.0


async def turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_a_lead_escalation_read_before_the_directory_loads_goes_to_the_directorys_lead(
) -> None:
    from services.notify import app as notify_app
    from services.notify.config import load_settings

    worker = notify_app.NotifyWorker(load_settings())
    queued: list[Notification] = []
    worker.processor.submit = queued.append  # type: ignore[method-assign]
    flow = CaseFlow()
    await worker.processor.handle(flow.offered(at(0)), meta(1))  # an offer needs no lead

    loaded_before = waits("loaded")
    pending = asyncio.create_task(worker.processor.handle(
        flow.escalated(at(1), to="team_lead"), meta(2)))
    await turns()
    assert not pending.done()  # held: the lead is named by the directory

    lead = Specialist(specialist_id="spec-1", name="Dr One", role="neurosurgeon",
                      team_lead_id="lead-in-directory")
    worker.directory.apply(b"spec-1", lead.model_dump_json().encode())
    worker.directory._follower = SimpleNamespace(loaded=True)  # type: ignore[assignment]
    await asyncio.wait_for(pending, 10)
    assert [(n.audience, n.subscriber_id) for n in queued if n.kind == "case_escalated"] == [
        ("team_lead", "lead-in-directory")]  # not the file's spine-lead-morgan
    assert waits("loaded") == loaded_before + 1


def rig(loaded: list[bool], timeout_seconds: float) -> tuple[NotifyProcessor, list[Notification]]:
    queued: list[Notification] = []

    async def publish(events: object) -> None:
        return None

    wait = DirectoryWait(lambda: loaded[0], timeout_seconds=timeout_seconds)
    processor = NotifyProcessor(
        cases={}, summaries={}, policy=POLICY, contacts=FakeContacts(), clock=lambda: at(1),
        publish=publish, submit=queued.append, wait_for_directory=wait.until_loaded)
    return processor, queued


async def test_events_that_need_no_directory_are_never_held() -> None:
    processor, queued = rig([False], timeout_seconds=3600)
    flow = CaseFlow()
    for offset, event in enumerate([flow.received(at(0)), flow.offered(at(0)),
                                    flow.escalated(at(1), to="ops"), flow.ack(at(1))]):
        await asyncio.wait_for(processor.handle(event, meta(offset)), 10)
    assert ("ops", "ops-1") in [(n.audience, n.subscriber_id) for n in queued]


async def test_ticks_are_held_too() -> None:
    # A tick read again after a restart may send a chain's team-lead step.
    loaded = [False]
    processor, _ = rig(loaded, timeout_seconds=3600)
    pending = asyncio.create_task(processor.handle(CaseFlow().tick(at(1)), meta(1)))
    await turns()
    assert not pending.done()
    loaded[0] = True
    await asyncio.wait_for(pending, 10)


async def test_past_the_wait_the_event_is_applied_as_before_and_said_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    processor, queued = rig([False], timeout_seconds=0)
    flow = CaseFlow()
    await processor.handle(flow.offered(at(0)), meta(1))
    timed_out = waits("timed_out")
    with caplog.at_level(logging.WARNING, logger="spine.notify.directory"):
        await asyncio.wait_for(processor.handle(flow.escalated(at(1), to="team_lead"), meta(2)),
                               10)
        await asyncio.wait_for(processor.handle(flow.tick(at(2)), meta(3)), 10)
    assert [(n.audience, n.subscriber_id) for n in queued if n.kind == "case_escalated"] == [
        ("team_lead", "lead-1")]  # the fallback: whatever the contacts know without it
    assert waits("timed_out") == timed_out + 1  # once: later events do not wait again
    assert [r.message for r in caplog.records].count(
        "specialist directory not loaded: applying events without it") == 1


async def test_once_loaded_a_reload_holds_nothing() -> None:
    # A reconnect reads the directory again from the start (loaded is false meanwhile), but
    # the entries it had stay: events are not held again.
    loaded = [True]

    async def no_sleep(seconds: float) -> None:
        raise AssertionError("waited")

    wait = DirectoryWait(lambda: loaded[0], timeout_seconds=3600, sleep=no_sleep)
    await wait.until_loaded()
    loaded[0] = False
    await wait.until_loaded()


def test_readiness_waits_for_the_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.notify import app as notify_app

    made: list[DirectoryCache] = []

    class Recorded(DirectoryCache):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    monkeypatch.setattr(notify_app, "DirectoryCache", Recorded)
    client = TestClient(notify_app.create_app().api)
    answer = client.get("/health/ready")
    assert answer.status_code == 503 and "directory: not loaded" in answer.json()["reasons"]
    (directory,) = made
    directory._follower = SimpleNamespace(loaded=True)  # type: ignore[assignment]
    # the directory's reason goes (the others are the unstarted faust app's)
    assert "directory: not loaded" not in client.get("/health/ready").json().get("reasons", [])
