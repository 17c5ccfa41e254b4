"""Limits and unavailability: 429 + Retry-After per client, 413 over the body limit, 503 +
Retry-After (and nothing acknowledged) when Kafka does not take the write."""

from __future__ import annotations

import socket

from fastapi.testclient import TestClient

from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from tests.intake.intake_fakes import FakeIntakeLog, bearer, running_intake
from tests.unit.intake.intake_builders import referral_body

NORTH = bearer("ref-north-gp")


def test_rate_limit_is_per_client_and_says_when_to_retry() -> None:
    with running_intake(rate_limit_burst=2, rate_limit_per_second=0.1) as (client, _):
        statuses = [client.get("/referrals/x", headers=NORTH).status_code for _ in range(3)]
        limited = client.get("/referrals/x", headers=NORTH)
        other = client.get("/referrals/x", headers=bearer("ref-city-hospital"))
        health = client.get("/health")
    assert statuses == [404, 404, 429]
    assert limited.status_code == 429 and limited.json()["type"].endswith("/rate-limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 10
    assert other.status_code == 404 and health.status_code == 200


def test_declared_body_over_the_limit_is_413() -> None:
    with running_intake(max_body_bytes=1024) as (client, log):
        response = client.post("/referrals", content=b"{" + b" " * 2048 + b"}",
                               headers=NORTH | {"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert log.records == []


def test_streamed_body_over_the_limit_is_413() -> None:
    def chunks():  # no Content-Length: the limit is counted as the body streams in
        yield b'{"referral_id": "'
        yield b"x" * 4096
        yield b'"}'

    with running_intake(max_body_bytes=1024) as (client, _):
        response = client.post("/fhir/Bundle", content=chunks(),
                               headers=NORTH | {"Content-Type": "application/fhir+json"})
    assert response.status_code == 413


def test_write_not_acknowledged_is_503_with_retry_after_and_nothing_stored() -> None:
    log = FakeIntakeLog()
    log.fail_writes = True
    with running_intake(log, retry_after_seconds=7) as (client, _):
        response = client.post("/referrals", json=referral_body(), headers=NORTH)
        log.fail_writes = False
        retried = client.post("/referrals", json=referral_body(), headers=NORTH)
    assert response.status_code == 503 and response.headers["Retry-After"] == "7"
    assert response.json()["type"].endswith("/broker-unavailable")
    assert retried.status_code == 202  # the failed attempt left no registry entry behind


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_broker_on_a_closed_port_gives_503_and_unready_health() -> None:
    settings = IntakeSettings(
        kafka_bootstrap=f"127.0.0.1:{_closed_port()}", send_timeout_seconds=1,
        retry_after_seconds=5,
    )
    with TestClient(create_app(settings)) as client:
        response = client.post("/referrals", json=referral_body(), headers=NORTH)
        health = client.get("/health")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert health.status_code == 503 and health.json()["status"] == "not-ready"
    assert "kafka producer: not connected" in health.json()["reasons"]
