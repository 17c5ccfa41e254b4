"""Issue 10 item 5 with all four services on the real broker: a referral whose identifiers and
free text reach every service (intake's registry, triage's evidence, routing's reviewer copy,
notify's case rows and the referrer's red-flag sentence) is erased; after forced compaction of
every topic of the broker, the services' own table changelogs included, none of it is left."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from scripts.webhook_inbox import ReceivedCall, WebhookReceiver
from services.common.auth import mint_token
from tests.e2e.conftest import referrer_subscribed
from tests.intake.test_erasure_kafka import _everything, _produce
from tests.support.directory import put_specialists

pytestmark = [pytest.mark.kafka, pytest.mark.e2e, pytest.mark.erases]


@pytest.fixture
def kafka_bootstrap(erasure_kafka: str) -> str:
    """This module's tests run on the erasure tests' own broker (tests/conftest.py)."""
    return erasure_kafka


REFERRER = "ref-erase"
ALWAYS = {"starts_at": "2000-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}
ANY_TIME = {"weekdays": [0, 1, 2, 3, 4, 5, 6], "start": "00:00:00", "end": "23:59:59"}
# Compaction as fast as the broker allows; cleanup.policy is left as each topic has it, so a
# time-retained topic that carried patient data is a finding, not something the test hides.
FORCED = {"segment.ms": "100", "min.cleanable.dirty.ratio": "0.0001",
          "min.compaction.lag.ms": "0", "max.compaction.lag.ms": "100",
          "delete.retention.ms": "0"}


def _planted() -> dict[str, str]:
    """Unique values, none a part of another or of any id the test or services use."""
    def token() -> str:
        return uuid.uuid4().hex[:10]

    return {
        "name": f"Zebediah Quarrington {token()}", "nhs": str(uuid.uuid4().int)[:10],
        "birth_date": "1958-11-29",
        # The referrer's words alone raise cauda equina (triage evidence, confirm_from_text).
        "free_text": f"Patient Pz{token()} cannot feel the toilet paper when wiping and has "
                     "wet herself twice",
        "report": f"Mri report Rq{token()} large central disc extrusion",
        # The on-call surgeon's own report: routing keeps it (reports table, its events).
        "opinion": f"Decompressed urgently Op{token()}; sphincter function recovering",
    }


def _referral(p: dict[str, str]) -> dict[str, Any]:
    return {
        "referral_id": f"erase-{uuid.uuid4().hex[:10]}", "referral_type": "post_surgery",
        "region": "lumbar", "age": 67, "sex": "F", "referrer": {"id": REFERRER},
        "patient": {"pseudonym": f"p-{uuid.uuid4().hex[:8]}", "jurisdiction": "GB-ENG",
                    "name": p["name"], "birth_date": p["birth_date"],
                    "identifiers": [{"system": "https://fhir.nhs.uk/Id/nhs-number",
                                     "value": p["nhs"]}]},
        "clinical_question": p["free_text"] + ".",
        "surgeries": [{"procedure": "microdiscectomy", "levels": ["L5-S1"],
                       "weeks_before_referral": 40}],
        "imaging": [{"modality": "mri", "weeks_ago": 1, "report_text": p["report"] + "."}],
    }


def _body(call: ReceivedCall) -> dict[str, Any]:
    return call.json() if call.body.startswith(b"{") else {}


async def _topics(bootstrap: str) -> dict[str, int]:
    """Every topic of the broker but Kafka's own, with its partition count."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if not t.startswith("__")]
        return {d["topic"]: len(d["partitions"]) for d in await admin.describe_topics(names)}
    finally:
        await admin.close()


