"""Routing's read routes read the agents' state on the event loop, the agents' thread: as sync
routes they ran in FastAPI's thread pool, and a parsed-row cache the agents evict on the loop
could lose its entry between the read's membership check and its move_to_end (a KeyError, so a
500 on a GET). Reads of many rows give the agents a turn every READ_CHUNK rows."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from typing import Any

import httpx

from services.common.auth import mint_token
from services.common.parse_cache import ParseCache
from services.routing.api import create_api
from services.routing.api.specialists.service import READ_CHUNK
from services.routing.domain.load import LoadBook
from services.routing.processor import RoutingProcessor
from tests.routing.fakes import Clock, InProcessGateway, make_processor
from tests.routing.test_routing_reviews_api import received
from tests.unit.routing.builders import context, specialist, triaged


def auth(role: str, subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(subject=subject, role=role)}"}  # type: ignore[arg-type]


class EvictedMidRead(ParseCache[Any, Any]):
    """A cache whose entry an agent evicts right after a reader found it there.

    The agent runs on the event loop, as faust's agents do: a reader in another thread waits
    until the eviction has run (the loop is free then), so the read continues after it, which is
    the race's unlucky interleaving, every time. A reader on the loop only schedules it: it runs
    at the loop's next turn, after the read (which has no await between check and read)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_cached: int) -> None:
        super().__init__(max_cached)
        self.loop, self.evictions = loop, 0

    def current(self, key: Hashable, raw: bytes) -> Any:
        model = super().current(key, raw)
        if model is not None:
            self._agent_turn(lambda: self._evict(key))
        return model

    def _evict(self, key: Hashable) -> None:
        self.evictions += 1
        self.drop(key)

    def _agent_turn(self, change: Callable[[], None]) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # not on the loop: the agents run while this thread reads
            done = threading.Event()
            self.loop.call_soon_threadsafe(lambda: (change(), done.set()))
            assert done.wait(10), "the event loop never ran the agent's change"
            return
        self.loop.call_soon(change)


async def _open_case(processor: RoutingProcessor) -> None:
    processor.directory.put(specialist("a"))
    processor.directory.put(specialist("b"))
    await processor.on_case_input(received())
    await processor.on_case_input(triaged(urgency="urgent", ctx=context(
        missing_records=["operative_note"], patient_pseudonym="p-77")))
    processor.casedata.flush()  # the content row in its table, so reads go through the cache


async def test_a_case_view_read_while_an_agent_evicts_the_cached_row_does_not_fail() -> None:
    processor, _, _ = make_processor(Clock(datetime.now(UTC)))
    await _open_case(processor)
    rows = processor.casedata.content_rows
    racing = EvictedMidRead(asyncio.get_running_loop(), max_cached=16)
    rows._cache = racing
    raw = processor.casedata.content_table[b"case-1"]
    model = rows.get(b"case-1", keep=False)
    transport = httpx.ASGITransport(app=create_api(InProcessGateway(processor)))
    async with httpx.AsyncClient(transport=transport, base_url="http://routing") as client:
        for path in ("/cases/case-1/review", "/cases/case-1/review", "/cases/case-1/reports",
                     "/cases/case-1/routing"):
            await asyncio.sleep(0)  # the agent's turn: an eviction scheduled by the last read
            racing.remember(b"case-1", raw, model)  # cached: the route's read finds it there
            answer = await client.get(path, headers=auth("ops", "ops-1"))
            assert answer.status_code == 200, answer.text
        await asyncio.sleep(0)  # the agent's scheduled turn
    assert racing.evictions >= 2  # the race was there to lose


class Recording(InProcessGateway):
    """Notes, per read of the agents' state, whether it ran on the event loop."""

    def __init__(self, processor: RoutingProcessor) -> None:
        super().__init__(processor)
        self.reads: list[tuple[str, bool]] = []

    def _note(self, what: str) -> None:
        try:
            asyncio.get_running_loop()
            self.reads.append((what, True))
        except RuntimeError:  # FastAPI's thread pool
            self.reads.append((what, False))

    def case_state(self, case_id: str):  # type: ignore[no-untyped-def]
        self._note("case_state")
        return super().case_state(case_id)

    @property
    def loads(self):  # type: ignore[no-untyped-def]
        self._note("loads")
        return self.processor.loads

    @property
    def directory(self):  # type: ignore[no-untyped-def]
        self._note("directory")
        return self.processor.directory

    @property
    def casedata(self):  # type: ignore[no-untyped-def]
        self._note("casedata")
        return self.processor.casedata

    def off_loop(self) -> list[str]:
        return sorted({what for what, on_loop in self.reads if not on_loop})


async def test_every_read_route_reads_the_agents_state_on_the_event_loop() -> None:
    processor, _, _ = make_processor(Clock(datetime.now(UTC)))
    await _open_case(processor)
    holder = processor.case_state("case-1").steps["spine_surgery"].offer.specialist_id
    gateway = Recording(processor)
    transport = httpx.ASGITransport(app=create_api(gateway))
    me, ops = auth("specialist", holder), auth("ops", "ops-1")
    async with httpx.AsyncClient(transport=transport, base_url="http://routing") as client:
        answers = [await client.get(path, headers=who) for path, who in [
            ("/me/offers", me), ("/me/assignments", me), ("/cases/case-1/review", me),
            ("/cases/case-1/reports", me), ("/cases/case-1/routing", ops),
            ("/directory/specialists", ops), ("/directory/specialists/a", ops)]]
        answers.append(await client.get("/cases/case-1/reports/spine_surgery", headers=ops))
    assert [a.status_code for a in answers[:-1]] == [200] * (len(answers) - 1)
    assert answers[-1].status_code == 404  # no report yet: read, and answered
    assert len(answers[0].json()) == 1
    assert {w for w, _ in gateway.reads} >= {"case_state", "loads", "directory", "casedata"}
    assert gateway.off_loop() == []


class ManySlots(InProcessGateway):
    """A specialist holding many offers, whose case rows are counted as they are read."""

    def __init__(self, processor: RoutingProcessor, slots: int) -> None:
        super().__init__(processor)
        self.slots = [f"case-{i}/spine_surgery" for i in range(slots)]
        self.read = 0

    @property
    def loads(self) -> LoadBook:
        book = LoadBook()
        book.holding = lambda specialist_id: (self.slots, self.slots)  # type: ignore[method-assign]
        return book

    def case_state(self, case_id: str) -> None:
        self.read += 1
        return None


async def test_a_long_list_of_offers_gives_the_agents_turns_while_it_reads() -> None:
    processor, _, _ = make_processor(Clock(datetime.now(UTC)))
    gateway = ManySlots(processor, slots=5 * READ_CHUNK + 7)
    transport = httpx.ASGITransport(app=create_api(gateway))
    turns: list[int] = []

    async def agent() -> None:  # the rows read before each of its turns
        while True:
            turns.append(gateway.read)
            await asyncio.sleep(0)

    async with httpx.AsyncClient(transport=transport, base_url="http://routing") as client:
        for path in ("/me/offers", "/me/assignments"):
            gateway.read, turns[:] = 0, []
            ticking = asyncio.create_task(agent())
            try:
                answer = await client.get(path, headers=auth("specialist", "a"))
            finally:
                ticking.cancel()
            assert answer.status_code == 200 and answer.json() == []
            assert gateway.read == 5 * READ_CHUNK + 7
            longest = max(b - a for a, b in itertools.pairwise([0, *turns, gateway.read]))
            assert longest <= READ_CHUNK, path
