"""Routing's whole-topic views survive a record they cannot apply, and readiness names a view
whose follower stopped.

A load row this release cannot parse (SpecialistLoad refuses unknown fields: a rollback after a
release that added one) raised out of `on_load_snapshot`, ended the `follow_load_view` faust
task and crashed the app; the restarted worker read the same row again, so every routing worker
crash-looped. Now the row is dead-lettered and the rows after it are applied. A follower that
stopped all the same left `/health/ready` at 200 on a frozen view; now readiness says so.
"""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest

from schemas.dead_letter import DeadLettered
from schemas.envelope import derive_id
from services.common import consume
from services.common.follow import TopicFollower
from services.routing.app import RoutingWorker
from services.routing.domain.load import SpecialistLoad
from services.routing.kafka_gateway import KafkaGateway
from services.routing.settings import load_settings
from tests.unit.common.follower_fakes import FakeTopics, install, until
from tests.unit.routing.builders import specialist


@pytest.fixture
def topics(monkeypatch: pytest.MonkeyPatch) -> FakeTopics:
    fake = FakeTopics()
    install(monkeypatch, fake)
    return fake


@pytest.fixture
def dead_letters(monkeypatch: pytest.MonkeyPatch) -> list[DeadLettered]:
    """What the worker sends to the dead-letter topic (acknowledged at once)."""
    sent: list[DeadLettered] = []

    async def send_event(topic: Any, event: DeadLettered, **kwargs: Any) -> None:
        sent.append(event)

    monkeypatch.setattr(consume, "send_event", send_event)
    return sent


def load_row(specialist_id: str, **extra: Any) -> bytes:
    """A load row as written by this release, or with fields a later one added."""
    row = SpecialistLoad(specialist_id=specialist_id).model_dump(mode="json")
    return json.dumps({**row, **extra}).encode()


async def run(follower: TopicFollower) -> asyncio.Task[None]:
    return asyncio.create_task(follower.run())  # as the worker's faust task runs it


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_load_row_this_release_cannot_parse_is_dead_lettered_and_the_view_goes_on(
    topics: FakeTopics, dead_letters: list[DeadLettered],
) -> None:
    worker = RoutingWorker(load_settings())
    view = worker.load_view
    topics.add(view.topic, b"s0", load_row("s0"))
    topics.add(view.topic, b"s1", load_row("s1", added_by_a_later_release=[]))
    topics.add(view.topic, b"s2", load_row("s2"))
    task = await run(view)
    try:
        await until(lambda: worker.processor.loads.get("s2") is not None)
        topics.add(view.topic, b"s3", load_row("s3"))  # still following
        await until(lambda: worker.processor.loads.get("s3") is not None)
        assert worker.processor.loads.get("s1") is None
        assert not task.done() and view.healthy
    finally:
        await stop(task)
    [dead] = dead_letters
    assert (dead.service, dead.source_topic, dead.source_offset) == ("routing", view.topic, 1)
    assert dead.event_id == derive_id("dead-letter", "routing", view.topic, 0, 1)
    assert dead.reason.startswith("ValidationError") and "added_by_a_later_release" in dead.reason


async def test_a_bad_directory_record_is_dead_lettered_and_later_ones_applied(
    topics: FakeTopics, dead_letters: list[DeadLettered],
) -> None:
    worker = RoutingWorker(load_settings())
    directory = worker.directory
    topics.add(directory.topic, b"s-1", b'{"not": "a specialist"}')
    topics.add(directory.topic, b"s-2", specialist("s-2").model_dump_json().encode())
    task = await run(directory)
    try:
        await until(lambda: worker.processor.directory.get("s-2") is not None)
        assert worker.processor.directory.get("s-1") is None and directory.healthy
    finally:
        await stop(task)
    assert [(d.source_offset, d.reason.split(":")[0]) for d in dead_letters] == [
        (0, "ValidationError(Specialist)")]


def gateway(views: list[TopicFollower]) -> KafkaGateway:
    return KafkaGateway(
        processor=SimpleNamespace(synced=True),  # type: ignore[arg-type]
        replies=None, views=views, directory_topic=None,  # type: ignore[arg-type]
        commands_topic=None, worker_ready=lambda: [],  # type: ignore[arg-type]
        worker_live=lambda: [], directory_wait_seconds=1.0, reply_timeout_seconds=1.0)


async def test_readiness_names_a_view_whose_follower_stopped(topics: FakeTopics) -> None:
    topics.add("routing.directory.test", b"s-1", b"{}")
    view = TopicFollower(bootstrap="fake:9092", topics=["routing.directory.test"],
                         on_record=lambda record: None, client_id="test")
    ready = gateway([view]).ready
    assert ready() == ["routing.directory.test: follower not running"]  # its task not begun
    task = await run(view)
    await until(lambda: ready() == [])
    topics.fail_with = RuntimeError("a bug, not a broker error")
    await until(lambda: task.done())
    # Read to its end once, but frozen since: not ready (it used to stay ready for good).
    assert view.loaded and ready() == ["routing.directory.test: follower not running"]
