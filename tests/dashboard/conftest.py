"""Dashboard fixtures: a fake case store, the router in an app, and a real uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import datetime

import pytest
import uvicorn
from fastapi import FastAPI

from schemas.directory import Specialist
from schemas.envelope import Event
from services.common.auth import Role, mint_token
from services.common.problems import install_problem_handlers
from services.notify.casefile import CaseSummary, apply_event
from services.notify.dashboard.live import LiveFeed
from services.notify.dashboard.ops_watch import OpsWatch
from services.notify.dashboard.stream_slots import StreamSlots
from services.notify.dashboard.views import build_router
from tests.unit.casefile import events as ev

NOW = ev.at(200)


class FakeCaseStore:
    """What the notify agent keeps in its case_summaries table, as a plain dict; plus the
    deadlines of its running SLA clocks and the specialist directory, as notify holds them."""

    def __init__(self) -> None:
        self.summaries: dict[str, CaseSummary] = {}
        self.deadlines: dict[str, dict[str, datetime]] = {}
        self.specialists: list[Specialist] = []

    def clock_deadlines(self, case_id: str) -> dict[str, datetime]:
        return self.deadlines.get(case_id, {})

    def apply(self, *events: Event) -> None:
        for event in events:
            self.summaries[event.case_id] = apply_event(self.summaries.get(event.case_id), event)

    def values(self) -> Iterable[CaseSummary]:
        return list(self.summaries.values())


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def seeded_store() -> FakeCaseStore:
    """A breached case of ref-1, an on-track case of ref-2 and a completed one of ref-1."""
    store = FakeCaseStore()
    store.apply(
        ev.received("case-late", 0, referrer="ref-1"), ev.triaged("case-late", 5),
        ev.offered("case-late", 10, specialist="sp-1"), ev.accepted("case-late", 20),
        ev.sla("breached", "case-late", 181, deadline=180, clock="turnaround"),
        ev.received("case-fine", 100, referrer="ref-2"),
        ev.triaged("case-fine", 105, referrer="ref-2", urgency="routine"),
        ev.offered("case-fine", 150, specialist="sp-2", urgency="routine"),
        ev.received("case-done", 0), ev.offered("case-done", 10), ev.accepted("case-done", 30),
        ev.step_completed("case-done", 90), ev.case_completed("case-done", 95),
    )
    return store


def specialist(specialist_id: str, *, role: str = "neurosurgeon", capacity: int = 1) -> Specialist:
    return Specialist.model_validate({
        "specialist_id": specialist_id, "name": "Dr " + specialist_id, "role": role,
        "capacity": {"max_open_cases": capacity},
    })


AT_RISK_CASE = "7c1d2e3f-0000-4000-8000-00000000a715"  # a UUID, to show short ids
EMERGENCY_CASE = "e3e3e3e3-0000-4000-8000-0000000000e1"
STALLED_CASE = "5ta11ed0-0000-4000-8000-000000000000"


def shift_store() -> FakeCaseStore:
    """A shift in progress: the seeded cases, with notify's clock deadlines and a directory, plus
    a case expected to breach (declined, nobody free, the team takes 1 h to report and 20 m to
    accept), one due sooner but on course, a paged emergency and a referral triage never
    answered."""
    store = seeded_store()
    store.apply(
        ev.received(AT_RISK_CASE, 180, referrer="ref-3"),
        ev.triaged(AT_RISK_CASE, 181, referrer="ref-3"),
        ev.offered(AT_RISK_CASE, 185, specialist="sp-2"),
        ev.declined(AT_RISK_CASE, 190, specialist="sp-2"),
        ev.received(EMERGENCY_CASE, 195, referrer="ref-2"),
        ev.triaged(EMERGENCY_CASE, 196, urgency="emergency", referrer="ref-2",
                   teams=("emergency_department", "spine_surgery")),
        ev.emergency(EMERGENCY_CASE, 196.5, specialist="oncall-1"),
        ev.received(STALLED_CASE, 100, referrer="ref-2"),
        ev.received("case-soon", 198, referrer="ref-2"),
        ev.triaged("case-soon", 198.5, referrer="ref-2", teams=("spine_radiology",)),
        ev.offered("case-soon", 199, specialist="rad-1", team="spine_radiology"),
    )
    store.deadlines = {
        "case-late": {"s1:turnaround": ev.at(180)},
        "case-fine": {"s1:acceptance": ev.at(150 + 24 * 60)},  # no SLA event has said so yet
        AT_RISK_CASE: {"s1:acceptance": ev.at(185 + 75)},
        "case-soon": {"s1:acceptance": ev.at(230)},  # due first, but nothing says it will slip
    }
    # sp-1 holds case-late (its only place); sp-2 has case-fine offered (its only place).
    store.specialists = [specialist("sp-1"), specialist("sp-2"),
                         specialist("oncall-1", role="emergency_on_call"),
                         specialist("rad-1", role="neuroradiologist", capacity=3)]
    return store


def bearer(role: Role, subject: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token(subject=subject, role=role)}


def make_api(
    store: FakeCaseStore, live: LiveFeed, clock: FixedClock, *, keyed_lookup: bool = False,
    stream_slots: StreamSlots | None = None,
) -> FastAPI:
    api = FastAPI()
    install_problem_handlers(api)
    api.include_router(build_router(
        store.values, live, clock, ping_seconds=600,
        get_summary=store.summaries.get if keyed_lookup else None,
        deadlines=store.clock_deadlines, watch=OpsWatch(specialists=lambda: store.specialists),
        secure_cookies=False,  # the test server speaks plain HTTP on loopback
        stream_slots=stream_slots,
    ))
    return api


@pytest.fixture
def store() -> FakeCaseStore:
    return seeded_store()


@pytest.fixture
def live() -> LiveFeed:
    return LiveFeed(backlog_size=200, queue_size=100)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """uvicorn serving an app on a free loopback port, in a background thread."""

    def __init__(self, api: FastAPI) -> None:
        self.port = _free_port()
        config = uvicorn.Config(api, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:  # readiness wait, not a timing assertion
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def server(store: FakeCaseStore, live: LiveFeed, clock: FixedClock) -> Iterator[ServerThread]:
    with ServerThread(make_api(store, live, clock)) as running:
        yield running
