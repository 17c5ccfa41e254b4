"""Every dashboard route through FastAPI's TestClient, including who may not call it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services.notify.dashboard.live import LiveFeed
from tests.dashboard.conftest import FakeCaseStore, FixedClock, bearer, make_api
from tests.unit.casefile import events as ev

OPS = bearer("ops", "ops-1")


@pytest.fixture(params=[False, True], ids=["scan", "keyed-lookup"])
def client(
    request: pytest.FixtureRequest, store: FakeCaseStore, live: LiveFeed, clock: FixedClock
) -> TestClient:
    return TestClient(make_api(store, live, clock, keyed_lookup=request.param))


def test_the_page_loads_without_credentials_and_only_runs_its_own_script(
    client: TestClient,
) -> None:
    page = client.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/dashboard/static/dashboard.js"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text  # no CDN


def test_static_files_are_served_from_a_fixed_list(client: TestClient) -> None:
    js = client.get("/dashboard/static/dashboard.js")
    assert js.status_code == 200 and "text/javascript" in js.headers["content-type"]
    assert "EventSource" in js.text
    assert client.get("/dashboard/static/dashboard.css").status_code == 200
    assert client.get("/dashboard/static/dashboard.html").status_code == 404
    assert client.get("/dashboard/static/..%2Fviews.py").status_code == 404


@pytest.mark.parametrize("path", ["/api/ops/summary", "/api/ops/cases/case-late/timeline"])
def test_ops_routes_need_an_ops_token(client: TestClient, path: str) -> None:
    missing = client.get(path)
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.get(path, headers={"Authorization": "Bearer forged"}).status_code == 401
    assert client.get(path, headers=bearer("referrer", "ref-1")).status_code == 403
    assert client.get(path, headers=bearer("specialist", "sp-1")).status_code == 403
    assert client.get(path, headers=OPS).status_code == 200


def test_summary_puts_the_breached_case_in_the_breached_column(client: TestClient) -> None:
    snapshot = client.get("/api/ops/summary", headers=OPS).json()
    assert [c["case_id"] for c in snapshot["columns"]["breached"]] == ["case-late"]
    assert [c["case_id"] for c in snapshot["columns"]["on_track"]] == ["case-fine"]
    assert snapshot["totals"] == {"open": 2, "completed": 1, "cancelled": 0}
    assert snapshot["columns"]["breached"][0]["seconds_to_deadline"] == -20 * 60
    assert snapshot["generated_at"] == "2025-03-03T12:20:00Z"


def test_timeline_lists_every_event_with_its_actor(client: TestClient) -> None:
    body = client.get("/api/ops/cases/case-late/timeline", headers=OPS).json()
    assert [e["event_type"] for e in body["entries"]] == [
        "ReferralReceived", "CaseTriaged", "AssignmentOffered", "AssignmentAccepted",
        "SlaBreached"]
    assert [e["actor"] for e in body["entries"]] == ["ref-1", "triage", "routing", "sp-1",
                                                      "notify"]
    assert ev.PATIENT_NAME not in str(body)
    missing = client.get("/api/ops/cases/nope/timeline", headers=OPS)
    assert missing.status_code == 404


def test_a_referrer_sees_the_status_of_their_own_case(client: TestClient) -> None:
    response = client.get("/api/referrals/case-late/status", headers=bearer("referrer", "ref-1"))
    assert response.status_code == 200
    body = response.json()
    assert (body["case_id"], body["status"], body["urgency"], body["assigned"]) == (
        "case-late", "accepted", "urgent", True)
    assert "breach" not in response.text  # no SLA internals for referrers
    # The reviewer is named once they accepted (issue 11); an offeree never is.
    assert "sp-1" in response.text
    offered = client.get("/api/referrals/case-fine/status", headers=bearer("referrer", "ref-2"))
    assert offered.status_code == 200 and "sp-2" not in offered.text
    assert [(t["team"], t["state"], t["accepted_by"]) for t in body["team_states"]] == [
        ("spine_surgery", "accepted", "sp-1")]


def test_a_referrer_cannot_tell_another_referrers_case_from_a_missing_one(
    client: TestClient,
) -> None:
    other = client.get("/api/referrals/case-fine/status", headers=bearer("referrer", "ref-1"))
    unknown = client.get("/api/referrals/no-such/status", headers=bearer("referrer", "ref-1"))
    assert other.status_code == unknown.status_code == 404
    assert other.json()["detail"] == unknown.json()["detail"]


def test_a_referral_system_reads_the_status_of_its_own_cases_only(client: TestClient) -> None:
    # An integrated EHR signs in with its API key (role `system`, subject = its referrer id):
    # it polls the cases it referred, as intake lets it read their Task.
    own = client.get("/api/referrals/case-late/status", headers=bearer("system", "ref-1"))
    assert own.status_code == 200, own.text
    assert (own.json()["case_id"], own.json()["status"]) == ("case-late", "accepted")
    other = client.get("/api/referrals/case-fine/status", headers=bearer("system", "ref-1"))
    unknown = client.get("/api/referrals/no-such/status", headers=bearer("system", "ref-1"))
    assert other.status_code == unknown.status_code == 404
    assert other.json()["detail"] == unknown.json()["detail"]
    stranger = client.get("/api/referrals/case-late/status", headers=bearer("system", "ref-2"))
    assert stranger.status_code == 404


def test_referrer_status_needs_a_referrer_token(client: TestClient) -> None:
    path = "/api/referrals/case-late/status"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=OPS).status_code == 403
    assert client.get(path, headers=bearer("specialist", "ref-1")).status_code == 403


def test_stream_tickets_are_for_ops_only(client: TestClient) -> None:
    assert client.post("/api/ops/stream-ticket").status_code == 401
    assert client.post("/api/ops/stream-ticket",
                       headers=bearer("referrer", "ref-1")).status_code == 403
    ticket = client.post("/api/ops/stream-ticket", headers=OPS).json()
    assert ticket["ticket"] and ticket["expires_at"] == "2025-03-03T12:21:00Z"


def test_the_stream_refuses_missing_forged_and_expired_tickets(
    client: TestClient, clock: FixedClock
) -> None:
    assert client.get("/api/ops/stream").status_code == 401
    forged = client.get("/api/ops/stream", params={"ticket": "b3BzLTF8OTk5OTk5OTk5OQ.abc"})
    assert forged.status_code == 401
    ticket = client.post("/api/ops/stream-ticket", headers=OPS).json()["ticket"]
    clock.now = ev.at(202)
    expired = client.get("/api/ops/stream", params={"ticket": ticket})
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]


def test_summary_is_recomputed_after_each_published_event_or_when_old(
    client: TestClient, store: FakeCaseStore, live: LiveFeed, clock: FixedClock
) -> None:
    def open_cases() -> int:
        return int(client.get("/api/ops/summary", headers=OPS).json()["totals"]["open"])

    assert open_cases() == 2
    store.apply(ev.received("quiet", 150))  # applied but not yet announced
    assert open_cases() == 2
    live.publish(ev.received("quiet", 150))
    assert open_cases() == 3
    store.apply(ev.received("quieter", 160))
    clock.now = ev.at(201)
    assert open_cases() == 4


def test_an_erased_case_is_no_longer_in_its_referrers_status(
    client: TestClient, store: FakeCaseStore,
) -> None:
    # Intake answers a read of an erased case 404 (docs/security.md); the referrer's status of
    # it here used to go on listing its teams, reviewers and report due times.
    store.apply(ev.erased("case-late", 190))
    erased = client.get("/api/referrals/case-late/status", headers=bearer("referrer", "ref-1"))
    unknown = client.get("/api/referrals/no-such/status", headers=bearer("referrer", "ref-1"))
    assert erased.status_code == unknown.status_code == 404
    assert erased.json()["detail"] == unknown.json()["detail"]
