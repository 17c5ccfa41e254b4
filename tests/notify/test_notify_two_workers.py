"""Two notify workers in one group on a real broker; one is killed (SIGKILL, not restarted).

The survivor must take over the dead worker's case partitions with their table rows (restored
from the changelogs, so a case's next notification continues its sequence) and keep
delivering. In the two-worker chaos run it crashed on takeover instead and, still answering
HTTP, delivered nothing more.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from schemas import topics
from scripts.localsystem import ServiceProcess, service_env
from scripts.webhook_inbox import ReceivedCall, WebhookReceiver
from services.common.auth import mint_token
from services.common.partitions import case_partition
from tests.notify.notify_kafka import produce_events
from tests.notify.test_notify_e2e import MASTER, REFERRER_SECRET, publish_specialist
from tests.support.workers import worker_group
from tests.unit.notify.notify_builders import CaseFlow

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

RUN = uuid.uuid4().hex[:6]
SPECIALIST = f"spec-{RUN}"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    inbox = WebhookReceiver()
    yield inbox
    inbox.close()


def workers_env(kafka_bootstrap: str, tmp_path: Path, receiver: WebhookReceiver) -> dict[str, str]:
    """Settings for notify workers of one group (a fresh app prefix per test), the referrer
    and the specialist subscribed to `receiver`."""
    subscribers = {"referrers": [{"id": "ref-two", "secret": REFERRER_SECRET,
                                  "webhook_url": f"{receiver.base_url}/hooks/ref-two"}]}
    (tmp_path / "subscribers.json").write_text(json.dumps(subscribers))
    publish_specialist(kafka_bootstrap, SPECIALIST, receiver)
    return service_env(
        bootstrap=kafka_bootstrap, data_dir=tmp_path / "data",
        prefix=f"n{RUN}-{uuid.uuid4().hex[:4]}-",
        extra={"NOTIFY_SUBSCRIBERS_FILE": str(tmp_path / "subscribers.json"),
               "NOTIFY_WEBHOOK_MASTER_SECRET": MASTER, "NOTIFY_RETRY_BASE_SECONDS": "0.05",
               "NOTIFY_RETRY_CAP_SECONDS": "0.5"},
    )


@pytest.fixture
def workers(kafka_bootstrap: str, tmp_path: Path,
            receiver: WebhookReceiver) -> Iterator[list[ServiceProcess]]:
    """Two notify workers sharing one group (same app prefix), each on its own port."""
    with worker_group("notify", workers_env(kafka_bootstrap, tmp_path, receiver),
                      tmp_path) as started:
        yield started


def cases_on_every_partition(tag: str) -> list[CaseFlow]:
    """One case per case partition, so each worker owns some."""
    found: dict[int, str] = {}
    n = 0
    while len(found) < topics.CASE_PARTITIONS:
        case_id = f"two-{RUN}-{tag}-{n}"
        n += 1
        found.setdefault(case_partition(case_id, topics.CASE_PARTITIONS), case_id)
    return [CaseFlow(case_id=c, referrer_id="ref-two") for c in found.values()]


def calls_of(receiver: WebhookReceiver, kind: str, case_ids: set[str]) -> list[dict]:
    bodies = [c.json() for c in list(receiver.calls)]
    return [b for b in bodies if b.get("kind") == kind and b.get("case_id") in case_ids]


def wait_calls(receiver: WebhookReceiver, kind: str, case_ids: set[str],
               timeout: float) -> list[ReceivedCall]:
    try:
        return receiver.wait_for(
            lambda _: {b["case_id"] for b in calls_of(receiver, kind, case_ids)} >= case_ids,
            timeout=timeout)
    except TimeoutError:
        return []


def test_survivor_takes_over_with_table_rows_and_keeps_delivering(
    kafka_bootstrap: str, workers: list[ServiceProcess], receiver: WebhookReceiver
) -> None:
    now = datetime.now(UTC)
    before = cases_on_every_partition("before")
    for flow in before:
        produce_events(kafka_bootstrap, topics.REFERRAL_EVENTS, [flow.received(now)])
        produce_events(kafka_bootstrap, topics.ROUTING_EVENTS,
                       [flow.offered(now, specialist=SPECIALIST)])
    ids_before = {f.case_id for f in before}
    wait_calls(receiver, "assignment_offered", ids_before, 90)
    assert {b["case_id"] for b in calls_of(receiver, "assignment_offered", ids_before)} \
        == ids_before

    # The ops board is whole on either worker: each holds the other's partitions as standby
    # table replicas (FAUST_STANDBY_REPLICAS=1), so the summaries of every case.
    ops = {"Authorization": "Bearer " + mint_token(subject="ops-two", role="ops")}
    for worker in workers:
        deadline = time.monotonic() + 30
        while True:
            board = httpx.get(f"{worker.url}/api/ops/summary", headers=ops, timeout=10).json()
            shown = {card["case_id"] for cards in board["columns"].values() for card in cards}
            if ids_before <= shown or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert sorted(ids_before - shown) == [], worker.url

    victim, survivor = workers
    assert victim.proc is not None
    os.killpg(victim.proc.pid, signal.SIGKILL)
    victim.proc.wait(10)
    killed_at = time.monotonic()

    # Cases new to the group, and an acceptance for every earlier case (half were the victim's).
    after = cases_on_every_partition("after")
    for flow in after:
        produce_events(kafka_bootstrap, topics.ROUTING_EVENTS,
                       [flow.offered(now, specialist=SPECIALIST)])
    for flow in before:
        produce_events(kafka_bootstrap, topics.ROUTING_EVENTS,
                       [flow.accepted(now, specialist=SPECIALIST)])
    ids_after = {f.case_id for f in after}
    wait_calls(receiver, "assignment_offered", ids_after, 60)
    wait_calls(receiver, "status_assigned", ids_before, 30)
    resumed = time.monotonic() - killed_at

    offered_after = {b["case_id"] for b in calls_of(receiver, "assignment_offered", ids_after)}
    assigned = {b["case_id"]: b for b in calls_of(receiver, "status_assigned", ids_before)}
    received = {b["case_id"]: b for b in calls_of(receiver, "status_received", ids_before)}
    assert "Crashed" not in survivor.log_text(), survivor.tail()
    assert httpx.get(f"{survivor.url}/health/live", timeout=10).status_code == 200
    assert sorted(ids_after - offered_after) == [], f"undelivered after {resumed:.0f}s"
    assert sorted(ids_before - set(assigned)) == []
    # The rows came over with the partitions: each case's sequence goes on, it does not restart.
    regressed = sorted(c for c in ids_before if assigned[c]["sequence"] <= received[c]["sequence"])
    assert regressed == []
    assert "Ignoring missing topic" not in survivor.log_text() + victim.log_text()
