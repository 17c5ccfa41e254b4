"""HTTP routes of the ops dashboard and the referrer status endpoint; the logic is in casefile."""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from services.common.auth import Principal, require_roles
from services.common.problems import ProblemError
from services.notify.casefile import (
    CaseSummary,
    DashboardSnapshot,
    ReferrerStatus,
    TimelineEntry,
    aggregate,
    referrer_status,
)
from services.notify.casefile.filters import CaseFilter, facets
from services.notify.casefile.models import ReadModel
from services.notify.casefile.snapshot import StallRow, short_id
from services.notify.casefile.trends import Trends, trends
from services.notify.dashboard.live import LiveFeed
from services.notify.dashboard.ops_watch import Assessment, ClockDeadlines, OpsWatch
from services.notify.dashboard.session import OpsCaller, build_session_router
from services.notify.dashboard.stream_slots import SlotStream, StreamsFull, StreamSlots
from services.notify.dashboard.tickets import InvalidTicket, StreamTicket, TicketSigner

STATIC_DIR = Path(__file__).parent / "static"
STATIC_FILES = {
    "dashboard.js": "text/javascript", "trends.js": "text/javascript",
    "chart.umd.min.js": "text/javascript",  # Chart.js 4.5.1 (MIT), vendored: no CDN
    "dashboard.css": "text/css",
}
TRENDS_MAX_AGE = timedelta(seconds=30)  # trends move slowly; rebuilding them costs a full scan
BOARD_CHUNK = 200  # cases read between two turns of the agents, on the loop
# The page runs only our own script and talks only to its own origin.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

# A referral system's API key (role `system`) has its referrer id as subject, as at intake:
# it reads the cases it referred, like the referrer's own token (the same subject check).
ReferrerPrincipal = Annotated[Principal, Depends(require_roles("referrer", "system"))]


class CaseTimeline(ReadModel):
    case_id: str
    status: str
    referrer_id: str | None
    entries: list[TimelineEntry]


def _not_found() -> ProblemError:
    # Same answer for "no such case" and "not yours", so existence is not leaked.
    return ProblemError(404, "Not found", "no such case", kind="not-found")


_MAX_EVENT_ID_CHARS = 18  # every sequence number fits; int() never sees a huge number


def resume_after(last_event_id: str | None) -> int | None:
    """The sequence number a reconnecting browser last saw, from its Last-Event-ID header.
    Only ASCII digits, at most 18 of them, are an id we could have sent (str.isdigit also
    takes "²" and other Unicode digits, which int() refuses). Anything else is treated as no
    header: the stream replays its whole bounded backlog, so a client only sees events again,
    never misses one."""
    if (not last_event_id or len(last_event_id) > _MAX_EVENT_ID_CHARS
            or not (last_event_id.isascii() and last_event_id.isdigit())):
        return None
    return int(last_event_id)


def _too_many_streams(full: StreamsFull) -> ProblemError:
    return ProblemError(429, "Too many requests", full.detail, kind="too-many-streams",
                        headers={"Retry-After": str(full.retry_after_seconds)})


def _stream_message(message: dict[str, Any]) -> dict[str, str]:
    if "gap" in message:
        return {"event": "gap", "data": json.dumps(message)}
    return {"event": "case_event", "id": str(message["seq"]), "data": json.dumps(message)}


async def read_in_turns(rows: Iterable[CaseSummary]) -> list[CaseSummary]:
    """Every row of a pass over the agents' tables, read on the loop with a turn for the agents
    every BOARD_CHUNK rows (a pass that parses as it goes is then never one long hold)."""
    read = []
    for count, row in enumerate(rows, 1):
        read.append(row)
        if count % BOARD_CHUNK == 0:
            await asyncio.sleep(0)
    return read


class _SnapshotCache:
    """Browsers re-fetch on every event: compute once per new event and view, or when old."""

    def __init__(self, max_age: timedelta, max_views: int = 16) -> None:
        self.max_age = max_age
        self.max_views = max_views  # distinct filter combinations kept at once
        self._cached: OrderedDict[CaseFilter, tuple[int, DashboardSnapshot]] = OrderedDict()

    async def get(self, view: CaseFilter, version: int, now: datetime,
                  compute: Callable[[], Awaitable[DashboardSnapshot]]) -> DashboardSnapshot:
        """The cached snapshot if still at `version` and fresh at `now`, else a new one."""
        if (cached := self._cached.get(view)) is not None:
            cached_version, snapshot = cached
            age = now - snapshot.generated_at
            if cached_version == version and timedelta(0) <= age < self.max_age:
                self._cached.move_to_end(view)
                return snapshot
        snapshot = await compute()
        self._cached[view] = (version, snapshot)
        self._cached.move_to_end(view)
        while len(self._cached) > self.max_views:
            self._cached.popitem(last=False)
        return snapshot


