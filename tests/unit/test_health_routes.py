"""/health/live and /health/ready tell apart a process that is up from one that can work."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.common.http import health_router


def _client(ready: object, live: object = None) -> TestClient:
    api = FastAPI()
    api.include_router(health_router("svc", ready, is_live=live))  # type: ignore[arg-type]
    return TestClient(api)


def test_ready_names_what_is_missing_and_health_is_its_alias() -> None:
    client = _client(lambda: ["producer: broker not reachable"])
    for path in ("/health/ready", "/health"):
        response = client.get(path)
        assert response.status_code == 503
        assert response.json() == {"service": "svc", "status": "not-ready",
                                   "reasons": ["producer: broker not reachable"]}
    assert client.get("/health/live").status_code == 200  # up, just not able to work now


def test_ready_with_nothing_missing_is_200() -> None:
    client = _client(lambda: [])
    assert client.get("/health/ready").json() == {"service": "svc", "status": "ok"}
    assert client.get("/health").status_code == 200


def test_boolean_checks_still_work() -> None:
    assert _client(lambda: True).get("/health/ready").status_code == 200
    assert _client(lambda: False).get("/health/ready").status_code == 503


def test_a_wedged_process_fails_liveness() -> None:
    client = _client(lambda: [], live=lambda: ["event loop: blocked"])
    response = client.get("/health/live")
    assert response.status_code == 503 and response.json()["status"] == "wedged"


def test_a_crashed_faust_app_fails_liveness() -> None:
    from services.common.faust_app import make_app
    from services.common.worker import liveness

    app = make_app("unit-liveness")
    check = liveness(app)
    assert check() == []
    app.crash_reason = TypeError("boom")
    app._crashed.set()
    client = _client(lambda: [], live=check)
    response = client.get("/health/live")
    assert response.status_code == 503
    assert response.json()["reasons"] == ["faust app crashed: TypeError"]
