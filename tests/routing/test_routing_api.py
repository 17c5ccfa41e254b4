"""The routing HTTP API over the real processor, with Kafka replaced by direct calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.common.auth import mint_token
from services.routing.api import create_api
from services.routing.processor import RoutingProcessor
from tests.routing.fakes import Clock, InProcessGateway, make_processor
from tests.unit.routing.builders import NOW, context, specialist, triaged


def auth(role: str, subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(subject=subject, role=role)}"}  # type: ignore[arg-type]


OPS = auth("ops", "ops-1")


@pytest.fixture
async def routing() -> AsyncIterator[tuple[httpx.AsyncClient, RoutingProcessor]]:
    # The API stamps commands with this clock (the gateway's, as in the service): it stands
    # still, so no offer lapses mid-test.
    processor, _, _ = make_processor(Clock(datetime.now(UTC)))
    api = create_api(InProcessGateway(processor))
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://routing") as client:
        yield client, processor


async def put(client: httpx.AsyncClient, *specs) -> None:  # type: ignore[no-untyped-def]
    for spec in specs:
        response = await client.put(f"/directory/specialists/{spec.specialist_id}",
                                    json=spec.model_dump(mode="json"), headers=OPS)
        assert response.status_code == 200, response.text


async def test_directory_needs_the_ops_role(routing) -> None:  # type: ignore[no-untyped-def]
    client, _ = routing
    assert (await client.get("/directory/specialists")).status_code == 401
    response = await client.get("/directory/specialists", headers=auth("specialist", "a"))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


async def test_directory_put_get_list_delete(routing) -> None:  # type: ignore[no-untyped-def]
    client, _ = routing
    await put(client, specialist("a", languages=["en", "de"]),
              specialist("b", role="neuroradiologist"))
    got = (await client.get("/directory/specialists/a", headers=OPS)).json()
    assert got["specialist_id"] == "a" and got["languages"] == ["en", "de"]
    page = (await client.get("/directory/specialists?team=spine_radiology", headers=OPS)).json()
    assert [s["specialist_id"] for s in page["items"]] == ["b"] and page["total"] == 1
    page = (await client.get("/directory/specialists?language=de-CH", headers=OPS)).json()
    assert [s["specialist_id"] for s in page["items"]] == ["a"]
    assert (await client.delete("/directory/specialists/a", headers=OPS)).status_code == 200
    assert (await client.get("/directory/specialists/a", headers=OPS)).status_code == 404


async def test_directory_rejects_mismatched_ids_and_unknown_time_zones(routing) -> None:  # type: ignore[no-untyped-def]
    client, _ = routing
    body = specialist("a", time_zone="Mars/Olympus").model_dump(mode="json")
    response = await client.put("/directory/specialists/b", json=body, headers=OPS)
    assert response.status_code == 422
    assert {e["path"] for e in response.json()["errors"]} == {"specialist_id", "time_zone"}


async def test_offer_accept_complete_over_http(routing) -> None:  # type: ignore[no-untyped-def]
    client, processor = routing
    await put(client, specialist("a"))
    await processor.on_case_input(triaged())
    me = auth("specialist", "a")
    offers = (await client.get("/me/offers", headers=me)).json()
    assert [(o["case_id"], o["step_id"], o["urgency"]) for o in offers] == [
        ("case-1", "spine_surgery", "soon")]
    response = await client.post("/offers/case-1/spine_surgery/accept", headers=me)
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert (await client.get("/me/offers", headers=me)).json() == []
    assignments = (await client.get("/me/assignments", headers=me)).json()
    assert [a["step_id"] for a in assignments] == ["spine_surgery"]
    response = await client.post("/assignments/case-1/spine_surgery/complete", headers=me,
                                 json={"conclusion": "agrees", "opinion": "opinion"})
    assert response.status_code == 200
    record = (await client.get("/cases/case-1/routing", headers=OPS)).json()
    assert record["status"] == "completed"
    assert record["report_refs"] == ["/cases/case-1/reports/spine_surgery"]
    assert [e["kind"] for e in record["record"]][:3] == ["triaged", "released", "offered"]


async def test_commands_are_stamped_by_the_services_clock() -> None:
    # The routes stamp a command with the clock the service was given (the processor's), not
    # the wall clock: a test's clock decides offer expiry and SLA times end to end.
    clock = Clock(NOW)
    processor, publisher, _ = make_processor(clock)
    processor.directory.put(specialist("a"))
    api = create_api(InProcessGateway(processor))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api),
                                 base_url="http://routing") as client:
        await processor.on_case_input(triaged())
        me = auth("specialist", "a")
        clock.now = NOW + timedelta(minutes=5)
        accepted = await client.post("/offers/case-1/spine_surgery/accept", headers=me)
        assert accepted.status_code == 200, accepted.text
        clock.now = NOW + timedelta(hours=3)
        done = await client.post("/assignments/case-1/spine_surgery/complete", headers=me,
                                 json={"conclusion": "agrees", "opinion": "opinion"})
        assert done.status_code == 200, done.text
    stamps = {type(e).__name__: e.occurred_at for e in publisher.events}
    assert stamps["AssignmentAccepted"] == NOW + timedelta(minutes=5)
    assert stamps["AssignmentCompleted"] == NOW + timedelta(hours=3)


async def test_decline_and_wrong_holder_are_answered_clearly(routing) -> None:  # type: ignore[no-untyped-def]
    client, processor = routing
    await put(client, specialist("a"), specialist("b"))
    await processor.on_case_input(triaged())
    response = await client.post("/offers/case-1/spine_surgery/accept",
                                 headers=auth("specialist", "b"))
    assert response.status_code == 404  # b holds nothing here: told nothing about the case
    response = await client.post("/offers/case-1/spine_surgery/decline", json={"reason": "away"},
                                 headers=auth("specialist", "a"))
    assert response.status_code == 200
    assert processor.case_state("case-1").steps["spine_surgery"].offer.specialist_id == "b"  # type: ignore[union-attr]
    response = await client.post("/offers/case-1/spine_surgery/accept",
                                 headers=auth("specialist", "a"))
    assert response.status_code == 409  # a held the offer, so may know the case
    assert response.json()["detail"] == "your offer is no longer open"
    response = await client.post("/offers/nope/spine_surgery/accept",
                                 headers=auth("specialist", "a"))
    assert response.status_code == 404


async def test_two_concurrent_accepts_over_http_one_wins(routing) -> None:  # type: ignore[no-untyped-def]
    client, processor = routing
    await put(client, specialist("a"), specialist("b"))
    await processor.on_case_input(triaged())
    responses = await asyncio.gather(*(
        client.post("/offers/case-1/spine_surgery/accept", headers=auth("specialist", sid))
        for sid in ("a", "b")))
    assert sorted(r.status_code for r in responses) == [200, 404]  # b never held an offer


async def test_the_record_shows_why_the_original_surgeons_institution_was_skipped(routing) -> None:  # type: ignore[no-untyped-def]
    client, processor = routing
    await put(client, specialist("a", institution_id="inst-st-elsewhere"), specialist("b"))
    await processor.on_case_input(
        triaged(ctx=context(excluded_institution_ids=["inst-st-elsewhere"])))
    record = (await client.get("/cases/case-1/routing", headers=OPS)).json()
    offered = next(e for e in record["record"] if e["kind"] == "offered")
    by_id = {c["specialist_id"]: c for c in offered["candidates"]}
    assert by_id["a"]["excluded"] == ["conflict_same_institution"]
    assert by_id["b"]["rank"] == 1 and offered["specialist_id"] == "b"


async def test_an_accept_after_the_holder_was_deactivated_is_403_and_moves_on(routing) -> None:  # type: ignore[no-untyped-def]
    client, processor = routing
    await put(client, specialist("a"), specialist("b"))
    await processor.on_case_input(triaged())
    await put(client, specialist("a", active=False))  # while the offer is open
    response = await client.post("/offers/case-1/spine_surgery/accept",
                                 headers=auth("specialist", "a"))
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("not-eligible") and body["case_id"] == "case-1"
    assert body["detail"] == "you can no longer take this case: your directory entry is inactive"
    step = processor.case_state("case-1").steps["spine_surgery"]  # type: ignore[union-attr]
    assert (step.assignee, step.offer.specialist_id) == (None, "b")  # type: ignore[union-attr]
    assert (await client.get("/me/offers", headers=auth("specialist", "a"))).json() == []
