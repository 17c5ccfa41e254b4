"""The routing worker as its own process on a real broker: directory, a two-step plan driven to
CaseCompleted over HTTP, two concurrent accepts, and an offer timing out by the worker's timer."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas import topics
from schemas.directory import Licence
from schemas.envelope import Event
from schemas.registry import parse_event
from schemas.routing import AssignmentOffered, CaseCompleted, OfferExpired
from schemas.topics import CASE_PARTITIONS
from scripts.localsystem import ServiceProcess, service_env
from services.common.auth import mint_token
from tests.support.directory import put_specialists
from tests.support.kafka_io import produce_events
from tests.unit.routing.builders import context, specialist, triaged

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

RUN = uuid.uuid4().hex[:6]
# A jurisdiction of our own: other tests may publish directories to the same broker.
JURISDICTION = f"ZZ-{RUN}"


def sid(name: str) -> str:
    return f"{RUN}-{name}"


def auth(role: str, subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(subject=subject, role=role)}"}  # type: ignore[arg-type]


OPS = auth("ops", "ops-e2e")


@pytest.fixture(scope="module")
def routing(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """One routing worker for the module: 1 s expiry scans, routine offers time out after 3 s."""
    tmp = tmp_path_factory.mktemp("routing-e2e")
    env = service_env(bootstrap=kafka_bootstrap, data_dir=tmp / "data", prefix=f"r{RUN}-",
                      extra={"ROUTING_EXPIRY_SCAN_SECONDS": "1",
                             "ROUTING_OFFER_TIMEOUT_ROUTINE_MINUTES": "0.05"})
    service = ServiceProcess("routing", env, tmp).start()
    try:
        service.wait_healthy(120)
        url = service.url
        licence = [Licence(jurisdiction=JURISDICTION, expires_on=date(2031, 1, 1))]
        directory = [
            specialist(sid("rad"), role="neuroradiologist", licences=licence),
            specialist(sid("surg-a"), licences=licence),
            specialist(sid("surg-b"), licences=licence),
            specialist(sid("surg-conflicted"), licences=licence,
                       institution_id="inst-st-elsewhere"),
        ]
        # 200, or 202 while the fresh group works through earlier tests' cases: wait for each.
        put_specialists(url, [spec.model_dump(mode="json") for spec in directory], OPS,
                        timeout=180)
        yield service
    finally:
        service.stop()


@pytest.fixture
def routing_url(routing: ServiceProcess) -> str:
    return routing.url


async def _read_routing_events(bootstrap: str) -> list[Event]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(topics.ROUTING_EVENTS, p)
                 for p in range(CASE_PARTITIONS)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        out: list[Event] = []
        for tp in parts:
            while await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=500)
                out += [parse_event(tp.topic, r.value) for r in batch.get(tp, []) if r.value]
        return out
    finally:
        await consumer.stop()


def case_events(bootstrap: str, case_id: str, predicate, timeout: float = 60) -> list[Event]:  # type: ignore[no-untyped-def]
    """Poll routing.events.v1 until `predicate` holds for this case's events."""
    deadline = time.monotonic() + timeout
    while True:
        mine = [e for e in asyncio.run(_read_routing_events(bootstrap)) if e.case_id == case_id]
        if predicate(mine) or time.monotonic() > deadline:
            return sorted(mine, key=lambda e: e.occurred_at)
        time.sleep(0.5)


