"""Role x endpoint matrix over every HTTP endpoint of all four running services.

The endpoint list comes from each service's own OpenAPI document, so an endpoint added without
an access rule here fails the first test. Denials are exact (401 without valid credentials, 403
for a role the endpoint is not for, both as problem+json); an allowed role must get past
authentication (its answer then depends on the case: 2xx, 404, 409 or 422). Ownership rules
(another referrer's case is 404) are covered per service in tests/intake and tests/dashboard.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from services.common.auth import mint_token

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

PUBLIC = "public"
OPEN = "open"  # no credentials needed, but credentials that are sent must be valid
TICKET = "ticket"  # server-sent events: a short-lived stream ticket, never a bearer token
SUBMIT = frozenset({"referrer"})
OPS = frozenset({"ops"})
SPECIALIST = frozenset({"specialist"})

ACCESS: dict[tuple[str, str, str], Any] = {
    ("intake", "POST", "/referrals"): SUBMIT,
    ("intake", "POST", "/fhir/Bundle"): SUBMIT,
    ("intake", "GET", "/referrals/{case_id}"): SUBMIT | OPS,
    ("intake", "PUT", "/referrals/{case_id}"): SUBMIT,
    ("intake", "DELETE", "/referrals/{case_id}"): SUBMIT,
    ("intake", "POST", "/referrals/{case_id}/cancel"): SUBMIT,
    ("intake", "DELETE", "/referrals/{case_id}/patient-data"): OPS,
    ("intake", "GET", "/fhir/metadata"): OPEN,
    ("intake", "GET", "/fhir/Task"): SUBMIT | OPS,
    ("intake", "GET", "/fhir/Task/{task_id}"): SUBMIT | OPS,
    ("intake", "GET", "/fhir/ServiceRequest/{request_id}"): SUBMIT | OPS,
    ("intake", "GET", "/fhir/DiagnosticReport/{document_id}"): SUBMIT | OPS,
    ("routing", "GET", "/directory/specialists"): OPS,
    ("routing", "GET", "/directory/specialists/{specialist_id}"): OPS,
    ("routing", "PUT", "/directory/specialists/{specialist_id}"): OPS,
    ("routing", "DELETE", "/directory/specialists/{specialist_id}"): OPS,
    ("routing", "GET", "/cases/{case_id}/routing"): OPS,
    ("routing", "GET", "/me/offers"): SPECIALIST,
    ("routing", "GET", "/me/assignments"): SPECIALIST,
    ("routing", "POST", "/offers/{case_id}/{step_id}/accept"): SPECIALIST,
    ("routing", "POST", "/offers/{case_id}/{step_id}/decline"): SPECIALIST,
    ("routing", "POST", "/assignments/{case_id}/{step_id}/complete"): SPECIALIST,
    ("routing", "POST", "/assignments/{case_id}/{step_id}/addenda"): SPECIALIST,
    ("routing", "POST", "/assignments/{case_id}/{step_id}/teams"): SPECIALIST,
    ("routing", "GET", "/cases/{case_id}/review"): SPECIALIST | OPS,
    ("routing", "GET", "/cases/{case_id}/reports"): SPECIALIST | OPS | SUBMIT,
    ("routing", "GET", "/cases/{case_id}/reports/{step_id}"): SPECIALIST | OPS | SUBMIT,
    ("notify", "POST", "/escalations/{case_id}/ack"): OPS | SPECIALIST,
    ("notify", "GET", "/sla/{case_id}"): OPS | SPECIALIST,
    ("notify", "GET", "/api/ops/summary"): OPS,
    ("notify", "GET", "/api/ops/trends"): OPS,
    ("notify", "POST", "/api/ops/session"): OPS,  # bearer in, session cookie out
    ("notify", "GET", "/api/ops/session"): OPS,
    ("notify", "GET", "/api/ops/cases/{case_id}/timeline"): OPS,
    ("notify", "POST", "/api/ops/stream-ticket"): OPS,
    ("notify", "GET", "/api/ops/stream"): TICKET,
    ("notify", "DELETE", "/api/ops/session"): OPEN,  # sign-out clears even an expired cookie
    ("notify", "GET", "/api/referrals/{case_id}/status"): SUBMIT,
}
for _service in ("intake", "triage", "routing", "notify"):
    ACCESS[(_service, "GET", "/health")] = PUBLIC
    ACCESS[(_service, "GET", "/health/live")] = PUBLIC
    ACCESS[(_service, "GET", "/health/ready")] = PUBLIC
    ACCESS[(_service, "GET", "/metrics")] = PUBLIC

ROLES = ("referrer", "specialist", "ops")


def credentials() -> dict[str, dict[str, str]]:
    forged = jwt.encode({"sub": "ops-1", "role": "ops", "aud": "spine-router", "exp": 4102444800},
                        "not-the-secret-" + "x" * 32, algorithm="HS256")
    creds = {
        "none": {},
        "forged_token": {"Authorization": f"Bearer {forged}"},
        "expired_token": {"Authorization": "Bearer " + mint_token(
            subject="ops-1", role="ops", ttl_seconds=-300)},
        "wrong_scheme": {"Authorization": "Basic b3BzOm9wcw=="},
    }
    for role in ROLES:
        creds[role] = {"Authorization": "Bearer " + mint_token(subject=f"{role}-1", role=role)}
    return creds


@pytest.fixture(scope="module")
def running(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import uuid

    from scripts.localsystem import RunningSystem, service_env

    work = tmp_path_factory.mktemp("matrix")
    env = service_env(bootstrap=kafka_bootstrap, data_dir=work / "data",
                      prefix=f"m{uuid.uuid4().hex[:8]}-")
    system = RunningSystem(env, work).start()
    yield system
    system.stop()


def operations(system: Any) -> set[tuple[str, str, str]]:
    found = set()
    for name, service in system.services.items():
        spec = httpx.get(f"{service.url}/openapi.json", timeout=10).json()
        for path, ops in spec["paths"].items():
            found |= {(name, method.upper(), path) for method in ops}
    return found


def test_every_endpoint_has_an_access_rule(running: Any) -> None:
    found = operations(running)
    assert found - set(ACCESS) == set(), "endpoints without an access rule in this matrix"
    assert set(ACCESS) - found == set(), "access rules for endpoints that no longer exist"


def _url(system: Any, service: str, path: str) -> str:
    return system[service].url + re.sub(r"\{[a-z_]+\}", "matrix-x", path)


@pytest.mark.parametrize("credential", ["none", "forged_token", "expired_token", "wrong_scheme",
                                        *ROLES])
def test_role_matrix_across_services(running: Any, credential: str) -> None:
    headers = credentials()[credential]
    failures = []
    for (service, method, path), rule in sorted(ACCESS.items()):
        body = {} if method in ("POST", "PUT") else None
        r = httpx.request(method, _url(running, service, path), json=body, headers=headers,
                          timeout=15)
        if rule == PUBLIC:
            expected: set[int] | str = {200}
        elif rule == OPEN:
            expected = {200} if credential in ("none", *ROLES) else {401}
        elif rule == TICKET:
            expected = {401, 403, 422}  # no ticket: refused whatever the bearer token says
        elif credential not in ROLES:
            expected = {401}
        elif credential not in rule:
            expected = {403}
        else:
            expected = "past authentication"
        if expected == "past authentication":
            ok = r.status_code not in (401, 403) and r.status_code < 500
        else:
            ok = r.status_code in expected
            if ok and r.status_code in (401, 403):
                errors_as = ("application/fhir+json" if path.startswith("/fhir")
                             else "application/problem+json")  # OperationOutcome under /fhir
                ok = r.headers.get("content-type", "").startswith(errors_as)
        if not ok:
            failures.append(f"{credential} {method} {service}{path}: {r.status_code}")
    assert not failures, "\n".join(failures)
