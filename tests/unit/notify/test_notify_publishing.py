"""Publisher: SLA events share one acknowledgement wait; outcomes never block or raise."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import REGISTRY

from schemas.envelope import Event
from services.notify.publishing import Publisher
from tests.unit.notify.notify_builders import T0, CaseFlow


class FakeTopic:
    """Hands out one acknowledgement future per send; the test settles them."""

    app = SimpleNamespace(conf=SimpleNamespace(id="spine-notify-test"))

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.acks: list[asyncio.Future[Any]] = []

    def get_topic_name(self) -> str:
        return "sla.events.v1"

    async def send(self, *, key: bytes, value: bytes) -> asyncio.Future[Any]:
        self.sent.append(value)
        ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        return ack


def events(n: int) -> list[Event]:
    flow = CaseFlow()
    return [flow.tick(T0) for _ in range(n)]


async def test_all_events_are_sent_before_any_acknowledgement_is_awaited() -> None:
    topic = FakeTopic()
    batch = events(3)
    waiting = asyncio.create_task(Publisher(lambda event: topic).acknowledged(batch))
    await asyncio.sleep(0)
    assert topic.sent == [e.to_bytes() for e in batch]  # in order, all in flight at once
    topic.acks[0].set_result(None)
    topic.acks[2].set_result(None)
    await asyncio.sleep(0)
    assert not waiting.done()  # one acknowledgement still missing
    topic.acks[1].set_result(None)
    await waiting


async def test_a_failed_acknowledgement_fails_the_publish() -> None:
    topic = FakeTopic()
    waiting = asyncio.create_task(Publisher(lambda event: topic).acknowledged(events(1)))
    await asyncio.sleep(0)
    topic.acks[0].set_exception(RuntimeError("broker gone"))
    with pytest.raises(RuntimeError):
        await waiting


async def test_in_flow_returns_at_once_and_logs_a_failed_send(
    caplog: pytest.LogCaptureFixture,
) -> None:
    topic = FakeTopic()
    labels = {"service": "spine-notify-test", "topic": "sla.events.v1"}
    before = REGISTRY.get_sample_value("spine_events_sent_total", labels) or 0.0
    await Publisher(lambda event: topic).in_flow(events(1)[0])  # type: ignore[arg-type,return-value]
    assert len(topic.sent) == 1
    assert REGISTRY.get_sample_value("spine_events_sent_total", labels) == before + 1
    with caplog.at_level(logging.ERROR, logger="spine.notify.publish"):
        topic.acks[0].set_exception(RuntimeError("broker gone"))
        await asyncio.sleep(0)
    assert [r.message for r in caplog.records] == ["could not publish event"]
    assert caplog.records[0].case_id == "case-1"
