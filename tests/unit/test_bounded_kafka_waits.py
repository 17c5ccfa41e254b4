"""HTTP handlers that wait on Kafka answer 503 + Retry-After in bounded time, never hang."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.common.kafka_wait import KafkaUnavailable, acknowledged, send_acknowledged
from services.common.problems import install_problem_handlers


class FakeTopic:
    """faust's topic.send: returns a future the broker would resolve (or never does)."""

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome
        self.sent: list[tuple[bytes, bytes | None]] = []

    async def send(self, *, key: bytes, value: bytes | None) -> asyncio.Future[Any]:
        self.sent.append((key, value))
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.outcome == "ack":
            fut.set_result("metadata")
        elif self.outcome == "error":
            fut.set_exception(KafkaConnectionError())
        return fut  # "hang": never resolved, like a stopped broker


def _api(topic: FakeTopic) -> FastAPI:
    api = FastAPI()
    install_problem_handlers(api)

    @api.post("/write")
    async def write() -> dict[str, str]:
        await send_acknowledged(topic, key=b"c-1", value=b"{}", timeout=0.2)  # type: ignore[arg-type]
        return {"status": "stored"}

    return api


@pytest.mark.parametrize("outcome", ["hang", "error"])
def test_an_unacknowledged_write_is_a_503_with_retry_after(
    outcome: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_RETRY_AFTER_SECONDS", "7")
    topic = FakeTopic(outcome)
    response = TestClient(_api(topic)).post("/write")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/broker-unavailable")
    assert topic.sent == [(b"c-1", b"{}")]


def test_an_acknowledged_write_answers_normally() -> None:
    response = TestClient(_api(FakeTopic("ack"))).post("/write")
    assert response.status_code == 200 and response.json() == {"status": "stored"}


def test_a_send_that_blocks_before_the_ack_is_bounded_too() -> None:
    async def blocked_enqueue() -> None:  # aiokafka waits for metadata before queueing
        await asyncio.Event().wait()

    with pytest.raises(KafkaUnavailable) as caught:
        asyncio.run(acknowledged(blocked_enqueue(), timeout=0.1))
    assert caught.value.status == 503 and caught.value.reason == "timed out"
