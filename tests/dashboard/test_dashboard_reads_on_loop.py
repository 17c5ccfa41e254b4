"""Every board route reads the agents' state (summaries, SLA clocks, the directory) on the event
loop, the agents' thread: from FastAPI's thread pool those reads raced the parsed-row caches the
agents keep (the /sla/{case} route's race, notify/http_api.py). Only arithmetic over what was
read may run elsewhere."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from schemas.directory import Specialist
from services.common.problems import install_problem_handlers
from services.notify.casefile import CaseSummary
from services.notify.dashboard.live import LiveFeed
from services.notify.dashboard.ops_watch import OpsWatch
from services.notify.dashboard.views import build_router
from tests.dashboard.conftest import FakeCaseStore, FixedClock, bearer, shift_store

OPS = bearer("ops", "ops-1")
REFERRER = bearer("referrer", "ref-1")


class Recorded:
    """Wraps the store's readers; notes, per read, whether it ran on the event loop."""

    def __init__(self, store: FakeCaseStore) -> None:
        self.store = store
        self.reads: list[tuple[str, bool]] = []

    def _note(self, what: str) -> None:
        try:
            asyncio.get_running_loop()
            self.reads.append((what, True))
        except RuntimeError:  # no loop in this thread: FastAPI's thread pool
            self.reads.append((what, False))

    def summaries(self) -> Iterable[CaseSummary]:
        self._note("summaries")
        return self.store.values()

    def deadlines(self, case_id: str) -> dict[str, datetime]:
        self._note("deadlines")
        return self.store.clock_deadlines(case_id)

    def specialists(self) -> list[Specialist]:
        self._note("directory")
        return self.store.specialists

    def summary(self, case_id: str) -> CaseSummary | None:
        self._note("summary")
        return self.store.summaries.get(case_id)

    def off_loop(self) -> list[str]:
        return sorted({what for what, on_loop in self.reads if not on_loop})


def api(reads: Recorded, live: LiveFeed, clock: FixedClock, *, keyed: bool) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(build_router(
        reads.summaries, live, clock, ping_seconds=600,
        get_summary=reads.summary if keyed else None, deadlines=reads.deadlines,
        watch=OpsWatch(specialists=reads.specialists), secure_cookies=False))
    return app


@pytest.mark.parametrize("keyed", [True, False], ids=["keyed-lookup", "pass-lookup"])
def test_every_board_route_reads_the_agents_state_on_the_event_loop(
    live: LiveFeed, clock: FixedClock, keyed: bool,
) -> None:
    reads = Recorded(shift_store())
    client = TestClient(api(reads, live, clock, keyed=keyed))
    answers = [
        client.get("/api/ops/summary", headers=OPS),
        client.get("/api/ops/summary", headers=OPS, params={"team": "oncology"}),
        client.get("/api/ops/trends", headers=OPS),
        client.get("/api/ops/cases/case-late/timeline", headers=OPS),
        client.get("/api/referrals/case-late/status", headers=REFERRER),
        client.post("/api/ops/stream-ticket", headers=OPS),
    ]
    assert [a.status_code for a in answers] == [200] * len(answers)
    assert {what for what, _ in reads.reads} >= {"summaries", "deadlines", "directory"}
    assert reads.off_loop() == []


def test_a_big_board_gives_the_agents_turns_while_it_reads(
    live: LiveFeed, clock: FixedClock,
) -> None:
    # Reading 1,000 cases' clocks on the loop in one piece would hold the agents up; the route
    # lets them run every few hundred cases.
    store = shift_store()
    template = next(iter(store.summaries.values()))
    for i in range(1000):
        store.summaries[f"bulk-{i}"] = template.model_copy(update={"case_id": f"bulk-{i}"})
    reads = Recorded(store)
    app = api(reads, live, clock, keyed=True)
    turns: list[int] = []

    async def agent() -> None:  # counts the deadline reads done before each of its turns
        while True:
            turns.append(sum(1 for what, _ in reads.reads if what == "deadlines"))
            await asyncio.sleep(0)

    async def scenario() -> int:
        ticking = asyncio.create_task(agent())
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                answer = await client.get("/api/ops/summary", headers=OPS)
        finally:
            ticking.cancel()
        return answer.status_code

    assert asyncio.run(scenario()) == 200
    assert reads.off_loop() == []
    read_between_turns = [b - a for a, b in itertools.pairwise(turns)]
    assert max(read_between_turns) <= 200
