"""Notify as a process on the real broker: a flaky receiver still gets everything, signed,
once per Idempotency-Key, in order per case; SLA alarms survive a restart of the worker."""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas import topics
from schemas.directory import Specialist
from schemas.envelope import Event
from schemas.notifications import NotificationDelivered
from schemas.sla import SlaBreached, SlaWarningRaised
from scripts.localsystem import ServiceProcess, service_env
from scripts.webhook_inbox import ReceivedCall, WebhookReceiver
from services.notify.delivery.signing import derive_secret, verify
from tests.notify.notify_kafka import produce, produce_events, wait_for
from tests.unit.notify.notify_builders import CaseFlow

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

MASTER = "test-master-" + uuid.uuid4().hex
REFERRER_SECRET = "test-referrer-secret"


@pytest.fixture
def receiver() -> WebhookReceiver:
    inbox = WebhookReceiver(fail_first=7)  # the first seven calls get HTTP 500
    yield inbox
    inbox.close()


@pytest.fixture
def notify_env(kafka_bootstrap: str, tmp_path: Path, receiver: WebhookReceiver) -> dict[str, str]:
    subscribers = {"referrers": [{"id": "ref-e2e", "secret": REFERRER_SECRET,
                                  "webhook_url": f"{receiver.base_url}/hooks/ref-e2e"}]}
    (tmp_path / "subscribers.json").write_text(json.dumps(subscribers))
    return service_env(
        bootstrap=kafka_bootstrap, data_dir=tmp_path / "data",
        prefix=f"t{uuid.uuid4().hex[:8]}-",
        extra={"NOTIFY_SUBSCRIBERS_FILE": str(tmp_path / "subscribers.json"),
               "NOTIFY_WEBHOOK_MASTER_SECRET": MASTER, "NOTIFY_RETRY_BASE_SECONDS": "0.05",
               "NOTIFY_RETRY_CAP_SECONDS": "0.5", "NOTIFY_TICK_SECONDS": "0.2",
               "NOTIFY_SCAN_SECONDS": "2", "SLA_TARGETS": "urgent=30m/40s/1h"},
    )


def start_notify(env: dict[str, str], log_dir: Path) -> ServiceProcess:
    process = ServiceProcess("notify", env, log_dir).start()
    process.wait_healthy(120)
    return process


def publish_specialist(bootstrap: str, specialist_id: str, receiver: WebhookReceiver) -> None:
    entry = Specialist(specialist_id=specialist_id, name="Test", role="neurosurgeon",
                       webhook_url=f"{receiver.base_url}/hooks/{specialist_id}")
    produce(bootstrap, topics.SPECIALIST_DIRECTORY, [(specialist_id.encode(),
                                                      entry.model_dump_json().encode())])


def secret_for(call: ReceivedCall, specialist_id: str) -> bytes:
    who = call.path.rsplit("/", 1)[-1]
    if who == "ref-e2e":
        return REFERRER_SECRET.encode()
    assert who == specialist_id
    return derive_secret(MASTER, "specialist", who)


def full_case(flow: CaseFlow, specialist: str) -> list[tuple[str, Event]]:
    now = datetime.now(UTC)
    return [(topics.REFERRAL_EVENTS, flow.received(now)),
            (topics.ROUTING_EVENTS, flow.offered(now, specialist=specialist)),
            (topics.ROUTING_EVENTS, flow.accepted(now, specialist=specialist)),
            (topics.ROUTING_EVENTS, flow.step_completed(now, specialist=specialist)),
            (topics.ROUTING_EVENTS, flow.case_completed(now))]


REFERRER_KINDS = ["status_received", "status_assigned", "status_report_ready",
                  "status_completed"]