def build_snapshot(
    cases: list[CaseSummary], view: CaseFilter, now: datetime, *,
    deadlines: ClockDeadlines | None, watch: OpsWatch,
) -> DashboardSnapshot:
    """Forecast and watchdog over every case, then the numbers of the cases the view selects."""
    assessment = watch.assess(cases, deadlines, now)
    return snapshot_of(cases, view, now, assessment, with_deadlines=deadlines is not None)


async def build_snapshot_on_loop(
    cases: list[CaseSummary], view: CaseFilter, now: datetime, *,
    deadlines: ClockDeadlines | None, watch: OpsWatch,
) -> DashboardSnapshot:
    """build_snapshot() for a route: what reads the agents' state (the SLA clocks' rows, the
    directory) runs on the event loop, giving the agents a turn every BOARD_CHUNK cases; the
    numbers, over the summaries already read (never modified in place), in the thread pool."""
    look = watch.look(now, with_forecast=True)
    for count, case in enumerate(cases, 1):
        look.add(case, None if deadlines is None else deadlines(case.case_id))
        if count % BOARD_CHUNK == 0:
            await asyncio.sleep(0)
    assessment = look.finish(report=False)
    return await run_in_threadpool(lambda: snapshot_of(
        cases, view, now, assessment, with_deadlines=deadlines is not None))


def snapshot_of(
    cases: list[CaseSummary], view: CaseFilter, now: datetime, assessment: Assessment, *,
    with_deadlines: bool,
) -> DashboardSnapshot:
    """The numbers of the cases `view` selects, given the assessment of every case."""
    risks, known = assessment.risks, assessment.deadlines
    chosen = [c for c in cases if view.matches(
        c, at_risk=c.case_id in risks and risks[c.case_id].at_risk)]
    snapshot = aggregate(chosen, now, deadlines=(lambda cid: known.get(cid, {}))
                         if with_deadlines else None, risks=risks)
    snapshot.stalled = [StallRow(case_id=s.case_id, short_id=short_id(s.case_id), stage=s.stage,
                                 urgency=s.urgency, since=s.since,
                                 waiting_seconds=s.waiting_seconds)
                        for s in assessment.stalls if view.matches_id(s.case_id)]
    snapshot.facets = facets(cases)
    snapshot.filters = view.active()
    return snapshot


