"""A worker taking a case over in a rebalance has not read its row yet: it must not say "no
such case" (404) to a valid accept or read, but "retry" (503), until its table speaks for it.

Three workers, one standby copy per partition (FAUST_STANDBY_REPLICAS=1): w1 owned case-1's
partition, w2 kept its standby copy, and the rebalance gives it to w3, which held neither and
restores the row from the changelog (memory store) while it already serves HTTP. A request
for case-1 reaches w3 directly or relayed by a worker whose assignment is already the new one
(marked as relayed and signed, w3 answers it itself, and the relay passes its answer on
unchanged); here every request comes as w2's relay.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from services.common.auth import mint_token
from services.common.peer_signature import relay_headers, request_target
from services.routing.api import create_api
from tests.routing.fakes import Clock, InProcessGateway, Tables, make_processor
from tests.unit.routing.builders import specialist, triaged

pytestmark = pytest.mark.asyncio
A = {"Authorization": f"Bearer {mint_token(subject='a', role='specialist')}"}
OPS = {"Authorization": f"Bearer {mint_token(subject='ops-1', role='ops')}"}
PEER_SECRET = "test-only-peer-secret-of-the-takeover-tests"


async def relayed_by_w2(request: httpx.Request) -> None:
    """Mark the request as w2's relay, signed as the workers sign (peer_signature)."""
    path, _, query = request.url.raw_path.partition(b"?")
    for name, value in relay_headers(PEER_SECRET.encode(), method=request.method,
                                     target=request_target(path, query),
                                     forwarded_by="http://w2.test", now=time.time()):
        request.headers[name] = value


class TakingOver(InProcessGateway):
    """w3's gateway: its table speaks for a case only once its recovery is over."""

    recovering = True
    submitted = 0

    def answers_for(self, case_id: str) -> bool:
        return not self.recovering

    async def submit(self, command):  # type: ignore[no-untyped-def]
        self.submitted += 1
        return await super().submit(command)


@pytest.fixture
async def takeover() -> AsyncIterator[tuple[httpx.AsyncClient, TakingOver, Tables, Tables]]:
    clock = Clock(datetime.now(UTC))
    w1, _, old = make_processor(clock)
    w1.directory.put(specialist("a"))
    await w1.on_case_input(triaged())  # offered to a, on w1 (and w2's standby copy)
    w3, _, new = make_processor(clock)
    w3.directory.put(specialist("a"))
    gateway = TakingOver(w3)
    api = create_api(gateway, owner_of=lambda case_id: None, me=lambda: "http://w3.test",
                     peer_secret=PEER_SECRET)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api),
                                 base_url="http://w3.test",
                                 event_hooks={"request": [relayed_by_w2]}) as client:
        yield client, gateway, old, new


async def test_a_valid_accept_during_the_takeover_is_retry_not_not_found(takeover) -> None:  # type: ignore[no-untyped-def]
    client, gateway, old, new = takeover
    answer = await client.post("/offers/case-1/spine_surgery/accept", headers=A)
    assert answer.status_code == 503, answer.text  # was 404 "no offer or assignment of yours"
    assert answer.headers["retry-after"] == "1"
    assert answer.headers["content-type"] == "application/problem+json"
    assert gateway.submitted == 0  # nothing written for a case this worker cannot see yet
    # Recovery over: the row is restored and the same accept is taken.
    new.cases.update(old.cases)
    gateway.recovering = False
    answer = await client.post("/offers/case-1/spine_surgery/accept", headers=A)
    assert answer.status_code == 200, answer.text


async def test_reads_during_the_takeover_are_retry_and_a_stranger_still_learns_nothing(
    takeover,  # type: ignore[no-untyped-def]
) -> None:
    client, gateway, old, new = takeover
    paths = [("/cases/case-1/review", A), ("/cases/case-1/reports", A),
             ("/cases/case-1/routing", OPS)]
    assert [(await client.get(p, headers=h)).status_code for p, h in paths] == [503] * 3
    new.cases.update(old.cases)
    gateway.recovering = False
    assert [(await client.get(p, headers=h)).status_code for p, h in paths] == [200] * 3
    # Once the table speaks for the case, a case routing never saw is 404 as before.
    assert (await client.get("/cases/nope/review", headers=A)).status_code == 404
    assert (await client.post("/offers/nope/spine_surgery/accept", headers=A)).status_code == 404


async def test_a_stranger_s_command_tells_no_existing_case_from_an_unknown_one(takeover) -> None:  # type: ignore[no-untyped-def]
    # review 22: with the row already restored (or a standby's copy) a stranger's accept was
    # written to Kafka and came back 404, while an unknown case was 503: existence leaked
    client, gateway, old, new = takeover
    new.cases.update(old.cases)  # the row is here, the worker still does not speak for it
    stranger = {**A, "Authorization": f"Bearer {mint_token(subject='b', role='specialist')}"}
    existing = await client.post("/offers/case-1/spine_surgery/accept", headers=stranger)
    unknown = await client.post("/offers/nope/spine_surgery/accept", headers=stranger)
    assert (existing.status_code, unknown.status_code) == (503, 503)
    assert gateway.submitted == 0  # and nothing written for a case this worker does not own


async def test_the_holder_s_command_on_a_row_the_worker_kept_is_taken_during_the_takeover(
    takeover,  # type: ignore[no-untyped-def]
) -> None:
    # second review of review 22: every command was 503 for the whole rebalance and recovery,
    # the holder's too, where its row was already here
    client, _gateway, old, new = takeover
    new.cases.update(old.cases)
    answer = await client.post("/offers/case-1/spine_surgery/accept", headers=A)
    assert answer.status_code == 200, answer.text
