"""Session cookie, filtered views, trends and forecast through the routes (FastAPI TestClient)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services.notify.dashboard.live import LiveFeed
from tests.dashboard.conftest import (
    AT_RISK_CASE,
    EMERGENCY_CASE,
    STALLED_CASE,
    FakeCaseStore,
    FixedClock,
    bearer,
    make_api,
    shift_store,
)

OPS = bearer("ops", "ops-1")


@pytest.fixture
def store() -> FakeCaseStore:
    return shift_store()


@pytest.fixture
def client(store: FakeCaseStore, live: LiveFeed, clock: FixedClock) -> TestClient:
    return TestClient(make_api(store, live, clock))


def test_a_session_cookie_stands_in_for_the_token_until_sign_out(client: TestClient) -> None:
    assert client.get("/api/ops/session").status_code == 401
    signed = client.post("/api/ops/session", headers=OPS)
    assert signed.status_code == 204
    cookie = signed.headers["set-cookie"]
    assert "spine_ops_session=" in cookie and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie and "Max-Age" not in cookie  # ends with the browser
    assert client.get("/api/ops/session").json() == {"subject": "ops-1", "role": "ops"}
    assert client.get("/api/ops/summary").status_code == 200
    assert client.post("/api/ops/stream-ticket").status_code == 200
    assert client.delete("/api/ops/session").status_code == 200
    assert client.get("/api/ops/summary").status_code == 401


def test_only_ops_tokens_become_sessions(client: TestClient) -> None:
    assert client.post("/api/ops/session").status_code == 401
    assert client.post("/api/ops/session", headers=bearer("referrer", "r")).status_code == 403
    client.cookies.set("spine_ops_session", "forged")
    assert client.get("/api/ops/summary").status_code == 401


def test_the_cookie_is_secure_outside_development(store: FakeCaseStore, live: LiveFeed,
                                                  clock: FixedClock,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi import FastAPI

    from services.notify.dashboard.session import build_session_router, secure_cookies

    monkeypatch.setenv("AUTH_JWT_SECRET", "a-production-secret-from-the-environment")
    monkeypatch.delenv("OPS_COOKIE_SECURE", raising=False)
    assert secure_cookies() is True
    monkeypatch.setenv("OPS_COOKIE_SECURE", "0")
    assert secure_cookies() is False
    monkeypatch.delenv("AUTH_JWT_SECRET")
    monkeypatch.delenv("OPS_COOKIE_SECURE")
    assert secure_cookies() is False  # the generated development secret
    api = FastAPI()
    api.include_router(build_session_router(secure=True))
    cookie = TestClient(api).post("/api/ops/session", headers=OPS).headers["set-cookie"]
    assert "Secure" in cookie


def test_filters_narrow_the_board_and_unknown_ones_are_refused(client: TestClient) -> None:
    def ids(**params: str) -> set[str]:
        body = client.get("/api/ops/summary", headers=OPS, params=params).json()
        return {c["case_id"] for cards in body["columns"].values() for c in cards}

    assert ids(urgency="routine") == {"case-fine"}
    assert ids(referrer="ref-1", sla="breached") == {"case-late"}
    assert ids(q="7c1d") == {AT_RISK_CASE}
    assert ids(sla="at_risk") == {AT_RISK_CASE}
    body = client.get("/api/ops/summary", headers=OPS, params={"team": "oncology"}).json()
    assert body["filters"] == {"team": "oncology"} and body["totals"]["open"] == 0
    assert "spine_surgery" in body["facets"]["teams"]  # facets come from every case
    bad = client.get("/api/ops/summary", headers=OPS, params={"sla": "late"})
    assert bad.status_code == 422 and "sla" in bad.text
    long = client.get("/api/ops/summary", headers=OPS, params={"q": "x" * 65})
    assert long.status_code == 422


def test_the_snapshot_carries_forecast_emergencies_and_stalls(client: TestClient) -> None:
    body = client.get("/api/ops/summary", headers=OPS).json()
    cards = {c["case_id"]: c for cards in body["columns"].values() for c in cards}
    assert cards[AT_RISK_CASE]["at_risk"] and cards[AT_RISK_CASE]["risk_reason"] == "no_capacity"
    assert cards[AT_RISK_CASE]["sla_state"] == "on_track"  # before any time-based warning
    assert cards[AT_RISK_CASE]["short_id"] == AT_RISK_CASE[:8]
    assert cards["case-fine"]["seconds_to_deadline"] == (150 + 24 * 60 - 200) * 60
    assert body["at_risk_count"] == 1
    assert [(e["case_id"], e["state"]) for e in body["emergencies"]] == [(EMERGENCY_CASE,
                                                                          "paged")]
    assert [(s["case_id"], s["stage"]) for s in body["stalled"]] == [(STALLED_CASE, "triage")]


def test_forecast_and_stalls_are_metrics_without_case_ids(store: FakeCaseStore,
                                                         clock: FixedClock) -> None:
    """The worker's timer (report=True, over the cases it owns) sets the gauges; a page view,
    which shows every worker's cases, does not, so each worker's gauges add up across workers."""
    from prometheus_client import generate_latest

    from services.notify import metrics
    from services.notify.dashboard.ops_watch import OpsWatch

    metrics.CASES_AT_RISK.clear()
    metrics.STALLED_CASES.clear()
    watch = OpsWatch(specialists=lambda: store.specialists)
    watch.assess(list(store.values()), store.clock_deadlines, clock())  # as the page does
    assert "notify_cases_at_risk{" not in generate_latest().decode()
    watch.assess(list(store.values()), store.clock_deadlines, clock(), report=True)
    text = generate_latest().decode()
    assert 'notify_cases_at_risk{reason="no_capacity",team="spine_surgery"} 1.0' in text
    assert 'notify_stalled_cases{stage="triage",urgency="unknown"} 1.0' in text
    assert AT_RISK_CASE not in text and STALLED_CASE not in text


def test_trends_need_ops_and_follow_the_filters(client: TestClient) -> None:
    assert client.get("/api/ops/trends").status_code == 401
    assert client.get("/api/ops/trends", headers=bearer("referrer", "r")).status_code == 403
    body = client.get("/api/ops/trends", headers=OPS).json()
    assert set(body) == {"generated_at", "attainment", "queues", "acceptance"}
    assert "spine_surgery" in body["queues"]["length"]
    radiology = client.get("/api/ops/trends", headers=OPS,
                           params={"team": "spine_radiology"}).json()
    assert set(radiology["queues"]["length"]) == {"spine_radiology"}


def test_the_session_cookie_passes_the_shared_request_guard(
    store: FakeCaseStore, live: LiveFeed, clock: FixedClock
) -> None:
    from services.common.guard import install_guard

    api = make_api(store, live, clock)
    install_guard(api, service="notify")  # as the notify worker assembles it
    guarded = TestClient(api)
    assert guarded.post("/api/ops/session", headers=OPS).status_code == 204
    assert guarded.get("/api/ops/summary").status_code == 200
    assert guarded.post("/api/ops/stream-ticket").status_code == 200
    assert guarded.delete("/api/ops/session").status_code == 200
    assert guarded.get("/api/ops/summary").status_code == 401