def wait_offer(url: str, specialist_id: str, case_id: str, step_id: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        offers = httpx.get(f"{url}/me/offers", headers=auth("specialist", specialist_id)).json()
        if any((o["case_id"], o["step_id"]) == (case_id, step_id) for o in offers):
            return
        time.sleep(0.3)
    raise TimeoutError(f"no {step_id} offer for {specialist_id}")


async def accept_both(url: str, case_id: str, people: list[str]) -> list[int]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        responses = await asyncio.gather(*(
            client.post(f"/offers/{case_id}/spine_surgery/accept", headers=auth("specialist", p))
            for p in people))
    return [r.status_code for r in responses]


def test_two_step_plan_to_case_completed_over_http(kafka_bootstrap: str, routing_url: str) -> None:
    case_id = f"case-{RUN}-plan"
    ctx = context(jurisdiction=JURISDICTION, excluded_institution_ids=["inst-st-elsewhere"])
    produce_events(kafka_bootstrap, topics.CASE_TRIAGED, [
        triaged(case_id, urgency="soon", teams=["spine_radiology", "spine_surgery"], ctx=ctx)])

    wait_offer(routing_url, sid("rad"), case_id, "spine_radiology")
    rad = auth("specialist", sid("rad"))
    assert httpx.post(f"{routing_url}/offers/{case_id}/spine_radiology/accept",
                      headers=rad, timeout=30).status_code == 200
    done = httpx.post(f"{routing_url}/assignments/{case_id}/spine_radiology/complete", headers=rad,
                      json={"conclusion": "agrees", "opinion": "second read",
                            "attachments": [{"reference": "pacs-read-1"}]}, timeout=30)
    assert done.status_code == 200, done.text

    wait_offer(routing_url, sid("surg-a"), case_id, "spine_surgery")
    codes = asyncio.run(accept_both(routing_url, case_id, [sid("surg-a"), sid("surg-b")]))
    # Exactly one wins; the other never held this offer, so it is a stranger to it (404).
    assert sorted(codes) == [200, 404]

    surgeon = auth("specialist", sid("surg-a"))
    done = httpx.post(f"{routing_url}/assignments/{case_id}/spine_surgery/complete",
                      headers=surgeon, json={"conclusion": "differs", "opinion": "opinion"},
                      timeout=30)
    assert done.status_code == 200, done.text

    events = case_events(kafka_bootstrap, case_id,
                         lambda es: any(isinstance(e, CaseCompleted) for e in es))
    kinds = [type(e).__name__ for e in events]
    assert kinds[-1] == "CaseCompleted"
    offers = [e for e in events if isinstance(e, AssignmentOffered)]
    # Both steps released, each said by its first offer (no PlanStepReleased when offered).
    assert {o.step_id for o in offers if o.attempt == 1} == {"spine_radiology", "spine_surgery"}
    assert "PlanStepReleased" not in kinds
    assert sid("surg-conflicted") not in {o.specialist_id for o in offers}
    surgery_offer = next(o for o in offers if o.step_id == "spine_surgery")
    read_ref = f"/cases/{case_id}/reports/spine_radiology"
    assert surgery_offer.attachments == [read_ref]
    read = httpx.get(f"{routing_url}{read_ref}", headers=surgeon, timeout=10).json()
    assert read["report"]["attachments"] == [{"reference": "pacs-read-1", "title": None,
                                              "content_type": None}]

    record = httpx.get(f"{routing_url}/cases/{case_id}/routing", headers=OPS).json()
    assert record["status"] == "completed"


def test_an_unanswered_offer_expires_and_moves_on(kafka_bootstrap: str, routing_url: str) -> None:
    case_id = f"case-{RUN}-timeout"
    ctx = context(jurisdiction=JURISDICTION)
    produce_events(kafka_bootstrap, topics.CASE_TRIAGED, [
        triaged(case_id, urgency="routine", teams=["spine_surgery"], ctx=ctx)])
    events = case_events(
        kafka_bootstrap, case_id,
        lambda es: any(isinstance(e, OfferExpired) for e in es)
        and sum(isinstance(e, AssignmentOffered) for e in es) >= 2)
    offered = [e.specialist_id for e in events if isinstance(e, AssignmentOffered)]
    assert len(set(offered)) == len(offered)  # never the same person twice
    assert datetime.now(UTC) > events[0].occurred_at


def test_a_restarted_worker_recovers_directory_load_and_records(
    kafka_bootstrap: str, routing: ServiceProcess
) -> None:
    case_id = f"case-{RUN}-plan"  # completed by the first test
    before = httpx.get(f"{routing.url}/cases/{case_id}/routing", headers=OPS).json()
    routing.stop()
    routing.start().wait_healthy(120)
    after = httpx.get(f"{routing.url}/cases/{case_id}/routing", headers=OPS)
    assert after.status_code == 200 and after.json() == before
    page = httpx.get(f"{routing.url}/directory/specialists?jurisdiction={JURISDICTION}",
                     headers=OPS).json()
    assert page["total"] == 4
