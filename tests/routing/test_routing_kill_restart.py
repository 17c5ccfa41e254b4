"""A routing worker killed with SIGKILL while cases keep arriving, then restarted: every case
that reached case.triaged.v1 gets a routing outcome, none is skipped by a committed offset.

(Issue 14, "what broke" 5: cases posted within seconds of the kill were never routed, yet the
group had no lag, so its committed offset had moved past them.)
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import topics
from schemas.directory import Capacity, Licence
from schemas.registry import parse_event
from schemas.routing import AssignmentOffered, CaseEscalated, EmergencyAssigned
from scripts.localsystem import ServiceProcess, free_port, service_env
from services.common.partitions import case_partition
from tests.routing.test_routing_e2e import OPS
from tests.support.kafka_io import produce_events
from tests.unit.routing.builders import context, shift, specialist, triaged

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

RUN = uuid.uuid4().hex[:6]
JURISDICTION = f"ZK-{RUN}"
OUTCOMES = (AssignmentOffered, EmergencyAssigned, CaseEscalated)


@pytest.fixture
def routing(kafka_bootstrap: str, tmp_path: os.PathLike[str]) -> Iterator[ServiceProcess]:
    env = service_env(bootstrap=kafka_bootstrap, data_dir=tmp_path / "data",  # type: ignore[operator]
                      prefix=f"k{RUN}-")
    worker = ServiceProcess("routing", env, tmp_path).start()  # type: ignore[arg-type]
    try:
        worker.wait_healthy(180)
        yield worker
    finally:
        worker.stop()


async def _routed(bootstrap: str) -> set[str]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(topics.ROUTING_EVENTS, p) for p in range(topics.CASE_PARTITIONS)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        found: set[str] = set()
        for tp in parts:
            while await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=500)
                for record in batch.get(tp, []):
                    event = parse_event(tp.topic, record.value)
                    if isinstance(event, OUTCOMES):
                        found.add(event.case_id)
        return found
    finally:
        await consumer.stop()


async def _committed_lag(bootstrap: str, group: str) -> dict[int, int]:
    """End offset minus the group's committed offset, per case.triaged.v1 partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(topics.CASE_TRIAGED, p) for p in range(topics.CASE_PARTITIONS)]
        ends = await consumer.end_offsets(parts)
        return {tp.partition: ends[tp] - (await consumer.committed(tp) or 0) for tp in parts}
    finally:
        await consumer.stop()


def wait_routed(bootstrap: str, case_ids: set[str], timeout: float) -> set[str]:
    """The case ids still without a routing outcome when all arrived or time ran out."""
    deadline = time.monotonic() + timeout
    missing = set(case_ids)
    while missing and time.monotonic() < deadline:
        missing -= asyncio.run(_routed(bootstrap))
        time.sleep(1)
    return missing


def cases(prefix: str, n: int) -> list:  # type: ignore[type-arg]
    ctx = context(jurisdiction=JURISDICTION)
    return [triaged(f"case-{RUN}-{prefix}-{i}", ctx=ctx) for i in range(n)]


def test_cases_arriving_around_a_kill_are_all_routed_after_the_restart(
    kafka_bootstrap: str, routing: ServiceProcess
) -> None:
    licence = [Licence(jurisdiction=JURISDICTION, expires_on=date(2031, 1, 1))]
    on_call = [shift(datetime.now(UTC) - timedelta(hours=1), 48)]
    spec = specialist(f"{RUN}-s", licences=licence, on_call=on_call,
                      capacity=Capacity(max_open_cases=1000, max_new_per_day=1000))
    assert httpx.put(f"{routing.url}/directory/specialists/{spec.specialist_id}",
                     json=spec.model_dump(mode="json"), headers=OPS, timeout=30).is_success

    before = cases("before", 40)
    produce_events(kafka_bootstrap, topics.CASE_TRIAGED, before)
    assert wait_routed(kafka_bootstrap, {c.case_id for c in before}, 120) == set()

    assert routing.proc is not None
    os.killpg(routing.proc.pid, signal.SIGKILL)
    routing.proc.wait(10)
    during = cases("during", 60)
    produce_events(kafka_bootstrap, topics.CASE_TRIAGED, during[:30])
    routing.start()  # at once, while the dead member still holds its place in the group
    produce_events(kafka_bootstrap, topics.CASE_TRIAGED, during[30:])
    routing.wait_healthy(180)
    after = cases("after", 20)
    produce_events(kafka_bootstrap, topics.CASE_TRIAGED, after)

    missing = wait_routed(kafka_bootstrap, {c.case_id for c in during + after}, 180)
    print(f"kill-restart: {len(during + after)} cases after the kill, {len(missing)} lost")
    assert missing == set(), f"{len(missing)} never routed:\n{routing.tail(40)}"


def test_a_survivor_taking_over_and_a_restart_lose_no_case(
    kafka_bootstrap: str, routing: ServiceProcess, tmp_path: os.PathLike[str]
) -> None:
    """Two workers; one is killed while cases keep coming, the survivor takes over, the killed
    one comes back: every case gets an outcome (the survivor's rebalances are the risk)."""
    other_logs = tmp_path / "b"  # type: ignore[operator]
    other_logs.mkdir()
    env = {**routing.env, "ROUTING_PORT": str(free_port())}
    other = ServiceProcess("routing", env, other_logs).start()
    try:
        other.wait_healthy(180)
        licence = [Licence(jurisdiction=JURISDICTION, expires_on=date(2031, 1, 1))]
        spec = specialist(f"{RUN}-s2", licences=licence,
                          capacity=Capacity(max_open_cases=1000, max_new_per_day=1000))
        assert httpx.put(f"{routing.url}/directory/specialists/{spec.specialist_id}",
                         json=spec.model_dump(mode="json"), headers=OPS, timeout=30).is_success
        sent: list = []  # type: ignore[type-arg]
        stop = threading.Event()

        def keep_sending() -> None:
            n = 0
            while not stop.is_set():
                batch = cases(f"flow{n}", 5)
                produce_events(kafka_bootstrap, topics.CASE_TRIAGED, batch)
                sent.extend(batch)
                n += 1
                time.sleep(0.2)

        sender = threading.Thread(target=keep_sending, daemon=True)
        sender.start()
        time.sleep(3)
        assert routing.proc is not None
        os.killpg(routing.proc.pid, signal.SIGKILL)
        routing.proc.wait(10)
        time.sleep(15)  # the survivor takes over the dead worker's partitions meanwhile
        routing.start()
        routing.wait_healthy(180)
        time.sleep(5)
        stop.set()
        sender.join(30)
        missing = wait_routed(kafka_bootstrap, {c.case_id for c in sent}, 120)
        lag = asyncio.run(_committed_lag(kafka_bootstrap, f"k{RUN}-spine-routing"))
        print(f"survivor: {len(sent)} cases, {len(missing)} lost")
        where = sorted({case_partition(c, topics.CASE_PARTITIONS) for c in missing})
        assert missing == set(), (f"{len(missing)} of {len(sent)} never routed, partitions "
                                  f"{where}, lag per partition {lag}")
    finally:
        other.stop()
