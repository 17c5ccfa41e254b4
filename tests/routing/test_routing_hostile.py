"""F1, F2 and F9 on routing: strangers leave no state and learn nothing; every growing part
of a case's row is capped and the row always fits a Kafka message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import ValidationError

from services.common.auth import mint_token
from services.routing.api import create_api
from services.routing.domain.state import (
    MAX_RECORD_ENTRIES,
    MAX_STATE_BYTES,
    CandidateOutcome,
    RecordEntry,
    bounded,
    serialized_size,
)
from services.routing.processor import RoutingProcessor
from tests.routing.fakes import Clock, InProcessGateway, make_processor
from tests.unit.routing.builders import NOW, accept, complete, decline, specialist, triaged


def seed(processor: RoutingProcessor, *specs) -> None:  # type: ignore[no-untyped-def]
    for spec in specs:
        processor.on_directory_record(spec.specialist_id.encode(), spec.model_dump_json().encode())


def auth(subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(subject=subject, role='specialist')}"}


async def test_refused_commands_from_a_stranger_leave_no_state() -> None:
    # F1: each refused accept/decline/complete from anyone appended to the case's record.
    processor, published, tables = make_processor(Clock(NOW))
    seed(processor, specialist("a"))
    await processor.on_case_input(triaged())
    row, sent = dict(tables.cases), len(published.events)
    for command in (accept, decline, complete):
        for step in ("spine_surgery", "x" * 64):
            result = await processor.on_case_input(command("case-1", step, "stranger"))
            assert result.outcome is not None and result.outcome.status == "not_found"
    assert tables.cases == row and len(published.events) == sent


def test_huge_step_ids_are_refused_at_the_contract() -> None:
    # F1's 60,000-character step id, and F9's 500 when the API built the command.
    with pytest.raises(ValidationError):
        accept("case-1", "x" * 60_000, "a")


async def test_a_holder_cannot_grow_the_record_without_bound() -> None:
    processor, _, tables = make_processor(Clock(NOW))
    seed(processor, specialist("a"), specialist("b"))
    await processor.on_case_input(triaged())
    await processor.on_case_input(decline("case-1", "spine_surgery", "a"))  # a held, now b does
    for _ in range(MAX_RECORD_ENTRIES + 50):
        result = await processor.on_case_input(accept("case-1", "spine_surgery", "a"))
        assert result.outcome is not None and result.outcome.status == "conflict"
    state = processor.case_state("case-1")
    assert state is not None and len(state.record) <= MAX_RECORD_ENTRIES
    assert [e.kind for e in state.record][:3] == ["triaged", "released", "offered"]
    assert len(tables.cases[b"case-1"]) <= MAX_STATE_BYTES
    assert state.steps["spine_surgery"].offer.specialist_id == "b"  # type: ignore[union-attr]


async def test_no_row_ever_exceeds_the_message_size() -> None:
    processor, _, _ = make_processor(Clock(NOW))
    seed(processor, specialist("a"))
    await processor.on_case_input(triaged())
    state = processor.case_state("case-1")
    assert state is not None
    crowd = [CandidateOutcome(specialist_id=f"s-{i:05d}", excluded=["capacity", "licence"])
             for i in range(2000)]
    state.record += [RecordEntry(at=NOW, kind="offered", candidates=list(crowd))
                     for _ in range(MAX_RECORD_ENTRIES)]
    assert serialized_size(state) > MAX_STATE_BYTES
    assert bounded(state)
    assert serialized_size(state) <= MAX_STATE_BYTES
    assert state.record[-1].candidates and not state.record[0].candidates  # latest kept


@pytest.fixture
async def routing() -> AsyncIterator[tuple[httpx.AsyncClient, RoutingProcessor]]:
    processor, _, _ = make_processor(Clock(datetime.now(UTC)))
    seed(processor, specialist("a"))
    await processor.on_case_input(triaged())
    transport = httpx.ASGITransport(app=create_api(InProcessGateway(processor)))
    async with httpx.AsyncClient(transport=transport, base_url="http://routing") as client:
        yield client, processor


async def test_strangers_get_the_same_404_whether_the_case_exists_or_not(routing) -> None:  # type: ignore[no-untyped-def]
    # F2: 404 "no routing for this case" vs 409 told anyone which cases exist.
    client, _ = routing
    existing = await client.post("/offers/case-1/spine_surgery/accept", headers=auth("z"))
    missing = await client.post("/offers/case-404/spine_surgery/accept", headers=auth("z"))
    assert existing.status_code == missing.status_code == 404
    body, other = existing.json(), missing.json()
    assert body.pop("instance") != other.pop("instance") and body == other


async def test_long_and_odd_path_ids_are_422_not_500(routing) -> None:  # type: ignore[no-untyped-def]
    client, _ = routing
    for path in ("/offers/case-1/" + "s" * 65 + "/accept", "/offers/" + "c" * 65 + "/s/accept",
                 "/assignments/case-1/%E2%9C%93/complete"):
        response = await client.post(path, headers=auth("a"), json={})
        assert response.status_code == 422, (path, response.text)


@pytest.mark.parametrize("subject", ["s" * 129, "s" * 101, "", " "])
async def test_a_token_whose_subject_cannot_be_an_id_is_401_not_500(  # type: ignore[no-untyped-def]
    routing, subject: str
) -> None:
    # A validly signed token with a 129-character sub: building AcceptOffer (specialist_id at
    # most 128) raised ValidationError, a 500. Refused where tokens are verified, every service.
    client, _ = routing
    for method, path in (("POST", "/offers/case-1/spine_surgery/accept"),
                         ("POST", "/offers/case-1/spine_surgery/decline"),
                         ("GET", "/me/offers"), ("GET", "/cases/case-1/review")):
        response = await client.request(method, path, headers=auth(subject), json={})
        assert response.status_code == 401, (path, response.text)
        assert response.json()["detail"] == "token subject must be 1 to 100 characters"
    longest = await client.post("/offers/case-1/spine_surgery/accept", headers=auth("s" * 100))
    assert longest.status_code == 404  # a stranger, as any other


async def test_odd_time_zones_are_422_not_500(routing) -> None:  # type: ignore[no-untyped-def]
    # F9: "Europe" (a directory under zoneinfo) and names over 255 characters raised OSError.
    client, _ = routing
    ops = {"Authorization": f"Bearer {mint_token(subject='ops-1', role='ops')}"}
    for zone in ("Europe", "Europe/" + "x" * 300, "../../etc/passwd", "Mars/Olympus"):
        body = specialist("a", time_zone="UTC").model_dump(mode="json") | {"time_zone": zone}
        response = await client.put("/directory/specialists/a", json=body, headers=ops)
        assert response.status_code == 422, (zone, response.text)
        assert [e["path"] for e in response.json()["errors"]] == ["time_zone"]


async def test_directory_refuses_unsafe_webhook_targets(routing) -> None:  # type: ignore[no-untyped-def]
    # F10: ops could point webhook_url at file://, gopher://, CRLF URLs or internal addresses.
    client, _ = routing
    ops = {"Authorization": f"Bearer {mint_token(subject='ops-1', role='ops')}"}
    for url in ("file:///etc/passwd", "gopher://127.0.0.1:70/_", "https://10.0.0.1/h",
                "https://169.254.169.254/latest", "https://h.example.org/a\r\nX: 1"):
        body = specialist("a").model_dump(mode="json") | {"webhook_url": url}
        response = await client.put("/directory/specialists/a", json=body, headers=ops)
        assert response.status_code == 422, (url, response.text)
        assert [e["path"] for e in response.json()["errors"]] == ["webhook_url"]
    body = specialist("a").model_dump(mode="json") | {"webhook_url": "https://h.example.org/a"}
    ok = await client.put("/directory/specialists/a", json=body, headers=ops)
    assert ok.status_code == 200
