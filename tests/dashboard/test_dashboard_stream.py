"""The SSE stream over a real uvicorn server: backlog, live events from another thread, resume."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx

from services.notify.dashboard.live import LiveFeed
from services.notify.dashboard.views import resume_after
from tests.dashboard.conftest import ServerThread, bearer
from tests.unit.casefile import events as ev


def case_events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The data of each `case_event` message, in order."""
    event_name = None
    for line in response.iter_lines():
        if line.startswith("event:"):
            event_name = line.partition(":")[2].strip()
        elif line.startswith("data:") and event_name == "case_event":
            yield json.loads(line.partition(":")[2])


def wait_for_subscribers(live: LiveFeed, count: int) -> None:
    deadline = time.monotonic() + 10  # readiness wait, not a timing assertion
    while live.subscriber_count < count:
        assert time.monotonic() < deadline, "the stream never subscribed"
        time.sleep(0.02)


def test_stream_replays_the_backlog_then_pushes_new_events(
    server: ServerThread, live: LiveFeed
) -> None:
    live.publish(ev.triaged("case-new", 199, urgency="soon"))
    with httpx.Client(base_url=server.url, timeout=10) as client:
        ticket = client.post("/api/ops/stream-ticket", headers=bearer("ops", "ops-1")).json()
        with client.stream("GET", "/api/ops/stream", params={"ticket": ticket["ticket"]}) as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            messages = case_events(resp)
            first = next(messages)
            assert (first["case_id"], first["event_type"], first["urgency"]) == (
                "case-new", "CaseTriaged", "soon")
            wait_for_subscribers(live, 1)
            live.publish(ev.offered("case-new", 200, urgency="soon"))  # from this other thread
            second = next(messages)
            assert (second["seq"], second["event_type"]) == (2, "AssignmentOffered")
            assert set(second) == {"seq", "event_id", "case_id", "event_type", "occurred_at",
                                   "urgency"}
        with client.stream("GET", "/api/ops/stream", params={"ticket": ticket["ticket"]},
                           headers={"Last-Event-ID": "1"}) as resumed:
            assert next(case_events(resumed))["seq"] == 2


def test_a_last_event_id_we_never_sent_is_treated_as_absent(
    server: ServerThread, live: LiveFeed
) -> None:
    # 5,000 digits reached int() (the int-conversion limit: a 500), and "²" passes
    # str.isdigit() but not int(). Neither is an id we sent: the whole backlog is replayed.
    live.publish(ev.triaged("case-new", 199, urgency="soon"))
    with httpx.Client(base_url=server.url, timeout=10) as client:
        ticket = client.post("/api/ops/stream-ticket", headers=bearer("ops", "ops-1")).json()
        for last_event_id in (b"9" * 5000, "\u00b2".encode("latin-1"), b"9" * 19):
            with client.stream("GET", "/api/ops/stream", params={"ticket": ticket["ticket"]},
                               headers={"Last-Event-ID": last_event_id}) as resp:
                assert resp.status_code == 200, last_event_id[:20]
                assert next(case_events(resp))["seq"] == 1


def test_only_short_ascii_digit_ids_resume() -> None:
    assert resume_after("42") == 42 and resume_after("9" * 18) == 10**18 - 1
    for odd in (None, "", "9" * 19, "9" * 5000, "\u00b2", "\uff11", "-1", " 1", "1e3"):
        assert resume_after(odd) is None, odd
