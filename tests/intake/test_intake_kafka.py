"""Intake against the real broker: the 202 comes after the write, the event is on the topic
keyed by case id, and a restarted intake replays a resend from the registry topic."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi.testclient import TestClient

from schemas.cases import ReferralReceived
from schemas.registry import parse_event
from schemas.topics import CASE_PARTITIONS, REFERRAL_EVENTS
from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from tests.intake.intake_fakes import bearer
from tests.unit.intake.intake_builders import referral_body

pytestmark = pytest.mark.kafka
NORTH = bearer("ref-north-gp")


@contextmanager
def intake_on(bootstrap: str) -> Iterator[TestClient]:
    """A real intake (KafkaIntakeLog) that has connected and read its registry."""
    app = create_app(IntakeSettings(kafka_bootstrap=bootstrap, send_timeout_seconds=10))
    with TestClient(app) as client:
        deadline = time.monotonic() + 60
        while client.get("/health").status_code != 200:
            assert time.monotonic() < deadline, "intake never became ready"
            time.sleep(0.2)
        yield client


async def _events_keyed(bootstrap: str, key: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(REFERRAL_EVENTS, p) for p in range(CASE_PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        found: list[bytes] = []
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            for messages in (await consumer.getmany(timeout_ms=1000)).values():
                found += [m.value for m in messages if m.key == key.encode() and m.value]
        return found
    finally:
        await consumer.stop()


def test_accepted_referral_is_on_the_topic_keyed_by_case_id(kafka_bootstrap: str) -> None:
    body = referral_body(referral_id=f"KAFKA-{uuid.uuid4()}")
    with intake_on(kafka_bootstrap) as client:
        response = client.post("/referrals", json=body, headers=NORTH)
    assert response.status_code == 202
    case_id = response.json()["case_id"]
    [raw] = asyncio.run(_events_keyed(kafka_bootstrap, case_id))
    event = parse_event(REFERRAL_EVENTS, raw)
    assert isinstance(event, ReferralReceived) and event.referral.referral_id == body["referral_id"]


def test_restarted_intake_replays_a_resend_from_the_registry(kafka_bootstrap: str) -> None:
    body = referral_body(referral_id=f"RESTART-{uuid.uuid4()}")
    headers = NORTH | {"Idempotency-Key": str(uuid.uuid4())}
    with intake_on(kafka_bootstrap) as client:
        first = client.post("/referrals", json=body, headers=headers)
    with intake_on(kafka_bootstrap) as client:  # a new process: only Kafka remembers
        again = client.post("/referrals", json=body, headers=headers)
        conflict = client.post("/referrals", json=referral_body(referral_id="OTHER"),
                               headers=headers)
    assert first.status_code == 202
    assert again.status_code == 200 and again.json()["case_id"] == first.json()["case_id"]
    assert conflict.status_code == 409
    assert len(asyncio.run(_events_keyed(kafka_bootstrap, first.json()["case_id"]))) == 1
