"""A local HTTP endpoint that records webhooks (the demo inbox, and tests' fake receivers)."""

from __future__ import annotations

import functools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ReceivedCall:
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = 0.0  # time.monotonic() on arrival
    received_wall: float = 0.0  # time.time() on arrival, to compare with event timestamps
    peer_port: int = 0  # the sender's port: one per connection it used

    def json(self) -> Any:
        return json.loads(self.body)

    @functools.cached_property
    def case_id(self) -> str | None:
        """The JSON body's case_id, parsed once: a bench polls arrivals many times a second and
        re-parsing every body on each poll took CPU from the system it measures."""
        if not self.body.startswith(b"{"):
            return None
        try:
            value = self.json().get("case_id")
        except ValueError:
            return None
        return value if isinstance(value, str) else None


@dataclass
class WebhookReceiver:
    """Records every POST; answers 500 to the first `fail_first` calls.

    `keep_alive` answers in HTTP/1.1 so senders can reuse their connection, as production
    receivers let them (the benches); the default HTTP/1.0 closes each connection.
    """

    fail_first: int = 0
    port: int = 0  # 0 = any free port
    keep_alive: bool = False
    calls: list[ReceivedCall] = field(default_factory=list)
    attempts: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if self.keep_alive else "HTTP/1.0"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.attempts += 1
                    failing = receiver.attempts <= receiver.fail_first
                    if not failing:
                        headers = {k.lower(): v for k, v in self.headers.items()}
                        receiver.calls.append(
                            ReceivedCall(self.path, headers, body, time.monotonic(),
                                     time.time(), self.client_address[1])
                        )
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_for(self, predicate: Any, timeout: float = 60.0) -> list[ReceivedCall]:
        """Wait until `predicate(calls)` is true; returns the calls so far."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                snapshot = list(self.calls)
            if predicate(snapshot):
                return snapshot
            time.sleep(0.2)
        raise TimeoutError(f"webhooks seen so far (path, kind, case): {self._seen()}")

    def _seen(self) -> list[tuple[str, str, str]]:
        """What a timed-out wait reports: ids and kinds only, never a body's clinical content."""
        seen = []
        with self._lock:
            snapshot = list(self.calls)
        for call in snapshot:
            try:
                body = call.json() if call.body.startswith(b"{") else {}
            except ValueError:
                body = {}
            seen.append((call.path, str(body.get("kind", "?")), str(body.get("case_id", "?"))))
        return seen

    def first_arrival_by_case(self, prefix: str = "") -> dict[str, float]:
        """case id -> arrival time of the first webhook for it under path `prefix`."""
        with self._lock:
            snapshot = list(self.calls)
        first: dict[str, float] = {}
        for call in snapshot:
            if call.path.startswith(prefix):
                case_id = call.case_id
                if case_id and case_id not in first:
                    first[case_id] = call.received_at
        return first

    def clear(self) -> None:
        """Forget the calls so far."""
        with self._lock:
            self.calls.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
