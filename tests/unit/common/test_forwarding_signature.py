"""Only a peer can mark a request as relayed: `x-spine-forwarded-by` counts with a fresh HMAC
signature under the workers' shared secret (services/common/peer_signature.py). A client that
sets the header itself was answered by whichever worker it hit, with that worker's stale or
missing copy of the case, and skipped the gathering of lists from every worker; it is now
relayed and gathered as any client, and nothing downstream sees the headers it set."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI, Request

from services.common.forwarding import ForwardToOwner
from services.common.peer_signature import (
    FORWARDED,
    FORWARDED_AT,
    FORWARDED_SIG,
    MAX_SKEW_SECONDS,
    MAX_TRAIL,
    RELAY_HEADERS,
    RELAY_TRAIL,
    relay_headers,
    signature_rejection,
)

ME, PEER = "http://me.test", "http://peer.test"
SECRET = "test-only-peer-secret-for-the-signature-tests"
NOW = 1_800_000_000.0
CASE_PATH = r"/cases/(?P<case_id>[^/]+)/view"


def _app() -> FastAPI:
    app = FastAPI()

    @app.api_route("/cases/{case_id}/view", methods=["GET", "POST"])
    def view(case_id: str, request: Request) -> dict[str, object]:
        return {"case_id": case_id, "answered_by": "me",
                "relay_headers": sorted(h for h in request.headers if h in RELAY_HEADERS)}

    @app.get("/me/offers")
    def offers() -> list[dict[str, str]]:
        return [{"case_id": "mine", "expires_at": "2026-11-27T10:00:00Z"}]

    return app


class Peer:
    """The other worker, as a mock transport: records what reached it and answers as owner."""

    def __init__(self) -> None:
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if request.url.path == "/me/offers":
            return httpx.Response(200, json=[{"case_id": "theirs-2",
                                              "expires_at": "2026-11-27T09:00:00Z"}])
        return httpx.Response(200, json={"answered_by": "peer"})


def _middleware(app: object, peer: Callable[[httpx.Request], httpx.Response] | None = None,
                *, secret: str = SECRET, owner_of: Callable[[str], str | None] | None = None,
                me: str = ME, other: str = PEER) -> ForwardToOwner:
    middleware = ForwardToOwner(
        app, paths=[CASE_PATH], me=lambda: me, peer_secret=secret, clock=lambda: NOW,
        owner_of=owner_of or (lambda case_id: PEER if case_id.startswith("theirs") else None),
        lists={"/me/offers": "expires_at"}, peers=lambda: [other])
    if peer is not None:
        middleware._client = httpx.AsyncClient(transport=httpx.MockTransport(peer))
    return middleware


def _client(middleware: ForwardToOwner) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=middleware), base_url=ME)


def _signed(method: str, target: str, *, secret: str = SECRET, at: float = NOW,
            by: str = PEER) -> dict[str, str]:
    return dict(relay_headers(secret.encode(), method=method, target=target.encode(),
                              forwarded_by=by, now=at))


def _is_our_relay(request: httpx.Request) -> bool:
    """Marked by this worker alone, with a signature the peer accepts at NOW."""
    scope = {"method": request.method, "path": request.url.path,
             "raw_path": request.url.raw_path.partition(b"?")[0],
             "query_string": request.url.query, "headers": request.headers.raw}
    return (request.headers.get_list(FORWARDED) == [ME]
            and signature_rejection(SECRET.encode(), scope, NOW) is None)


async def test_a_client_set_relay_header_is_relayed_to_the_owner_anyway() -> None:
    peer = Peer()
    async with _client(_middleware(_app(), peer)) as client:
        answer = await client.post("/cases/theirs-1/view?x=1", json={"text": "x"},
                                   headers={FORWARDED: "http://elsewhere.test"})
    assert answer.json() == {"answered_by": "peer"}  # was answered by this worker
    assert len(peer.seen) == 1 and _is_our_relay(peer.seen[0])


FORGERIES = {
    "unsigned": {FORWARDED: PEER},
    "another secret": _signed("GET", "/cases/theirs-1/view", secret="x" * 48),
    "stale": _signed("GET", "/cases/theirs-1/view", at=NOW - MAX_SKEW_SECONDS - 1),
    "from the future": _signed("GET", "/cases/theirs-1/view", at=NOW + MAX_SKEW_SECONDS + 1),
    "another case's": _signed("GET", "/cases/theirs-9/view"),
    "another method's": _signed("POST", "/cases/theirs-1/view"),
    "another sender's": {**_signed("GET", "/cases/theirs-1/view"), FORWARDED: ME},
    "malformed time": {**_signed("GET", "/cases/theirs-1/view"), FORWARDED_AT: "soon"},
    "signature only": {FORWARDED_SIG: "0" * 64, FORWARDED_AT: str(int(NOW))},
}


@pytest.mark.parametrize("headers", FORGERIES.values(), ids=FORGERIES.keys())
async def test_a_forged_or_stale_signature_is_ignored(headers: dict[str, str]) -> None:
    peer = Peer()
    async with _client(_middleware(_app(), peer)) as client:
        relayed = await client.get("/cases/theirs-1/view", headers=headers)
        local = await client.get("/cases/mine/view", headers=headers)
    assert relayed.json() == {"answered_by": "peer"}
    assert len(peer.seen) == 1 and _is_our_relay(peer.seen[0])
    # A case of this worker's is answered here, and its handler never sees the client's marks.
    assert local.json()["relay_headers"] == []


async def test_a_valid_peer_relay_is_answered_here_and_not_relayed_again() -> None:
    # This worker's view of the assignment says the peer owns the case (a rebalance in
    # between): the peer's signed relay is still answered here, never sent back.
    peer = Peer()
    async with _client(_middleware(_app(), peer)) as client:
        for at in (NOW, NOW - MAX_SKEW_SECONDS, NOW + MAX_SKEW_SECONDS):
            answer = await client.get("/cases/theirs-1/view?page=2",
                                      headers=_signed("GET", "/cases/theirs-1/view?page=2",
                                                      at=at))
            assert answer.json()["answered_by"] == "me", at
    assert peer.seen == []


async def test_a_relay_signed_by_one_worker_is_accepted_by_another() -> None:
    # Both middlewares sign and check for real; the owner believes the relaying worker owns
    # the case, so an unaccepted mark would send it back.
    owner = _middleware(_app(), owner_of=lambda case_id: ME)
    relaying = _middleware(_app(), owner_of=lambda case_id: PEER)
    relaying._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=owner),
                                         base_url=PEER)
    async with _client(relaying) as client:
        answer = await client.get("/cases/{theirs}/view", params={"q": 'a"b'})
    assert answer.json() == {"case_id": "{theirs}", "answered_by": "me",
                             "relay_headers": sorted(RELAY_HEADERS)}


async def test_a_client_header_does_not_bypass_the_list_gathering() -> None:
    peer = Peer()
    async with _client(_middleware(_app(), peer)) as client:
        gathered = await client.get("/me/offers", headers={FORWARDED: "http://x.test"})
        assert [i["case_id"] for i in gathered.json()] == ["theirs-2", "mine"]
        assert len(peer.seen) == 1 and _is_our_relay(peer.seen[0])
        # A peer gathering asks for this worker's own items only.
        own = await client.get("/me/offers", headers=_signed("GET", "/me/offers"))
        assert [i["case_id"] for i in own.json()] == ["mine"]
    assert len(peer.seen) == 1


async def test_an_ignored_marking_is_logged_without_request_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="spine.forwarding"):
        async with _client(_middleware(_app(), Peer())) as client:
            await client.get("/cases/theirs-123/view",
                             headers=_signed("GET", "/cases/theirs-123/view", secret="y" * 40))
    [record] = [r for r in caplog.records if r.name == "spine.forwarding"]
    assert (record.reason, record.route) == ("bad-signature", CASE_PATH)  # type: ignore[attr-defined]
    assert "theirs-123" not in str(record.__dict__) and PEER not in str(record.__dict__)


def test_forwarding_refuses_an_empty_secret() -> None:
    with pytest.raises(ValueError, match="SPINE_PEER_SECRET"):
        _middleware(_app(), secret="")


def _pair(secret_a: str, secret_b: str) -> tuple[ForwardToOwner, ForwardToOwner, list[str]]:
    """Two workers, each believing the other owns every case (a rebalance in between), joined
    by in-process transports that note each relay's sender."""
    a = _middleware(_app(), secret=secret_a, owner_of=lambda case_id: PEER)
    b = _middleware(_app(), secret=secret_b, owner_of=lambda case_id: ME, me=PEER, other=ME)
    hops: list[str] = []

    def transport(app: ForwardToOwner, sender: str) -> httpx.AsyncBaseTransport:
        inner = httpx.ASGITransport(app=app)

        class Noting(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                hops.append(sender)
                return await inner.handle_async_request(request)
        return Noting()

    a._client = httpx.AsyncClient(transport=transport(b, "a"))
    b._client = httpx.AsyncClient(transport=transport(a, "b"))
    return a, b, hops


@pytest.mark.parametrize("path", ["/cases/case-1/view", "/me/offers"])
async def test_workers_with_different_secrets_do_not_relay_a_request_back_and_forth(
    path: str,
) -> None:
    # A worker rejecting a peer's signature (a secret set differently, or being changed in a
    # rolling restart) relays the request as a client's: back to the sender when they disagree
    # on the owner, and always for a list, which every worker gathers from the others. The
    # sender recognises its own relay coming back and answers it as a peer relay.
    a, _b, hops = _pair(SECRET, "another-" + SECRET)
    async with _client(a) as client:
        answer = await client.get(path)
    assert answer.status_code == 200, answer.text
    assert hops == ["a", "b"]


async def test_a_client_s_relay_trail_proves_nothing_and_is_passed_on_capped() -> None:
    # The trail tells a worker only that its own relay came back; a client's values are no
    # nonce of any relay in flight, and cannot push the workers' own out of the header.
    peer = Peer()
    padding = ",".join(f"n{i}" for i in range(100))
    async with _client(_middleware(_app(), peer)) as client:
        answer = await client.get("/cases/theirs-1/view", headers={
            **_signed("GET", "/cases/theirs-1/view", secret="z" * 40), RELAY_TRAIL: padding})
    assert answer.json() == {"answered_by": "peer"}
    [relayed] = peer.seen
    passed_on = relayed.headers[RELAY_TRAIL].split(",")
    assert len(passed_on) == MAX_TRAIL and passed_on[:-1] == padding.split(",")[-MAX_TRAIL + 1:]
    assert passed_on[-1] not in padding.split(",")  # this worker's own nonce, last
