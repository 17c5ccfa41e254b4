"""A FHIR Bundle is validated and mapped off intake's event loop, a bounded number at a time.

Review 18: six 1 MiB bundles from one referrer, parsed inside the async route, held
/health/live for 9.7 s. Here the parse is made to block until the test lets it go, so what is
asserted is not a timing: a probe is answered *while* parses are held, and no more than
PARSE_SLOTS of them ever run at once. Before the fix the probe could not be answered at all
until the parse was released (the bounded waits below turn that into a failure, not a hang).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common import off_loop
from services.intake.fhir import parsing
from services.intake.fhir.bundle import BundleIndex, load_bundle
from tests.intake.intake_fakes import bearer, running_intake

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures/fhir/fbss-recurrent-disc.message.json"
FHIR_JSON = {"Content-Type": "application/fhir+json"}
WAIT = 10.0  # seconds; only ever waited out when the behaviour under test is broken


class Gate:
    """Stands in for load_bundle: counts parses in progress and holds each until opened."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.started = threading.Semaphore(0)
        self.lock = threading.Lock()
        self.running = self.peak = 0

    def load(self, raw: bytes, *, content_type: str | None = None) -> BundleIndex:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        self.started.release()
        try:
            self.opened.wait(WAIT * 3)
            return load_bundle(raw, content_type=content_type)
        finally:
            with self.lock:
                self.running -= 1

    def wait_started(self, count: int) -> None:
        for _ in range(count):
            assert self.started.acquire(timeout=WAIT), "a parse never started"


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    held = Gate()
    monkeypatch.setattr(parsing, "load_bundle", held.load)
    yield held
    held.opened.set()  # whatever happened, let every parse finish


@contextmanager
def posting(client: Any, gate: Gate, count: int) -> Iterator[list[httpx.Response]]:
    """`count` bundles posted from their own threads (each from its own referrer, so each is a
    new case); on leaving, the gate is opened (if the test has not) and they are joined."""
    answers: list[httpx.Response] = []
    body = FIXTURE.read_bytes()

    def post(i: int) -> None:
        answers.append(client.post("/fhir/Bundle", content=body,
                                   headers=bearer(f"ref-burst-{i}") | FHIR_JSON))

    threads = [threading.Thread(target=post, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield answers
    finally:
        gate.opened.set()
        for thread in threads:
            thread.join(WAIT * 4)


def answered_while_held(client: Any, path: str) -> httpx.Response | None:
    """GET `path` from another thread; its answer, or None if none came within WAIT."""
    got: list[httpx.Response] = []
    probe = threading.Thread(target=lambda: got.append(client.get(path)), daemon=True)
    probe.start()
    probe.join(WAIT)
    return got[0] if got else None


def test_probes_are_answered_while_a_bundle_is_being_parsed(gate: Gate) -> None:
    with running_intake() as (client, log), posting(client, gate, 1) as answers:
        gate.wait_started(1)
        live = answered_while_held(client, "/health/live")
        metadata = answered_while_held(client, "/fhir/metadata")
        still_parsing = gate.running == 1 and not answers
        gate.opened.set()
    assert live is not None and live.status_code == 200, "the loop was held by the parse"
    assert metadata is not None and metadata.status_code == 200
    assert still_parsing
    assert [a.status_code for a in answers] == [202]
    assert len(log.events()) == 1


def test_at_most_parse_slots_bundles_are_parsed_at_once(gate: Gate) -> None:
    burst = parsing.PARSE_SLOTS + 2
    with running_intake() as (client, _), posting(client, gate, burst) as answers:
        gate.wait_started(parsing.PARSE_SLOTS)
        waiting = _waiting_for_a_slot(client, burst - parsing.PARSE_SLOTS)
        running = gate.running
        live = answered_while_held(client, "/health/live")
        gate.opened.set()
    assert waiting == burst - parsing.PARSE_SLOTS and running == parsing.PARSE_SLOTS
    assert live is not None and live.status_code == 200
    assert sorted(a.status_code for a in answers) == [202] * burst
    assert gate.peak == parsing.PARSE_SLOTS


def test_a_refusal_raised_in_the_worker_thread_is_the_same_operation_outcome() -> None:
    bundle = json.loads(FIXTURE.read_text())
    del bundle["entry"][2]["resource"]["gender"]
    with running_intake() as (client, _):
        response = client.post("/fhir/Bundle", content=json.dumps(bundle),
                               headers=bearer("ref-north-gp") | FHIR_JSON)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/fhir+json"
    [issue] = response.json()["issue"]
    assert issue["expression"] == ["Patient.gender (male, female or other)"]


def _waiting_for_a_slot(client: Any, expected: int) -> int:
    """How many parses wait for a slot, read on the app's own loop once `expected` do (or
    after WAIT): the rest of the burst has reached the limiter rather than not arrived yet."""
    deadline = threading.Event()
    timer = threading.Timer(WAIT, deadline.set)
    timer.start()
    try:
        while True:
            waiting = client.portal.call(lambda: parsing.parse_slots().statistics().tasks_waiting)
            if waiting >= expected or deadline.wait(0.01):
                return int(waiting)
    finally:
        timer.cancel()


def test_one_referrers_burst_does_not_queue_ahead_of_another_referrer(gate: Gate) -> None:
    """Referrer A sends three bundles at once, then B sends one: B's is parsed while A's first
    still is, rather than after all of A's (the slots' queue is first come, first served)."""
    body, other = FIXTURE.read_bytes(), FIXTURE.read_bytes() + b" "
    starts: list[bytes] = []
    load = gate.load

    def recording(raw: bytes, *, content_type: str | None = None) -> BundleIndex:
        starts.append(raw)
        return load(raw, content_type=content_type)

    answers: list[httpx.Response] = []

    def post(raw: bytes, referrer: str) -> None:
        answers.append(client.post("/fhir/Bundle", content=raw,
                                   headers=bearer(referrer) | FHIR_JSON))

    parsing.load_bundle = recording  # type: ignore[assignment]  # undone by the gate fixture
    with running_intake() as (client, _):
        burst = [threading.Thread(target=post, args=(body, "ref-a"), daemon=True)
                 for _ in range(3)]
        for thread in burst:
            thread.start()
        gate.wait_started(1)
        _wait_arrived(client, gate, 3)  # all three of A's have reached the parse
        late = threading.Thread(target=post, args=(other, "ref-b"), daemon=True)
        late.start()
        gate.wait_started(1)
        second, still_first = starts[1], gate.running
        gate.opened.set()
        for thread in [*burst, late]:
            thread.join(WAIT * 4)
    assert second == other, "B waited behind A's burst"
    assert still_first == 2 and gate.peak <= parsing.PARSE_SLOTS
    assert sorted(a.status_code for a in answers) == [200, 200, 202, 202]  # A resent twice


def _wait_arrived(client: Any, gate: Gate, expected: int) -> None:
    """Until `expected` parses run or wait (for a slot or for their referrer's turn)."""
    def arrived() -> int:
        stats = parsing.parse_slots().statistics()
        return gate.running + stats.tasks_waiting + off_loop.waiting_turns(parsing._SLOTS)

    deadline = threading.Event()
    timer = threading.Timer(WAIT, deadline.set)
    timer.start()
    try:
        while client.portal.call(arrived) < expected and not deadline.wait(0.01):
            pass
    finally:
        timer.cancel()
