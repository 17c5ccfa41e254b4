"""A route about one case (the referrer's status, the ops timeline) looks that case up by id:
this worker's own row, else the peer row from the summaries' changelog, each parsed at most once
per change. It used to walk the whole board, parsing every local row not in the 256-row cache on
every request: a referrer polling its case (allowed at 20/s) cost 417 ms with 4,000 cases."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.common.auth import Role, mint_token
from services.common.follow import Record
from services.common.problems import install_problem_handlers
from services.notify.casefile import CaseSummary
from services.notify.dashboard.peers import PeerSummaries
from tests.notify.notify_rig import AgentRig
from tests.unit.notify.notify_builders import CaseFlow

LOCAL, PEERS = 600, 600  # well past the 256 rows the processor's cache holds
POLLS = 20


def auth(role: Role, subject: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token(subject=subject, role=role)}


def summary(case_id: str, referrer: str, status: str = "triaged") -> bytes:
    row = CaseSummary(case_id=case_id, referrer_id=referrer,
                      status=status)  # type: ignore[arg-type]
    return row.model_dump_json().encode()


def peer_record(case_id: str, value: bytes | None) -> Record:
    return Record(topic="notify-case_summaries-changelog", partition=1, offset=0,
                  key=case_id.encode(), value=value)


class Board:
    """A NotifyWorker's board over dict tables: its own rows (half of them closed, as in
    service) and its peers' rows, served through the worker's own dashboard router."""

    def __init__(self) -> None:
        from services.notify.app import NotifyWorker
        from services.notify.config import load_settings

        self.worker = NotifyWorker(load_settings())
        self.rig = AgentRig(commit_every_event=False, summaries={
            f"own-{i:04d}": summary(f"own-{i:04d}", f"ref-{i % 7}",
                                    "completed" if i % 2 else "triaged")
            for i in range(LOCAL)})
        self.worker.processor = self.rig.processor  # what create_app's routes read
        self.worker.peers = self.peers = PeerSummaries()
        for i in range(PEERS):
            self.peers.on_record(peer_record(f"peer-{i:04d}",
                                             summary(f"peer-{i:04d}", f"ref-{i % 7}")))
        self.passes = 0
        every_row = self.rig.processor.summary_views

        def counted() -> Iterator[CaseSummary]:
            self.passes += 1
            return every_row()

        self.rig.processor.summary_views = counted  # type: ignore[method-assign]
        self.off_loop = 0  # own rows read from a thread, racing the agents' cache bookkeeping
        own_row = self.rig.processor.summary_of

        def on_loop(case_id: str) -> CaseSummary | None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                self.off_loop += 1
            return own_row(case_id)

        self.rig.processor.summary_of = on_loop  # type: ignore[method-assign]
        api = FastAPI()
        install_problem_handlers(api)
        api.include_router(self.worker.dashboard_router())
        self.client = TestClient(api)

    @property
    def parses(self) -> int:
        return self.rig.processor.views.parses + self.peers.parses


@pytest.fixture(scope="module")
def board() -> Board:
    return Board()


@pytest.mark.parametrize("case_id", ["own-0010", "peer-0010", "own-0011"])
def test_polling_a_case_parses_its_row_once_and_never_walks_the_board(
    board: Board, case_id: str,
) -> None:
    before, passes = board.parses, board.passes
    referrer = f"ref-{int(case_id[-4:]) % 7}"
    for _ in range(POLLS):
        status = board.client.get(f"/api/referrals/{case_id}/status", headers=auth(
            "referrer", referrer))
        assert status.status_code == 200
        assert status.json()["case_id"] == case_id
    # The old walk parsed every uncached own row per request: thousands here, not one.
    assert board.parses - before <= 1
    assert board.passes == passes
    assert board.off_loop == 0


@pytest.mark.parametrize("case_id", ["own-0020", "peer-0020"])
def test_the_ops_timeline_reads_the_one_case(board: Board, case_id: str) -> None:
    before, passes = board.parses, board.passes
    for _ in range(POLLS):
        timeline = board.client.get(f"/api/ops/cases/{case_id}/timeline",
                                    headers=auth("ops", "ops-1"))
        assert timeline.status_code == 200
        assert (timeline.json()["case_id"], timeline.json()["referrer_id"]) == (
            case_id, f"ref-{int(case_id[-4:]) % 7}")
    assert board.parses - before <= 1
    assert board.passes == passes


@pytest.mark.parametrize("case_id", ["own-0030", "peer-0030", "no-such-case"])
def test_a_referrer_still_sees_only_its_own_cases(board: Board, case_id: str) -> None:
    # ref-2 owns case 30; ref-3 gets the same 404 as for a case that does not exist.
    answers = [board.client.get(f"/api/referrals/{case_id}/status",
                                headers=auth("referrer", who)) for who in ("ref-3", "ref-2")]
    assert answers[0].status_code == 404
    assert answers[0].json()["detail"] == "no such case"
    assert answers[1].status_code == (404 if case_id == "no-such-case" else 200)
    specialist = board.client.get(f"/api/referrals/{case_id}/status",
                                  headers=auth("specialist", "ref-2"))
    assert specialist.status_code == 403  # the role check comes before any lookup


def test_a_peer_row_is_parsed_again_only_when_it_changes(board: Board) -> None:
    def status() -> str:
        answer = board.client.get("/api/referrals/peer-0040/status",
                                  headers=auth("referrer", "ref-5"))
        return str(answer.json()["status"]) if answer.status_code == 200 else "404"

    assert status() == "triaged"
    before = board.peers.parses
    board.peers.on_record(peer_record("peer-0040", summary("peer-0040", "ref-5", "offered")))
    assert [status() for _ in range(5)] == ["offered"] * 5
    assert board.peers.parses - before == 1
    board.peers.on_record(peer_record("peer-0040", None))  # erased by its owner
    assert status() == "404"


def test_this_workers_own_row_wins_over_a_peer_copy_and_a_pending_change_shows() -> None:
    board = Board()
    flow = CaseFlow(case_id="own-0050", referrer_id="ref-1")
    # The changelog's copy of a case this worker holds trails its own row: never preferred.
    board.peers.on_record(peer_record("own-0050", summary("own-0050", "ref-1", "cancelled")))
    answer = board.client.get("/api/referrals/own-0050/status", headers=auth("referrer", "ref-1"))
    assert answer.json()["status"] == "triaged"

    async def fold() -> None:  # a change the agent made, not yet flushed to the table
        await board.rig.feed(flow.offered(board.rig.clock()))

    asyncio.run(fold())
    assert board.rig.processor.views.pending == 1
    answer = board.client.get("/api/referrals/own-0050/status", headers=auth("referrer", "ref-1"))
    assert answer.json()["status"] == "offered"
    assert board.passes == 0
