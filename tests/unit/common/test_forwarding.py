"""Per-case requests relayed to the owning worker, lists gathered from every worker: a peer
that fails in any way is a 503 with Retry-After, never a 500 (services/common/forwarding.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI

from services.common.forwarding import FORWARDED, ForwardToOwner

PEER = "http://peer.test"


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
        me=lambda: "http://me.test", lists={"/me/offers": "expires_at"}, peers=lambda: [PEER])
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