def build_router(
    get_summaries: Callable[[], Iterable[CaseSummary]],
    live: LiveFeed,
    clock: Callable[[], datetime],
    *,
    tickets: TicketSigner | None = None,
    ping_seconds: float = 15.0,
    snapshot_max_age_seconds: float = 2.0,
    get_summary: Callable[[str], CaseSummary | None] | None = None,
    deadlines: ClockDeadlines | None = None,
    watch: OpsWatch | None = None,
    secure_cookies: bool | None = None,
    stream_slots: StreamSlots | None = None,
) -> APIRouter:
    """The dashboard page and its API, over the summaries `get_summaries` returns.

    `deadlines` reads notify's SLA clocks (the one source of deadlines), `watch` forecasts
    breaches and finds stalled cases (over the directory it was given). `stream_slots` bounds the
    live streams held open, per principal and in total.
    """
    router = APIRouter(tags=["dashboard"])
    router.include_router(build_session_router(secure=secure_cookies))
    signer = tickets or TicketSigner()
    slots = stream_slots or StreamSlots()
    snapshots = _SnapshotCache(timedelta(seconds=snapshot_max_age_seconds))
    ops_watch = watch or OpsWatch()
    trend_cache: dict[CaseFilter, Trends] = {}

    async def find(case_id: str) -> CaseSummary | None:
        if get_summary is not None:
            # A keyed lookup (O(1) parses) runs on the event loop, the thread whose agents
            # change the caches it reads: from FastAPI's thread pool it would race their LRU
            # bookkeeping. The per-case routes are async for that.
            return get_summary(case_id)
        # Without one (tests), a pass over every case, on the loop too, in turns.
        return next((s for s in await read_in_turns(get_summaries()) if s.case_id == case_id),
                    None)

    @router.get("/dashboard", include_in_schema=False)
    def dashboard_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "dashboard.html", media_type="text/html",
                            headers=PAGE_HEADERS)

    @router.get("/dashboard/static/{name}", include_in_schema=False)
    def dashboard_static(name: str) -> FileResponse:
        if name not in STATIC_FILES:  # a fixed list: no path ever reaches the file system
            raise ProblemError(404, "Not found", "no such file", kind="not-found")
        return FileResponse(STATIC_DIR / name, media_type=STATIC_FILES[name],
                            headers={"Cache-Control": "no-cache"})

    # The board's routes are async: the summaries and clocks are read through the agents'
    # parsed-row caches on the event loop, their thread (from FastAPI's thread pool a read
    # raced the agents' LRU bookkeeping: a KeyError in either). Only the arithmetic over what
    # was read goes to the thread pool.
    @router.get("/api/ops/summary", response_model=DashboardSnapshot)
    async def ops_summary(
        principal: OpsCaller, view: Annotated[CaseFilter, Query()],
    ) -> DashboardSnapshot:
        now = clock()
        # The version is read before the summaries so an event landing meanwhile forces a redo.
        version = live.last_seq

        async def compute() -> DashboardSnapshot:
            return await build_snapshot_on_loop(await read_in_turns(get_summaries()), view, now,
                                                deadlines=deadlines, watch=ops_watch)

        return await snapshots.get(view, version, now, compute)

    @router.get("/api/ops/trends", response_model=Trends)
    async def ops_trends(principal: OpsCaller, view: Annotated[CaseFilter, Query()]) -> Trends:
        now = clock()
        cached = trend_cache.get(view)
        if cached is not None and timedelta(0) <= now - cached.generated_at < TRENDS_MAX_AGE:
            return cached
        chosen = [c for c in await read_in_turns(get_summaries()) if view.matches(c)]
        trend_cache[view] = fresh = await run_in_threadpool(trends, chosen, now)
        while len(trend_cache) > 16:
            trend_cache.pop(next(iter(trend_cache)))
        return fresh

    @router.get("/api/ops/cases/{case_id}/timeline", response_model=CaseTimeline)
    async def case_timeline(case_id: str, principal: OpsCaller) -> CaseTimeline:
        summary = await find(case_id)
        if summary is None:
            raise _not_found()
        return CaseTimeline(case_id=summary.case_id, status=summary.status,
                            referrer_id=summary.referrer_id, entries=summary.timeline)

    @router.post("/api/ops/stream-ticket", response_model=StreamTicket)
    async def stream_ticket(principal: OpsCaller) -> StreamTicket:  # the loop's stream counts
        # Refused here too, where the page can read the 429 and its Retry-After: an
        # EventSource only sees that its connection failed. The stream itself still enforces.
        try:
            slots.check(principal.subject)
        except StreamsFull as full:
            raise _too_many_streams(full) from None
        return signer.issue(subject=principal.subject, now=clock())

    @router.get("/api/ops/stream")
    async def ops_stream(
        request: Request,
        ticket: Annotated[str | None, Query(max_length=512)] = None,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> SlotStream:
        try:
            if not ticket:
                raise InvalidTicket("stream ticket required: POST /api/ops/stream-ticket")
            subject = signer.verify(ticket, now=clock())
        except InvalidTicket as exc:
            raise ProblemError(401, "Unauthorized", str(exc), kind="unauthorized") from exc
        after = resume_after(last_event_id)
        try:  # per principal, whichever of its tickets it uses
            slot = slots.acquire(subject)
        except StreamsFull as full:
            raise _too_many_streams(full) from None

        async def messages() -> AsyncIterator[dict[str, str]]:
            async for message in live.subscribe(after_seq=after):
                yield _stream_message(message)

        try:  # from here on the response owns the slot and releases it when it ends
            return SlotStream(messages(), slot=slot, ping=ping_seconds,
                              headers={"Cache-Control": "no-store"})
        except BaseException:
            slot.release()
            raise

    @router.get("/api/referrals/{case_id}/status", response_model=ReferrerStatus)
    async def referral_status(case_id: str, principal: ReferrerPrincipal) -> ReferrerStatus:
        summary = await find(case_id)
        # An erased case is gone for its referrer, as at intake (a read there is 404): the
        # same answer as a case that never existed.
        if summary is None or summary.erased or summary.referrer_id != principal.subject:
            raise _not_found()
        return referrer_status(summary)

    return router
