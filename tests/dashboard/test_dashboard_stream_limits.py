"""Live streams held open, over a real uvicorn server: at most a few per principal and a total
per worker (429 problem+json with Retry-After past either), and every slot back when its stream
ends: the client leaving, the event source failing, the server shutting down."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from services.notify.dashboard.live import LiveFeed
from services.notify.dashboard.stream_slots import StreamSlots
from tests.dashboard.conftest import (
    FakeCaseStore,
    FixedClock,
    ServerThread,
    bearer,
    make_api,
)
from tests.unit.casefile import events as ev


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10  # readiness wait, not a timing assertion
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def ticket_of(client: httpx.Client, subject: str) -> str:
    answer = client.post("/api/ops/stream-ticket", headers=bearer("ops", subject))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["ticket"])


def open_stream(stack: ExitStack, client: httpx.Client, ticket: str) -> httpx.Response:
    return stack.enter_context(
        client.stream("GET", "/api/ops/stream", params={"ticket": ticket}))


def assert_too_many(answer: httpx.Response, limit_words: str) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["Retry-After"] == "10"
    problem = answer.json()
    assert problem["type"].endswith("/too-many-streams") and limit_words in problem["detail"]


@pytest.fixture
def serve(store: FakeCaseStore, clock: FixedClock) -> Iterator[Callable[..., ServerThread]]:
    with ExitStack() as servers:
        def start(slots: StreamSlots, live: LiveFeed | None = None) -> ServerThread:
            api = make_api(store, live or LiveFeed(), clock, stream_slots=slots)
            return servers.enter_context(ServerThread(api))
        yield start


def wait_for_none(slots: StreamSlots) -> None:
    wait_until(lambda: slots.open_count == 0, "a stream kept its slot after it ended")


def refused_stream(client: httpx.Client, ticket: str) -> httpx.Response:
    """GET of a stream expected to be refused (a 200 would fail on the read timeout)."""
    return client.get("/api/ops/stream", params={"ticket": ticket})


def test_a_principal_holds_at_most_its_cap_whatever_ticket_it_uses(
    serve: Callable[..., ServerThread],
) -> None:
    slots = StreamSlots(per_principal=2, total=10)
    server = serve(slots)
    with httpx.Client(base_url=server.url, timeout=10) as client, ExitStack() as streams:
        reused = ticket_of(client, "ops-1")  # a ticket stays valid for 60 s, for any number
        assert open_stream(streams, client, reused).status_code == 200
        assert open_stream(streams, client, ticket_of(client, "ops-1")).status_code == 200
        assert_too_many(refused_stream(client, reused), "2 live dashboard streams")
        # The page asks for a ticket first, and can read this answer (an EventSource cannot).
        assert_too_many(client.post("/api/ops/stream-ticket", headers=bearer("ops", "ops-1")),
                        "2 live dashboard streams")
        # Another principal is not held up by ops-1's streams.
        assert open_stream(streams, client, ticket_of(client, "ops-2")).status_code == 200
        assert (slots.held_by("ops-1"), slots.open_count) == (2, 3)


def test_the_worker_serves_at_most_its_total(serve: Callable[..., ServerThread]) -> None:
    slots = StreamSlots(per_principal=4, total=2)
    server = serve(slots)
    with httpx.Client(base_url=server.url, timeout=10) as client, ExitStack() as streams:
        late = ticket_of(client, "ops-3")
        for subject in ("ops-1", "ops-2"):
            assert open_stream(streams, client, ticket_of(client, subject)).status_code == 200
        assert_too_many(refused_stream(client, late), "serves 2 live dashboard streams")
        assert_too_many(client.post("/api/ops/stream-ticket", headers=bearer("ops", "ops-3")),
                        "serves 2")
    wait_for_none(slots)


def test_a_client_opening_and_dropping_streams_in_a_loop_is_never_refused(
    serve: Callable[..., ServerThread],
) -> None:
    slots = StreamSlots(per_principal=1, total=1)
    server = serve(slots)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        ticket = ticket_of(client, "ops-1")
        for _ in range(5):
            with client.stream("GET", "/api/ops/stream", params={"ticket": ticket}) as stream:
                assert stream.status_code == 200
                assert slots.open_count == 1
            wait_for_none(slots)  # the disconnect gave the slot back


class BreakingFeed(LiveFeed):
    """A feed whose subscription fails after its backlog: the stream ends with an error."""

    async def subscribe(self, *, after_seq: int | None = None) -> AsyncIterator[dict[str, Any]]:
        for message in self.backlog():
            yield message
        raise RuntimeError("the feed broke")


def test_a_stream_ending_in_an_error_gives_its_slot_back(
    serve: Callable[..., ServerThread],
) -> None:
    slots = StreamSlots(per_principal=1, total=1)
    feed = BreakingFeed()
    feed.publish(ev.triaged("case-new", 199, urgency="soon"))
    server = serve(slots, feed)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        ticket = ticket_of(client, "ops-1")
        with client.stream("GET", "/api/ops/stream", params={"ticket": ticket}) as stream:
            assert stream.status_code == 200
            with pytest.raises(httpx.HTTPError):  # the server broke the stream off
                for _ in stream.iter_lines():
                    pass
        wait_for_none(slots)
        with client.stream("GET", "/api/ops/stream", params={"ticket": ticket}) as again:
            assert again.status_code == 200


def test_shutting_the_server_down_gives_every_slot_back(
    store: FakeCaseStore, clock: FixedClock,
) -> None:
    slots = StreamSlots(per_principal=4, total=8)
    running = ServerThread(make_api(store, LiveFeed(), clock, stream_slots=slots))
    with running, httpx.Client(base_url=running.url, timeout=10) as client, \
            ExitStack() as streams:
        for subject in ("ops-1", "ops-1", "ops-2"):
            assert open_stream(streams, client, ticket_of(client, subject)).status_code == 200
        assert slots.open_count == 3
        running.server.should_exit = True  # uvicorn's shutdown, with the streams still open
        running.thread.join(timeout=15)
        assert not running.thread.is_alive()
        assert slots.open_count == 0