async def _topic_configs(bootstrap: str, names: list[str]) -> dict[str, dict[str, str]]:
    """Each topic's own (dynamic) configs: alter_configs replaces them all, so they are kept."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in names])
    finally:
        await admin.close()
    own: dict[str, dict[str, str]] = {}
    for response in responses:
        for _error, _message, _type, name, entries in response.resources:
            # entry: name, value, read_only, config_source (1: set on the topic), sensitive...
            own[name] = {e[0]: e[1] for e in entries if e[3] == 1}
    return own


async def _alter(bootstrap: str, configs: dict[str, dict[str, str]]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, config)
                                   for name, config in configs.items()])
    finally:
        await admin.close()


def _leftovers(bootstrap: str, planted: dict[str, str]) -> dict[str, list[str]]:
    """Which planted values are still somewhere on the broker, and on which topics."""
    found: dict[str, list[str]] = {}
    for topic, record in asyncio.run(_everything_by_topic(bootstrap)):
        for label, value in planted.items():
            if value.encode() in record:
                found.setdefault(label, []).append(topic)
    return {label: sorted(set(where)) for label, where in found.items()}


async def _everything_by_topic(bootstrap: str) -> list[tuple[str, bytes]]:
    # _everything reads keys and values; the topic name is carried in front for the report.
    return [(r.split(b"\x00", 1)[0].decode(), r) for r in await _everything(bootstrap)]


def test_erasure_leaves_no_patient_data_in_any_topic_of_any_service(
    kafka_bootstrap: str, start_system: Any, inbox: WebhookReceiver, tmp_path: Path
) -> None:
    system = start_system(extra_env=referrer_subscribed(
        tmp_path, inbox, REFERRER, NOTIFY_WEBHOOK_MASTER_SECRET="erase-master"))
    ops = {"Authorization": "Bearer " + mint_token(subject="ops-erase", role="ops")}
    oncall = {"specialist_id": "oncall-erase", "name": "Dr On Call",
              "role": "emergency_on_call", "on_call": [ALWAYS],
              "licences": [{"jurisdiction": "GB-ENG", "expires_on": "2099-01-01"}],
              "working_hours": ANY_TIME, "webhook_url": f"{inbox.base_url}/hooks/oncall",
              "capacity": {"max_open_cases": 50, "max_new_per_day": 50}}
    put_specialists(system["routing"].url, [oncall], ops)
    try:  # with a developer's shared broker (KAFKA_TEST_BOOTSTRAP) an always-on-call surgeon
        # left in the directory would take later runs' emergencies
        p = _planted()
        referrer = {"Authorization": "Bearer " + mint_token(subject=REFERRER, role="referrer")}
        posted = httpx.post(f"{system['intake'].url}/referrals", json=_referral(p),
                            headers=referrer, timeout=30)
        assert posted.status_code == 202, posted.text
        case_id = posted.json()["case_id"]

        def routed_and_told(calls: list[ReceivedCall]) -> bool:
            kinds = {_body(c).get("kind") for c in calls if _body(c).get("case_id") == case_id}
            return {"emergency_page", "status_triaged"} <= kinds

        calls = inbox.wait_for(routed_and_told, timeout=90)
        [told] = [_body(c) for c in calls if _body(c).get("case_id") == case_id
                  and _body(c).get("kind") == "status_triaged"]
        assert any(p["free_text"] in f["sentence"] for f in told["data"]["confirm_from_text"])
        [page] = [_body(c) for c in calls if _body(c).get("case_id") == case_id
                  and _body(c).get("kind") == "emergency_page"]
        surgeon = {"Authorization": "Bearer " + mint_token(subject="oncall-erase",
                                                           role="specialist")}
        reported = httpx.post(
            f"{system['routing'].url}/assignments/{case_id}/{page['data']['step_id']}/complete",
            json={"conclusion": "differs", "opinion": p["opinion"]}, headers=surgeon,
            timeout=30)
        assert reported.status_code == 200, reported.text
        inbox.wait_for(lambda calls: any(
            _body(c).get("case_id") == case_id and _body(c).get("kind") == "status_report_ready"
            for c in calls), timeout=60)
        names = asyncio.run(_topics(kafka_bootstrap))
        # Planted where the design says, the services' changelogs among them (else proves
        # nothing). Rows written behind reach their changelog at the next offset commit (1 s).
        deadline = time.monotonic() + 20
        while True:
            before = _leftovers(kafka_bootstrap, p)
            planted = set(before) == set(p) and any(
                t.endswith("-changelog") for t in before.get("free_text", []))
            if planted or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert set(before) == set(p), before
        assert any(t.endswith("-changelog") for t in before["free_text"]), before

        erased = httpx.delete(f"{system['intake'].url}/referrals/{case_id}/patient-data",
                              headers=ops, timeout=30)
        assert erased.status_code == 202, erased.text
        own = asyncio.run(_topic_configs(kafka_bootstrap, list(names)))
        held = {topic for where in before.values() for topic in where}
        # Every topic that held patient data is compacted by its own configuration, within a bound.
        assert {t for t in held if own[t].get("cleanup.policy") != "compact"
                or "max.compaction.lag.ms" not in own[t]} == set(), own
        asyncio.run(_alter(kafka_bootstrap, {t: own[t] | FORCED for t in names}))
        try:
            left = _compacted(kafka_bootstrap, names, p)
        finally:  # the broker is the session's: other tests get their topics' settings back
            asyncio.run(_alter(kafka_bootstrap, own))
        assert left == {}, f"still on Kafka after erasure and compaction: {left}"
    finally:
        httpx.delete(f"{system['routing'].url}/directory/specialists/oncall-erase",
                     headers=ops, timeout=10)


def _compacted(bootstrap: str, names: dict[str, int], p: dict[str, str]) -> dict[str, list[str]]:
    """Roll and compact until none of the planted values is left, or 75 s have passed."""
    deadline, left = time.monotonic() + 75, _leftovers(bootstrap, p)
    while left and time.monotonic() < deadline:
        time.sleep(1.0)
        # Compaction never touches a partition's active segment: a filler (a tombstone under
        # its own key) rolls it once segment.ms has passed.
        filler = f"filler-{uuid.uuid4()}".encode()
        asyncio.run(_produce(bootstrap, [
            (topic, partition, filler, None) for topic, count in names.items()
            for partition in range(count)]))
        left = _leftovers(bootstrap, p)
    return left
