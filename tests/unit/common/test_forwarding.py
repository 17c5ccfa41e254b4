"""Per-case requests relayed to the owning worker, lists gathered from every worker: a peer
that fails in any way is a 503 with Retry-After, never a 500 -- except a command that reached
the owner and may have been applied, which must not be answered "retry" (a 504 outcome-unknown)
(services/common/forwarding.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI

from services.common.forwarding import ForwardToOwner
from services.common.peer_signature import FORWARDED
from services.common.problems import PROBLEM_TYPE_BASE

PEER = "http://peer.test"
SECRET = "test-only-peer-secret-for-the-forwarding-tests"


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/cases/{case_id}/view")
    def view(case_id: str) -> dict[str, str]:
        return {"case_id": case_id, "answered_by": "me"}

    @app.get("/me/offers")
    def offers() -> list[dict[str, str]]:
        return [{"case_id": "mine", "expires_at": "2026-11-27T10:00:00Z"}]

    return app


def _relay(peer: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    """A client in front of the middleware; the case "theirs" and the peer's items are PEER's."""
    middleware = ForwardToOwner(
        _app(), paths=[r"/cases/(?P<case_id>[^/]+)/view"],
        owner_of=lambda case_id: PEER if case_id.startswith("theirs") else None,
        me=lambda: "http://me.test", lists={"/me/offers": "expires_at"}, peers=lambda: [PEER],
        peer_secret=SECRET)
    middleware._client = httpx.AsyncClient(transport=httpx.MockTransport(peer))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=middleware), base_url="http://me.test")


def _peer_answering(payload: Any, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers[FORWARDED] == "http://me.test"  # marked: never relayed again
        if isinstance(payload, bytes):
            return httpx.Response(status, content=payload)
        return httpx.Response(status, json=payload)
    return answer


def _peer_failing(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc
    return fail


async def test_a_case_owned_elsewhere_is_answered_by_its_owner_and_a_local_one_here() -> None:
    async with _relay(_peer_answering({"case_id": "theirs-1", "answered_by": "peer"})) as c:
        assert (await c.get("/cases/theirs-1/view")).json()["answered_by"] == "peer"
        assert (await c.get("/cases/mine/view")).json()["answered_by"] == "me"


async def test_a_peer_failing_in_any_way_is_a_503_with_retry_after() -> None:
    for failure in (httpx.ConnectError("refused"), AttributeError("getpeername"),
                    OSError("reset")):
        async with _relay(_peer_failing(failure)) as client:
            for path in ("/cases/theirs-1/view", "/me/offers"):
                answer = await client.get(path)
                assert answer.status_code == 503, (failure, path)
                assert answer.headers["retry-after"] == "1"
                assert answer.headers["content-type"] == "application/problem+json"


async def test_a_list_gathers_every_workers_items_and_refuses_a_malformed_answer() -> None:
    theirs = [{"case_id": "theirs-2", "expires_at": "2026-11-27T09:00:00Z"},
              {"case_id": "mine", "expires_at": "2026-11-27T08:00:00Z"}]  # not theirs: dropped
    async with _relay(_peer_answering(theirs)) as client:
        assert [i["case_id"] for i in (await client.get("/me/offers")).json()] == [
            "theirs-2", "mine"]
    for bad in (b"not json", {"case_id": "x"}, [{"no_case": 1}], ["x"]):
        async with _relay(_peer_answering(bad)) as client:
            assert (await client.get("/me/offers")).status_code == 503, bad
    async with _relay(_peer_answering([], status=500)) as client:
        assert (await client.get("/me/offers")).status_code == 503


def _unknown(answer: httpx.Response) -> bool:
    """The relay's "outcome unknown": 504 problem+json, and no invitation to retry."""
    return (answer.status_code == 504 and "retry-after" not in answer.headers
            and answer.headers["content-type"] == "application/problem+json"
            and answer.json()["type"] == PROBLEM_TYPE_BASE + "outcome-unknown")


async def test_a_command_that_reached_the_owner_without_an_answer_is_not_told_to_retry() -> None:
    # Sent, then no answer (a read timeout, the owner gone mid-request): it may have been applied
    # and, without an Idempotency-Key, a repeat is a second command.
    for failure in (httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("closed")):
        async with _relay(_peer_failing(failure)) as client:
            assert _unknown(await client.post("/cases/theirs-1/view", json={"text": "x"}))
            keyed = await client.post("/cases/theirs-1/view", json={"text": "x"},
                                      headers={"Idempotency-Key": "k-1"})
            assert keyed.status_code == 503 and keyed.headers["retry-after"] == "1"
            for method in ("GET", "PUT", "DELETE"):  # repeatable by their meaning
                assert (await client.request(method, "/cases/theirs-1/view")).status_code == 503
    # Never reached: nothing can have been applied, so retrying is right.
    for failure in (httpx.ConnectError("refused"), httpx.ConnectTimeout("no route")):
        async with _relay(_peer_failing(failure)) as client:
            refused = await client.post("/cases/theirs-1/view", json={"text": "x"})
            assert refused.status_code == 503 and refused.headers["retry-after"] == "1"


async def test_an_owner_that_holds_a_command_past_the_relays_wait_is_outcome_unknown() -> None:
    async def silent_owner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(2)

    server = await asyncio.start_server(silent_owner, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    middleware = ForwardToOwner(_app(), paths=[r"/cases/(?P<case_id>[^/]+)/view"],
                                owner_of=lambda case_id: url, me=lambda: "http://me.test",
                                peer_secret=SECRET, timeout_seconds=0.3)
    async with server, httpx.AsyncClient(transport=httpx.ASGITransport(app=middleware),
                                         base_url="http://me.test") as client:
        assert _unknown(await client.post("/cases/case-1/view", json={"text": "x"}))
