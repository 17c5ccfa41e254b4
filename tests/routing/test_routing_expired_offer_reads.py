"""An offer past its expiry, before the case's tick has closed it: the specialist's reads and
commands answer as they will once the tick has run (the service's clock decides, not the tick).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from services.common.auth import mint_token
from services.routing.api import create_api
from services.routing.domain.policy import RoutingPolicy
from tests.routing.fakes import Clock, InProcessGateway, RecordingPublisher, Worker, make_processor
from tests.unit.routing.builders import NOW, accept, complete, specialist, tick, triaged

pytestmark = pytest.mark.asyncio
WINDOW = RoutingPolicy().offer_timeout("soon")  # triaged() is "soon": 4 h
EXPIRY = NOW + WINDOW


def me(subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(subject=subject, role='specialist')}"}


Routing = tuple[httpx.AsyncClient, Worker, RecordingPublisher, Clock]


@pytest.fixture
async def routing() -> AsyncIterator[Routing]:
    clock = Clock(NOW)
    worker, pub, _ = make_processor(clock)
    worker.directory.put(specialist("a"))  # the only surgeon: both cases are offered to a
    api = httpx.ASGITransport(app=create_api(InProcessGateway(worker)))
    async with httpx.AsyncClient(transport=api, base_url="http://routing") as client:
        yield client, worker, pub, clock


async def test_an_offer_is_listed_until_its_expiry_and_not_from_then(routing: Routing) -> None:
    client, worker, _, clock = routing
    await worker.on_case_input(triaged())
    clock.now = EXPIRY - timedelta(seconds=1)
    assert [o["case_id"] for o in (await client.get("/me/offers", headers=me("a"))).json()] == [
        "case-1"]
    # At its expiry the offer can no longer be accepted (the domain's rule: expires_at <= now):
    # listed, the app would show a button that can only fail. No tick has run yet.
    clock.now = EXPIRY
    assert worker.case_state("case-1").steps["spine_surgery"].offer is not None  # type: ignore[union-attr]
    assert (await client.get("/me/offers", headers=me("a"))).json() == []


async def test_an_expired_offer_opens_neither_case_view_nor_reports(routing: Routing) -> None:
    client, worker, _, clock = routing
    worker.directory.put(specialist("r1", role="neuroradiologist"))
    await worker.on_case_input(triaged(teams=("spine_radiology", "spine_surgery")))
    await worker.on_case_input(accept("case-1", "spine_radiology", "r1"))
    await worker.on_case_input(complete("case-1", "spine_radiology", "r1"))
    holder = worker.case_state("case-1").steps["spine_surgery"].offer  # type: ignore[union-attr]
    assert holder is not None
    paths = ["/cases/case-1/review", "/cases/case-1/reports",
             "/cases/case-1/reports/spine_radiology"]
    expiry = holder.expires_at
    clock.now = expiry - timedelta(seconds=1)
    assert [(await client.get(p, headers=me(holder.specialist_id))).status_code
            for p in paths] == [200] * 3
    clock.now = expiry  # as after the tick: the offer is closed, the case is not theirs
    assert [(await client.get(p, headers=me(holder.specialist_id))).status_code
            for p in paths] == [404] * 3


async def test_an_accept_after_expiry_is_refused_the_same_before_and_after_the_tick(
    routing: Routing,
) -> None:
    client, worker, pub, clock = routing
    await worker.on_case_input(triaged("case-1"))
    await worker.on_case_input(triaged("case-2"))
    clock.now = EXPIRY + timedelta(minutes=1)
    # case-2's tick is applied first; case-1's has not run when a's accept arrives.
    await worker.on_case_input(tick("case-2", clock.now))
    answers = [await client.post(f"/offers/{case}/spine_surgery/accept", headers=me("a"))
               for case in ("case-1", "case-2")]
    assert [r.status_code for r in answers] == [409, 409]
    bodies = [r.json() for r in answers]
    assert {r.headers["content-type"] for r in answers} == {"application/problem+json"}
    assert [b["type"].rsplit("/", 1)[-1] for b in bodies] == ["offer-expired"] * 2
    assert bodies[0]["detail"] == bodies[1]["detail"] == "your offer expired before this answer"
    # The accept itself closed case-1's offer (the domain, at the command's stamp) and moved on
    # (nobody else is left: escalated, as the tick would have).
    assert [(type(e).__name__, e.case_id) for e in pub.events[-2:]] == [
        ("OfferExpired", "case-1"), ("CaseEscalated", "case-1")]
    decline = await client.post("/offers/case-1/spine_surgery/decline", json={"reason": "x"},
                                headers=me("a"))
    assert decline.status_code == 409 and decline.json()["type"].endswith("/offer-expired")
