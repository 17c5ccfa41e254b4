"""The shared request guard: every input bounded before work, credentials before the body,
rate limits per verified principal (F5, F7, F9's deep JSON and huge numbers)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi import Body, FastAPI
from fastapi.testclient import TestClient

from services.common.auth import mint_token
from services.common.guard import GuardSettings, RequestGuard, install_guard
from services.common.problems import install_problem_handlers
from services.common.ratelimit import RateLimiter


def _app(**settings: Any) -> FastAPI:
    api = FastAPI()
    install_problem_handlers(api)

    @api.post("/things/{thing_id}")
    def put_thing(thing_id: str, body: dict[str, Any] = Body(...)) -> dict[str, int]:
        return {"keys": len(body)}

    @api.get("/things/{thing_id}")
    def get_thing(thing_id: str, q: str = "") -> dict[str, str]:
        return {"id": thing_id}

    install_guard(api, service="test", settings=GuardSettings(**settings))
    return api


def _token(subject: str = "spec-1", role: str = "specialist") -> str:
    return mint_token(subject=subject, role=role)  # type: ignore[arg-type]


def _auth(subject: str = "spec-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(subject)}"}


def test_unauthenticated_body_is_refused_before_a_byte_is_read() -> None:
    # F5: a 256 MiB body was read in full before the 401. Drive the middleware directly and
    # count how much of the body it pulled.
    pulled = []

    async def receive() -> dict[str, Any]:
        pulled.append(1)
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    guard = RequestGuard(_app(), service="test", settings=GuardSettings())
    scope = {"type": "http", "method": "POST", "path": "/things/a", "query_string": b"",
             "headers": [(b"content-length", str(256 * 1024 * 1024).encode())],
             "client": ("10.0.0.9", 5000)}
    asyncio.run(guard(scope, receive, send))
    assert sent[0]["status"] == 401 and pulled == []


def test_authenticated_bodies_over_the_limit_are_413_declared_or_streamed() -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"a": "'
        yield b"x" * 4096
        yield b'"}'

    with TestClient(_app(max_body_bytes=1024)) as client:
        declared = client.post("/things/a", content=b"{" + b" " * 2048 + b"}",
                               headers=_auth() | {"Content-Type": "application/json"})
        streamed = client.post("/things/a", content=chunks(),
                               headers=_auth() | {"Content-Type": "application/json"})
        small = client.post("/things/a", json={"a": 1}, headers=_auth())
    assert declared.status_code == 413 and streamed.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"
    assert small.status_code == 200 and small.json() == {"keys": 1}


def test_deep_json_and_huge_numbers_are_422_not_500() -> None:
    deep = "[" * 5000 + "]" * 5000
    with TestClient(_app()) as client:
        nested = client.post("/things/a", content=deep, headers=_auth()
                             | {"Content-Type": "application/fhir+json"})
        digits = client.post("/things/a", content='{"n": ' + "9" * 5000 + "}",
                             headers=_auth() | {"Content-Type": "application/json"})
        floats = client.post("/things/a", content='{"n": 1e999}', headers=_auth())
        nan = client.post("/things/a", content='{"n": NaN}', headers=_auth())
        fine = client.post("/things/a", content=json.dumps({"a": [[{"b": 1.5}]]}),
                           headers=_auth() | {"Content-Type": "application/json"})
    assert nested.status_code == 422 and "nesting" in nested.json()["detail"]
    assert digits.status_code == 422 and "numbers" in digits.json()["detail"]
    assert floats.status_code == 422 and nan.status_code == 422
    assert fine.status_code == 200


@pytest.mark.parametrize("content_type", [
    "APPLICATION/FHIR+JSON", "Application/Json", "application/JSON; charset=utf-8",
])
def test_media_types_are_matched_whatever_their_case(content_type: str) -> None:
    # Media types are case-insensitive (RFC 9110) and FastAPI parses these as JSON; the guard
    # matched only lower case, so deep JSON and huge numbers went through unchecked.
    headers = _auth() | {"Content-Type": content_type}
    with TestClient(_app()) as client:
        nested = client.post("/things/a", content="[" * 5000 + "]" * 5000, headers=headers)
        digits = client.post("/things/a", content='{"n": ' + "9" * 4000 + "}", headers=headers)
        fine = client.post("/things/a", content='{"a": 1}', headers=headers)
    assert nested.status_code == 422 and "nesting" in nested.json()["detail"]
    assert digits.status_code == 422 and "numbers" in digits.json()["detail"]
    assert fine.status_code == 200


def test_path_and_query_bounds_are_422() -> None:
    with TestClient(_app()) as client:
        long_id = client.get("/things/" + "a" * 65, headers=_auth())
        ok_id = client.get("/things/" + "a" * 64, headers=_auth())
        non_ascii = client.get("/things/caf%C3%A9", headers=_auth())
        crlf = client.get("/things/a%0D%0Ab", headers=_auth())
        long_query = client.get("/things/a", params={"q": "x" * 600}, headers=_auth())
        control = client.get("/things/a?q=%00", headers=_auth())
        many = client.get("/things/a?" + "&".join(f"p{i}=1" for i in range(40)), headers=_auth())
    assert ok_id.status_code == 200
    for response in (long_id, non_ascii, crlf, long_query, control, many):
        assert response.status_code == 422, response.text
        assert response.json()["type"].endswith("/validation")
    assert long_query.json()["errors"][0]["path"] == "q"


def test_rate_limit_is_per_verified_principal_whatever_the_header_spelling() -> None:
    # F7: `bearer `, `BEARER ` and extra spaces each got a fresh bucket when keyed on the text.
    token = _token("spec-1")
    spellings = [f"Bearer {token}", f"bearer {token}", f"BEARER {token}", f"Bearer   {token}",
                 f"  Bearer {token}  "]
    with TestClient(_app(rate_limit_burst=3, rate_limit_per_second=0.01)) as client:
        statuses = [client.get("/things/a", headers={"Authorization": s}).status_code
                    for s in spellings]
        limited = client.get("/things/a", headers={"Authorization": spellings[0]})
        other = client.get("/things/a", headers=_auth("spec-2"))
    assert statuses == [200, 200, 200, 429, 429]
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["type"].endswith("/rate-limited")
    assert other.status_code == 200


def test_invalid_tokens_share_their_address_bucket_and_cost_no_memory() -> None:
    limiter = RateLimiter(burst=3, per_second=0.01)
    api = _app()
    guard = RequestGuard(api, service="test", limiter=limiter)
    with TestClient(guard) as client:
        statuses = [client.get("/things/a", headers={"Authorization": f"Bearer forged{i}"})
                    .status_code for i in range(6)]
        anonymous = client.get("/things/a")
    assert statuses == [401, 401, 401, 429, 429, 429]
    assert anonymous.status_code == 429  # same address, same bucket
    assert len(limiter) == 1


def test_health_is_never_limited() -> None:
    api = _app(rate_limit_burst=1, rate_limit_per_second=0.01)

    @api.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    with TestClient(api) as client:
        statuses = [client.get("/health").status_code for _ in range(5)]
    assert statuses == [200] * 5


def test_a_browser_session_cookie_counts_as_credentials() -> None:
    api = FastAPI()
    install_problem_handlers(api)

    @api.post("/things/{thing_id}")
    def put_thing(thing_id: str, body: dict[str, Any] = Body(...)) -> dict[str, int]:
        return {"keys": len(body)}

    guard = RequestGuard(api, service="test", settings=GuardSettings(), session_cookie="sess")
    with TestClient(guard) as client:
        client.cookies.set("sess", _token("ops-1"))
        with_cookie = client.post("/things/a", json={"a": 1})
        client.cookies.set("sess", "forged")
        forged = client.post("/things/a", json={"a": 1})
    assert with_cookie.status_code == 200 and forged.status_code == 401


async def test_a_large_json_body_is_checked_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Review 18: a 1 MiB body's check (a full parse) ran on the loop, ~150 ms each. The check is
    # held here until the loop has shown it still turns; inline, the loop could not turn at all.
    import threading

    from services.common import guard as guard_module

    opened, checking = threading.Event(), threading.Event()
    on_loop: list[bool] = []
    real_check = guard_module.check_json

    def held_check(body: bytes, cfg: GuardSettings) -> None:
        on_loop.append(_loop_running())
        if len(body) > 100_000:  # the large body only
            checking.set()
            assert opened.wait(10), "the test never let the check go"
        real_check(body, cfg)

    monkeypatch.setattr(guard_module, "check_json", held_check)
    big = json.dumps({"items": ["x" * 100] * 2000}).encode()  # ~200 KB
    answers = [await _post(_app(), b'{"small": 1}')]
    task = asyncio.create_task(_post(_app(), big))
    while not checking.is_set():
        await asyncio.sleep(0.005)
    for _ in range(10):
        await asyncio.sleep(0)  # the loop goes on while the large body is checked
    assert not task.done()
    opened.set()
    answers.append(await asyncio.wait_for(task, 10))
    assert answers == [200, 200] and on_loop == [True, False]


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


async def _post(api: FastAPI, body: bytes) -> int:
    sent: list[dict[str, Any]] = []
    chunks = [body]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": chunks.pop() if chunks else b"",
                "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/things/a", "query_string": b"",
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode()),
                         (b"authorization", f"Bearer {_token()}".encode())],
             "client": ("10.0.0.9", 5000), "http_version": "1.1", "scheme": "http",
             "server": ("t", 80), "root_path": ""}
    await api(scope, receive, send)
    return int(sent[0]["status"])
