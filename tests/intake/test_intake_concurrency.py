"""Concurrent requests on one intake worker: one at a time per case and per Idempotency-Key.

Review 19: every request decided on the registry, then awaited its Kafka write, then applied
the result, so two requests for one case both decided on the state before either write (two
revision-2 events, a revision after a cancellation, two cases under one key). Here the fake
log holds every write until the test lets it go: the first request is held inside its write
while the second one starts, and the outcome must be the one the two give in sequence.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from schemas.cases import CaseErased, ReferralCancelled, ReferralReceived
from services.intake.app import create_app
from services.intake.eventlog import OutRecord
from services.intake.settings import IntakeSettings
from services.intake.state import Intake
from tests.intake.intake_fakes import NOW, FakeIntakeLog, bearer
from tests.unit.intake.intake_builders import referral_body

NORTH = bearer("ref-north-gp")
OPS = bearer("ops-1", role="ops")
WAIT = 5.0  # seconds; only ever waited out when the behaviour under test is broken
HEAD_START = 0.05  # for the second request to get as far as it can while the first is held
Request = Coroutine[Any, Any, httpx.Response]


class HeldLog(FakeIntakeLog):
    """Each write waits while the gate is closed, like a Kafka acknowledgement that is late."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()
        self.waiting = 0  # writes held at the gate now

    async def write(self, records: Sequence[OutRecord]) -> None:
        self.waiting += 1
        try:
            await asyncio.wait_for(self.gate.wait(), WAIT * 2)
        finally:
            self.waiting -= 1
        await super().write(records)


@dataclass
class Worker:
    client: httpx.AsyncClient
    log: HeldLog
    intake: Intake


@pytest.fixture
async def worker() -> AsyncIterator[Worker]:
    log = HeldLog()
    app = create_app(IntakeSettings(rate_limit_burst=10_000, send_timeout_seconds=0.3),
                     log=log, clock=lambda: NOW)
    intake: Intake = app.state.intake
    await log.start(intake.on_registry_record)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        yield Worker(client, log, intake)
    assert len(intake.locks) == 0  # every lock dropped once its requests are answered


async def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.005)


async def racing(w: Worker, first: Request, second: Request) -> tuple[httpx.Response, ...]:
    """`first` held inside its write while `second` runs, then both let go."""
    w.log.gate.clear()
    one = asyncio.create_task(first)
    await until(lambda: w.log.waiting == 1)
    two = asyncio.create_task(second)
    await asyncio.sleep(HEAD_START)
    w.log.gate.set()
    return tuple(await asyncio.wait_for(asyncio.gather(one, two), WAIT))


async def open_case(w: Worker) -> str:
    response = await w.client.post("/referrals", json=referral_body(), headers=NORTH)
    assert response.status_code == 202
    case_id: str = response.json()["case_id"]
    return case_id


async def test_two_concurrent_updates_become_revisions_2_and_3(worker: Worker) -> None:
    case_id = await open_case(worker)
    put = worker.client.put
    a, b = await racing(
        worker,
        put(f"/referrals/{case_id}", json=referral_body(age=60), headers=NORTH),
        put(f"/referrals/{case_id}", json=referral_body(age=70), headers=NORTH),
    )
    assert (a.status_code, b.status_code) == (202, 202)
    assert (a.json()["revision"], b.json()["revision"]) == (2, 3)
    received = [e for e in worker.log.events() if isinstance(e, ReferralReceived)]
    assert [(e.revision, e.referral.age) for e in received] == [(1, 52), (2, 60), (3, 70)]
    assert worker.intake.registry.cases[case_id].revision == 3


async def test_one_key_with_two_bodies_concurrently_opens_one_case(worker: Worker) -> None:
    keyed = NORTH | {"Idempotency-Key": "k-1"}
    post = worker.client.post
    a, b = await racing(
        worker,
        post("/referrals", json=referral_body(referral_id="R-A"), headers=keyed),
        post("/referrals", json=referral_body(referral_id="R-B"), headers=keyed),
    )
    assert a.status_code == 202
    assert b.status_code == 409 and b.headers["content-type"] == "application/problem+json"
    assert b.json()["type"].endswith("/idempotency-key-reused")
    assert len(worker.log.events()) == 1 and len(worker.intake.registry.cases) == 1


async def test_an_update_racing_a_cancellation_finds_the_case_closed(worker: Worker) -> None:
    case_id = await open_case(worker)
    cancel, put = await racing(
        worker,
        worker.client.delete(f"/referrals/{case_id}", headers=NORTH),
        worker.client.put(f"/referrals/{case_id}", json=referral_body(age=60), headers=NORTH),
    )
    assert cancel.status_code == 202
    assert put.status_code == 409 and put.json()["type"].endswith("/case-closed")
    assert [type(e) for e in worker.log.events()] == [ReferralReceived, ReferralCancelled]
    assert worker.intake.registry.cases[case_id].status == "cancelled"


async def test_an_update_racing_an_erasure_writes_no_patient_data_after_it(
    worker: Worker,
) -> None:
    case_id = await open_case(worker)
    erase, put = await racing(
        worker,
        worker.client.delete(f"/referrals/{case_id}/patient-data", headers=OPS),
        worker.client.put(f"/referrals/{case_id}", json=referral_body(age=60), headers=NORTH),
    )
    assert erase.status_code == 202 and put.status_code == 410
    assert [type(e) for e in worker.log.events()] == [ReferralReceived, CaseErased]
    assert case_id not in worker.intake.registry.cases


async def test_a_request_behind_an_unacknowledged_write_waits_no_longer_than_a_write(
    worker: Worker,
) -> None:
    case_id = await open_case(worker)
    worker.log.gate.clear()  # the first update's write is never acknowledged while we look
    first = asyncio.create_task(worker.client.put(
        f"/referrals/{case_id}", json=referral_body(age=60), headers=NORTH))
    await until(lambda: worker.log.waiting == 1)
    started = time.monotonic()
    second = await asyncio.wait_for(worker.client.put(
        f"/referrals/{case_id}", json=referral_body(age=70), headers=NORTH), WAIT)
    assert second.status_code == 503 and second.json()["type"].endswith("/broker-unavailable")
    assert time.monotonic() - started < WAIT / 2 and worker.log.waiting == 1  # never wrote
    worker.log.gate.set()
    assert (await asyncio.wait_for(first, WAIT)).status_code == 202


async def test_requests_for_different_cases_do_not_wait_for_each_other(worker: Worker) -> None:
    case_id = await open_case(worker)
    worker.log.gate.clear()
    requests = [
        asyncio.create_task(worker.client.put(
            f"/referrals/{case_id}", json=referral_body(age=60), headers=NORTH)),
        asyncio.create_task(worker.client.post(
            "/referrals", json=referral_body(referral_id="R-OTHER"), headers=NORTH)),
    ]
    await until(lambda: worker.log.waiting == 2)  # both inside their writes at once
    worker.log.gate.set()
    assert [r.status_code for r in await asyncio.wait_for(asyncio.gather(*requests), WAIT)] == [
        202, 202]
