"""HTTP: acknowledging escalations (who may, what is sent) and reading a case's SLA state."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.common.auth import Role, mint_token
from services.common.problems import install_problem_handlers
from services.notify.domain.commands import AcknowledgeEscalation
from services.notify.http_api import build_escalation_router
from tests.notify.notify_rig import AgentRig
from tests.unit.notify.notify_builders import CaseFlow


def auth(role: Role, subject: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token(subject=subject, role=role)}


@pytest.fixture
async def rig() -> AgentRig:
    rig = AgentRig()
    await rig.feed(CaseFlow().offered(rig.clock()))
    rig.clock.set_minutes(100)
    await rig.run_timer()
    return rig


@pytest.fixture
def sent() -> list[AcknowledgeEscalation]:
    return []


def escalation_client(rig: AgentRig, sent: list[AcknowledgeEscalation]) -> TestClient:
    """The escalation routes over the rig's agent; commands sent are kept in `sent`."""
    async def send_command(command: AcknowledgeEscalation) -> None:
        sent.append(command)

    api = FastAPI()
    install_problem_handlers(api)
    api.include_router(build_escalation_router(
        state_of=rig.processor.state_of, send_command=send_command, clock=rig.clock))
    return TestClient(api)


@pytest.fixture
def client(rig: AgentRig, sent: list[AcknowledgeEscalation]) -> TestClient:
    return escalation_client(rig, sent)


def test_ops_acknowledges_and_the_command_reaches_the_agent(
    client: TestClient, rig: AgentRig, sent: list[AcknowledgeEscalation]
) -> None:
    response = client.post("/escalations/case-1/ack", headers=auth("ops", "ops-7"))
    assert response.status_code == 202
    assert response.json()["acknowledged_by"] == "ops-7"
    assert [(c.case_id, c.acknowledged_by, c.role, c.step_id) for c in sent] == [
        ("case-1", "ops-7", "ops", None)
    ]


def test_the_assigned_specialist_may_acknowledge_one_step(
    client: TestClient, sent: list[AcknowledgeEscalation]
) -> None:
    response = client.post("/escalations/case-1/ack", json={"step_id": "s1"},
                           headers=auth("specialist", "spec-1"))
    assert response.status_code == 202 and sent[0].step_id == "s1"


def test_other_specialists_and_referrers_may_not(client: TestClient) -> None:
    other = client.post("/escalations/case-1/ack", headers=auth("specialist", "spec-9"))
    assert other.status_code == 404  # spec-9 holds nothing here: not told the case exists
    step = client.post("/escalations/case-1/ack", json={"step_id": "s9"},
                       headers=auth("specialist", "spec-1"))
    assert step.status_code == 403  # spec-1 holds s1, so may know the case, not that step
    assert client.post("/escalations/case-1/ack",
                       headers=auth("referrer", "ref-1")).status_code == 403
    assert client.post("/escalations/case-1/ack").status_code == 401


def test_unknown_case_is_404(client: TestClient) -> None:
    response = client.post("/escalations/nope/ack", headers=auth("ops", "ops-1"))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_sla_view_shows_the_clock_and_the_chain(client: TestClient) -> None:
    body = client.get("/sla/case-1", headers=auth("ops", "ops-1")).json()
    [clock] = body["clocks"]
    assert clock["clock"] == "acceptance" and clock["status"] == "running"
    assert clock["elapsed_fraction"] == pytest.approx(100 / 120, abs=1e-3)
    assert body["escalations"][0]["status"] == "active"
    assert body["pending_notifications"] == 2  # the offer and the first warning, undelivered


def test_a_specialist_sees_sla_state_only_where_they_hold_something(client: TestClient) -> None:
    # F2: any specialist could read any case's SLA state.
    holder = client.get("/sla/case-1", headers=auth("specialist", "spec-1"))
    stranger = client.get("/sla/case-1", headers=auth("specialist", "spec-9"))
    missing = client.get("/sla/case-404", headers=auth("specialist", "spec-9"))
    assert holder.status_code == 200 and holder.json()["case_id"] == "case-1"
    assert stranger.status_code == missing.status_code == 404
    body, other = stranger.json(), missing.json()
    assert body.pop("instance") != other.pop("instance") and body == other


def test_the_sla_view_reads_the_row_on_the_event_loop(rig: AgentRig) -> None:
    # The parsed-row cache is the agents' (event loop); a read from a worker thread raced it.
    threads: list[bool] = []

    def state_of(case_id: str):  # type: ignore[no-untyped-def]
        try:
            asyncio.get_running_loop()
            threads.append(True)
        except RuntimeError:  # no loop here: FastAPI's thread pool
            threads.append(False)
        return rig.processor.state_of(case_id)

    async def send_command(command: AcknowledgeEscalation) -> None:
        raise AssertionError("no command expected")

    api = FastAPI()
    install_problem_handlers(api)
    api.include_router(build_escalation_router(state_of=state_of, send_command=send_command,
                                               clock=rig.clock))
    answer = TestClient(api).get("/sla/case-1", headers=auth("ops", "ops-1"))
    assert answer.status_code == 200 and threads == [True]


async def test_a_specialists_ack_without_a_step_leaves_other_specialists_chains() -> None:
    # Review 19: spec-1's bare ack used to stop s2's chain too, so spec-2's breach paged nobody.
    rig, flow = AgentRig(), CaseFlow()
    await rig.feed(flow.offered(rig.clock(), specialist="spec-1", step="s1"))
    await rig.feed(flow.offered(rig.clock(), specialist="spec-2", step="s2"))
    rig.clock.set_minutes(100)
    await rig.run_timer()
    sent: list[AcknowledgeEscalation] = []
    client = escalation_client(rig, sent)
    other = client.post("/escalations/case-1/ack", json={"step_id": "s2"},
                        headers=auth("specialist", "spec-1"))
    assert other.status_code == 403
    assert other.headers["content-type"].startswith("application/problem+json")
    mine = client.post("/escalations/case-1/ack", headers=auth("specialist", "spec-1"))
    assert mine.status_code == 202
    for command in sent:
        await rig.feed(command, topic="notify.commands.v1")
    state = rig.processor.state_of("case-1")
    assert state is not None
    assert {c.step_id: (c.status, c.closed_by) for c in state.chains.values()} == {
        "s1": ("acknowledged", "spec-1"), "s2": ("active", None)}
