"""Role x endpoint matrix: every endpoint with every kind of caller, denials included.

The table is data: routing's and notify's endpoints can be added as more `Endpoint` rows (with
their own app factory) and `expected_status` stays the rule: no/bad/expired credentials -> 401,
a role the endpoint is not for -> 403, someone else's case -> 404, otherwise success.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.intake.conftest import SYSTEM_KEY
from tests.intake.intake_fakes import bearer, running_intake
from tests.unit.intake.intake_builders import referral_body

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir"
CREDENTIALS: dict[str, Callable[[], dict[str, str]]] = {
    "none": dict,
    "bad_token": lambda: {"Authorization": "Bearer " + jwt.encode(
        {"sub": "ref-north-gp", "role": "referrer", "aud": "spine-router", "exp": 4102444800},
        "not-the-secret-" + "x" * 32, algorithm="HS256")},
    "expired_token": lambda: bearer("ref-north-gp", ttl_seconds=-120),
    "referrer": lambda: bearer("ref-north-gp"),  # owns the seeded case
    "other_referrer": lambda: bearer("ref-city-hospital"),
    "specialist": lambda: bearer("neuro-ana-garcia", role="specialist"),
    "ops": lambda: bearer("ops-1", role="ops"),
    "system_key": lambda: {"X-API-Key": SYSTEM_KEY},  # referral system ref-north-gp
}
UNAUTHENTICATED = {"none", "bad_token", "expired_token"}
OWNER_LIKE = {"referrer", "system_key"}


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # "{case_id}" is replaced by the seeded case
    allowed: frozenset[str]  # credential kinds whose role the endpoint serves
    owner_scoped: bool = False  # other referrers' cases are 404, not 403
    public: bool = False
    body: Callable[[], Any] | None = None


def _json_body() -> dict[str, Any]:
    return referral_body(referral_id="MATRIX-1")


SUBMITTERS = frozenset({"referrer", "other_referrer", "system_key"})
INTAKE_ENDPOINTS = (
    Endpoint("submit", "POST", "/referrals", SUBMITTERS, body=_json_body),
    Endpoint("submit_fhir", "POST", "/fhir/Bundle", SUBMITTERS, body=lambda: json.loads(
        (FIXTURES / "facet-no-imaging.collection.json").read_text())),
    Endpoint("read", "GET", "/referrals/{case_id}", SUBMITTERS | {"ops"}, owner_scoped=True),
    Endpoint("update", "PUT", "/referrals/{case_id}", SUBMITTERS, owner_scoped=True,
             body=lambda: referral_body(age=61)),
    Endpoint("cancel", "DELETE", "/referrals/{case_id}", SUBMITTERS, owner_scoped=True),
    Endpoint("cancel_post", "POST", "/referrals/{case_id}/cancel", SUBMITTERS, owner_scoped=True),
    Endpoint("erase", "DELETE", "/referrals/{case_id}/patient-data", frozenset({"ops"})),
    Endpoint("task", "GET", "/fhir/Task/{case_id}", SUBMITTERS | {"ops"}, owner_scoped=True),
    Endpoint("task_search", "GET", "/fhir/Task?status=requested", SUBMITTERS | {"ops"}),
    Endpoint("service_request", "GET", "/fhir/ServiceRequest/{case_id}", SUBMITTERS | {"ops"},
             owner_scoped=True),
    Endpoint("health", "GET", "/health", frozenset(), public=True),
    Endpoint("metrics", "GET", "/metrics", frozenset(), public=True),
)


def expected_status(endpoint: Endpoint, credential: str) -> str:
    """'2xx' or the exact denial status for this caller."""
    if endpoint.public:
        return "2xx"
    if credential in UNAUTHENTICATED:
        return "401"
    if credential not in endpoint.allowed:
        return "403"
    if endpoint.owner_scoped and credential == "other_referrer":
        return "404"
    return "2xx"


def call(client: TestClient, endpoint: Endpoint, case_id: str, headers: dict[str, str]) -> Any:
    body = endpoint.body() if endpoint.body else None
    return client.request(endpoint.method, endpoint.path.format(case_id=case_id), json=body,
                          headers=headers)


def _outcome(status: int) -> str:
    return "2xx" if 200 <= status < 300 else str(status)


@pytest.mark.parametrize("credential", list(CREDENTIALS))
@pytest.mark.parametrize("endpoint", INTAKE_ENDPOINTS, ids=lambda e: e.name)
def test_role_matrix(endpoint: Endpoint, credential: str) -> None:
    with running_intake() as (client, log):
        seeded = client.post("/referrals", json=referral_body(), headers=bearer("ref-north-gp"))
        written = len(log.records)
        response = call(client, endpoint, seeded.json()["case_id"], CREDENTIALS[credential]())
    expected = expected_status(endpoint, credential)
    assert _outcome(response.status_code) == expected, response.text
    if expected != "2xx":
        fhir = endpoint.path.startswith("/fhir")
        errors_as = "application/fhir+json" if fhir else "application/problem+json"
        assert response.headers["content-type"] == errors_as
        assert len(log.records) == written  # a denied call stores nothing
    if expected == "401":
        assert response.headers["www-authenticate"].startswith("Bearer")
