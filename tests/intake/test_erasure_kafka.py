"""F3 on the real broker: plant patient identifiers on every case topic, erase the case, force
compaction, then read every topic from the beginning and find none of them."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from schemas.topics import ALL_TOPICS, ERASED_BY_TOMBSTONE, PATIENT_DATA
from tests.intake.intake_fakes import bearer
from tests.intake.test_intake_kafka import intake_on
from tests.unit.intake.intake_builders import referral_body

pytestmark = [pytest.mark.kafka, pytest.mark.erases]


@pytest.fixture
def kafka_bootstrap(erasure_kafka: str) -> str:
    """This module's tests run on the erasure tests' own broker (tests/conftest.py)."""
    return erasure_kafka

NORTH, OPS = bearer("ref-north-gp"), bearer("ops-1", role="ops")
# Compaction as fast as the broker allows, for this test only (restored afterwards).
FORCED = PATIENT_DATA | {"segment.ms": "100", "min.cleanable.dirty.ratio": "0.0001",
                         "min.compaction.lag.ms": "0", "max.compaction.lag.ms": "100",
                         "delete.retention.ms": "0"}
PARTITIONS = {spec.name: spec.partitions for spec in ALL_TOPICS}


def planted() -> dict[str, str]:
    """Unique identifiers, none a part of another or of any id the test uses."""
    def token() -> str:
        return uuid.uuid4().hex[:12]

    return {"name": f"Zebediah {token()}", "nhs": str(uuid.uuid4().int)[:10],
            "question": f"Q-{token()}", "report": f"R-{token()}", "reason": f"D-{token()}"}


async def _set_configs(bootstrap: str, config: dict[str, str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, config)
                                   for name in ERASED_BY_TOMBSTONE])
    finally:
        await admin.close()


async def _produce(bootstrap: str, records: list[tuple[str, int | None, bytes, bytes | None]],
                   ) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for topic, partition, key, value in records:
            await producer.send_and_wait(topic, value, key=key, partition=partition)
    finally:
        await producer.stop()


async def _everything(bootstrap: str) -> list[bytes]:
    """Every record on every topic of the broker from the beginning: topic NUL key | value."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:  # every topic but Kafka's own (__consumer_offsets holds group offsets only)
        names = [t for t in await admin.list_topics() if not t.startswith("__")]
        described = await admin.describe_topics(names)
    finally:
        await admin.close()
    partitions = [TopicPartition(d["topic"], p["partition"]) for d in described
                  for p in d["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        found: list[bytes] = []
        deadline = time.monotonic() + 60
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            assert time.monotonic() < deadline, "could not read every topic"
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                found += [m.topic.encode() + b"\x00" + (m.key or b"") + b"|" + (m.value or b"")
                          for m in messages]
        return found
    finally:
        await consumer.stop()


def _leftovers(bootstrap: str, secrets: list[str]) -> list[str]:
    blob = b"\n".join(asyncio.run(_everything(bootstrap)))
    return [s for s in secrets if s.encode() in blob]


def test_erasure_leaves_no_patient_data_anywhere_in_kafka(kafka_bootstrap: str) -> None:
    p = planted()
    body = referral_body(
        referral_id=f"ERASE-{uuid.uuid4()}", clinical_question=p["question"],
        patient={"name": p["name"], "birth_date": "1961-02-03",
                 "identifiers": [{"system": "https://fhir.nhs.uk/Id/nhs-number",
                                  "value": p["nhs"]}]})
    with intake_on(kafka_bootstrap) as client:
        created = client.post("/referrals", json=body, headers=NORTH)
        assert created.status_code == 202, created.text
        case_id = created.json()["case_id"]
        key = case_id.encode()
        # What the other services put on their case topics: triage's free-text sentences,
        # a specialist's decline reason and report text, a dead letter's original bytes.
        asyncio.run(_produce(kafka_bootstrap, [
            ("case.triaged.v1", None, key, f'{{"freetext": "{p["question"]}"}}'.encode()),
            ("routing.commands.v1", None, key, f'{{"report_text": "{p["report"]}"}}'.encode()),
            ("routing.events.v1", None, key, f'{{"reason": "{p["reason"]}"}}'.encode()),
            ("deadletter.v1", None, key, f'{{"original": "{p["name"]}"}}'.encode()),
        ]))
        secrets = list(p.values())
        assert _leftovers(kafka_bootstrap, secrets) == secrets  # planted everywhere
        erased = client.delete(f"/referrals/{case_id}/patient-data", headers=OPS)
        assert erased.status_code == 202, erased.text
    try:
        asyncio.run(_set_configs(kafka_bootstrap, FORCED))
        deadline, left = time.monotonic() + 120, secrets
        while left and time.monotonic() < deadline:
            time.sleep(1.0)
            # Compaction never touches a partition's active segment: a filler (a tombstone
            # under its own key) rolls it once segment.ms has passed.
            filler = f"filler-{uuid.uuid4()}".encode()
            asyncio.run(_produce(kafka_bootstrap, [
                (topic, partition, filler, None) for topic in ERASED_BY_TOMBSTONE
                for partition in range(PARTITIONS[topic])]))
            left = _leftovers(kafka_bootstrap, secrets)
        assert left == [], f"still on Kafka after erasure and compaction: {left}"
    finally:
        asyncio.run(_set_configs(kafka_bootstrap, PATIENT_DATA))
