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

from schemas.envelope import Event
from services.common.auth import Role, mint_token
from services.common.problems import install_problem_handlers
from services.notify.casefile import CaseSummary, apply_event
from services.notify.dashboard.live import LiveFeed
from services.notify.dashboard.views import build_router
from tests.unit.casefile import events as ev

NOW = ev.at(200)


class FakeCaseStore:
    """What the notify agent keeps in its case_summaries table, as a plain dict."""

    def __init__(self) -> None:
        self.summaries: dict[str, CaseSummary] = {}

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


def bearer(role: Role, subject: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token(subject=subject, role=role)}


def make_api(
    store: FakeCaseStore, live: LiveFeed, clock: FixedClock, *, keyed_lookup: bool = False
) -> FastAPI:
    api = FastAPI()
    install_problem_handlers(api)
    api.include_router(build_router(
        store.values, live, clock, ping_seconds=600,
        get_summary=store.summaries.get if keyed_lookup else None,
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