def test_flaky_receiver_gets_everything_signed_once_and_in_order(
    kafka_bootstrap: str, notify_env: dict[str, str], receiver: WebhookReceiver, tmp_path: Path
) -> None:
    specialist = f"spec-{uuid.uuid4().hex[:6]}"
    publish_specialist(kafka_bootstrap, specialist, receiver)
    notify = start_notify(notify_env, tmp_path)
    try:
        flows = [CaseFlow(case_id=f"e2e-{uuid.uuid4().hex[:8]}", referrer_id="ref-e2e")
                 for _ in range(3)]
        for flow in flows:
            for topic, event in full_case(flow, specialist):
                produce_events(kafka_bootstrap, topic, [event])
        case_ids = {f.case_id for f in flows}

        def ours(calls: list[ReceivedCall]) -> list[dict]:
            return [c.json() for c in calls if c.json().get("case_id") in case_ids]

        calls = receiver.wait_for(lambda cs: len(ours(cs)) >= 15, timeout=120)
        time.sleep(2)  # anything still arriving would be a duplicate
        calls = [c for c in receiver.calls if c.json().get("case_id") in case_ids]
        # Before stopping: an outcome published just after its webhook must not be cut off.
        outcomes = wait_for(kafka_bootstrap, topics.NOTIFICATION_EVENTS, case_ids,
                            lambda es: sum(isinstance(e, NotificationDelivered) for e in es) >= 15)
    finally:
        notify.stop()

    assert receiver.attempts > len(calls)  # the failures really happened and were retried
    keys = [c.headers["idempotency-key"] for c in calls]
    assert len(keys) == len(set(keys)) == 15
    for call in calls:
        assert verify(secret_for(call, specialist), call.headers["x-timestamp"], call.body,
                      call.headers["x-signature"], now=time.time())
    lanes: dict[tuple[str, str], list[dict]] = defaultdict(list)  # (case, subscriber)
    for call in calls:
        body = call.json()
        lanes[(body["case_id"], body["subscriber_id"])].append(body)
    for (_, subscriber), bodies in lanes.items():
        kinds = [b["kind"] for b in bodies]
        assert kinds == (REFERRER_KINDS if subscriber == "ref-e2e" else ["assignment_offered"])
        assert [b["sequence"] for b in bodies] == sorted(b["sequence"] for b in bodies)
    delivered = {e.notification_id for e in outcomes if isinstance(e, NotificationDelivered)}
    assert delivered == set(keys)


def test_sla_alarms_survive_a_worker_restart(
    kafka_bootstrap: str, notify_env: dict[str, str], receiver: WebhookReceiver, tmp_path: Path
) -> None:
    # The first warning at a quarter of a 60 s target leaves ~45 s to see it and stop the
    # worker before the breach (a 40 s target warned at 30 s left a loaded machine ~5 s).
    notify_env = notify_env | {"SLA_TARGETS": "urgent=30m/60s/1h",
                               "NOTIFY_WARN_FRACTIONS": "0.25,0.9"}
    specialist = f"spec-{uuid.uuid4().hex[:6]}"
    publish_specialist(kafka_bootstrap, specialist, receiver)
    flow = CaseFlow(case_id=f"sla-{uuid.uuid4().hex[:8]}", referrer_id="ref-e2e")
    notify = start_notify(notify_env, tmp_path)
    try:
        produce_events(kafka_bootstrap, topics.ROUTING_EVENTS,
                       [flow.offered(datetime.now(UTC), specialist=specialist)])
        wait_for(kafka_bootstrap, topics.SLA_EVENTS, {flow.case_id},
                 lambda es: any(isinstance(e, SlaWarningRaised) for e in es))
    finally:
        notify.stop()
    before = wait_for(kafka_bootstrap, topics.SLA_EVENTS, {flow.case_id}, lambda es: True)
    assert not any(isinstance(e, SlaBreached) for e in before)  # the breach is still to come
    notify = start_notify(notify_env, tmp_path)  # same group and changelogs: state restored
    try:
        events = wait_for(kafka_bootstrap, topics.SLA_EVENTS, {flow.case_id},
                          lambda es: any(isinstance(e, SlaBreached) for e in es))
        time.sleep(3)  # a forgotten 'already fired' would show up as a second alarm now
        events = wait_for(kafka_bootstrap, topics.SLA_EVENTS, {flow.case_id}, lambda es: True)
    finally:
        notify.stop()
    alarms = [(type(e).__name__, getattr(e, "elapsed_fraction", None)) for e in events]
    assert alarms.count(("SlaBreached", None)) == 1
    assert alarms.count(("SlaWarningRaised", 0.25)) == 1
    assert alarms.count(("SlaWarningRaised", 0.9)) <= 1  # may be skipped past while down
    assert len({e.event_id for e in events}) == len(events)
