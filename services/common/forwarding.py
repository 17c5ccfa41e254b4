"""Any worker answers for any case: per-case HTTP requests go to the worker that owns the case.

Faust workers of one service split the case partitions between them, and a case's row, its
replies and its commands' outcomes live on the owner only. Each worker advertises its HTTP
address as faust's `canonical_url`; the group's assignment tells every worker which address
owns which partition of a table. A request for a case owned elsewhere is relayed there once
(marked and signed, so it is never relayed again: services/common/peer_signature.py), with a
bounded wait; while ownership is unknown (a rebalance) the local worker answers. A marking
without a valid peer signature is dropped and the request handled as any client's. Runs inside
the request guard, so only checked requests travel.

The wait must outlast the owner's own worst case (`timeout_seconds`; routing derives it from
its Kafka and reply waits), or a command the owner accepts is answered "retry" here. When the
owner was never reached, any request is a 503 with Retry-After. When it was reached and did not
answer, only a request that may be repeated gets "retry" (a safe method, PUT or DELETE, or one
with an Idempotency-Key, under which a repeat is the same command); any other (a POST without a
key) may have been applied, and a repeat would apply it again: 504 `outcome-unknown`, without
Retry-After, telling the client to read the state before repeating it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import faust
import httpx

from schemas.topics import CASE_PARTITIONS
from services.common.logs import get_logger
from services.common.partitions import case_partition
from services.common.peer_signature import (
    RELAY_MARKS,
    PeerRelays,
    carries_relay_headers,
    request_target,
    without_relay_headers,
)
from services.common.problems import MEDIA_TYPE, PROBLEM_TYPE_BASE

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host",
               "content-length", "te", "trailer", "proxy-authorization", "proxy-authenticate"}
log = get_logger("forwarding")
OwnerOf = Callable[[str], str | None]  # case id -> base URL of its owner, None: answer here
Scope = dict[str, Any]
# A peer that does not accept a connection within this is gone; the request never reached it.
CONNECT_SECONDS = 5.0
# Methods a client may repeat after a lost answer without doing the thing twice (RFC 9110 9.2.2).
REPEATABLE = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Failures before any byte of the request left: the owner cannot have acted on it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class NoAnswer:
    """A relay that got no answer; `sent`: the request may have reached the owner."""

    def __init__(self, *, sent: bool) -> None:
        self.sent = sent


def table_owner(app: faust.App, table: Any) -> OwnerOf:
    """The owner of a case's partition of `table`, from the group's assignment (None: me)."""
    topic = table.changelog_topic.get_topic_name()

    def owner_of(case_id: str) -> str | None:
        partition = case_partition(case_id, CASE_PARTITIONS)
        me = str(app.conf.canonical_url).rstrip("/")
        for url, topics in app.assignor.table_metadata(topic).items():
            if partition in topics.get(topic, ()):
                owner = str(url).rstrip("/")
                return None if owner == me else owner
        return None  # unknown during a rebalance: answer from here

    return owner_of


class ForwardToOwner:
    """ASGI middleware relaying requests on per-case paths to the case's owner.

    `peer_secret` signs this worker's relays and checks other workers' (the same on every
    worker of the service); `clock` gives unix seconds for signing and checking."""

    def __init__(
        self, app: Any, *, paths: Sequence[str], owner_of: OwnerOf, me: Callable[[], str],
        peer_secret: str, timeout_seconds: float = 5.0, max_body_bytes: int = 1_048_576,
        lists: dict[str, str] | None = None, peers: Callable[[], list[str]] = list,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app, self.owner_of = app, owner_of
        self.relays = PeerRelays(peer_secret, me=me, clock=clock)
        self.lists, self.peers = lists or {}, peers
        self.patterns = [re.compile(p) for p in paths]
        self.timeout, self.max_body = timeout_seconds, max_body_bytes
        self._client: httpx.AsyncClient | None = None

    def _case_of(self, path: str) -> str | None:
        for pattern in self.patterns:
            match = pattern.fullmatch(path)
            if match:
                return match["case_id"]
        return None

    def _route(self, path: str) -> str:
        """The path's template, for logs: never the path itself (it names a case)."""
        if path in self.lists:
            return path
        return next((p.pattern for p in self.patterns if p.fullmatch(path)), "other")

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if carries_relay_headers(scope):
            reason = self.relays.rejection(scope)
            if reason is None:  # a peer relayed it: answered here, never relayed again
                await self.app(scope, receive, send)
                return
            # A client's (or a misconfigured peer's) marking: answered as for any client, by
            # the owner, so a client setting it by mistake still gets the right answer.
            log.warning("relay headers without a valid peer signature ignored",
                        extra={"reason": reason, "route": self._route(scope["path"])})
            scope = without_relay_headers(scope)
        if scope["path"] in self.lists and scope["method"] == "GET":
            await self._gather(scope, receive, send)
            return
        case_id = self._case_of(scope["path"])
        target = self.owner_of(case_id) if case_id else None
        if target is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive, self.max_body)
        if body is None:
            await _problem(send, 413, "Content Too Large", "request body too large")
            return
        await self._relay(scope, send, target, body)

    async def _relay(self, scope: Scope, send: Any, target: str, body: bytes) -> None:
        response = await self._ask(scope, target, body)
        if isinstance(response, NoAnswer):
            if response.sent and not _repeatable(scope):
                await _problem(
                    send, 504, "Outcome unknown",
                    "the request reached the worker owning this case but no answer came back: "
                    "it may have been applied. Read the current state before repeating it; a "
                    "request sent with an Idempotency-Key may be repeated under the same key",
                    kind="outcome-unknown")
                return
            await _problem(send, 503, "Service Unavailable",
                           "the worker owning this case did not answer; retry shortly")
            return
        await send({"type": "http.response.start", "status": response.status_code,
                    "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                                for k, v in response.headers.multi_items()
                                if k.lower() not in _HOP_BY_HOP]})
        await send({"type": "http.response.body", "body": response.content})

    async def _gather(self, scope: Scope, receive: Any, send: Any) -> None:
        """A list across cases: this worker's items plus every peer's, each from its owner."""
        local: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

        async def keep(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                local.update(status=message["status"], headers=message.get("headers", []))
            elif message["type"] == "http.response.body":
                local["body"] += message.get("body", b"")

        await self.app(scope, receive, keep)
        if local["status"] != 200:
            await send({"type": "http.response.start", "status": local["status"],
                        "headers": local["headers"]})
            await send({"type": "http.response.body", "body": local["body"]})
            return
        items = [i for i in json.loads(local["body"]) if self.owner_of(i["case_id"]) is None]
        for peer in self.peers():
            answer = await self._ask(scope, peer, b"")
            theirs = None if isinstance(answer, NoAnswer) else _case_items(answer)
            if theirs is None:
                await _problem(send, 503, "Service Unavailable",
                               "another worker did not answer; retry shortly")
                return
            items += [i for i in theirs if self.owner_of(i["case_id"]) == peer]
        field = self.lists[scope["path"]]
        items.sort(key=lambda i: (i.get(field) is None, i.get(field) or ""))
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": json.dumps(items).encode()})

    async def _ask(self, scope: Scope, target: str, body: bytes) -> httpx.Response | NoAnswer:
        """The same request, marked as relayed, to another worker, or how it went unanswered."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(
                self.timeout, connect=min(self.timeout, CONNECT_SECONDS)))
        url = target + request_target(scope["raw_path"], scope.get("query_string", b"")
                                      ).decode("latin-1")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
                   if k.decode("latin-1").lower() not in _HOP_BY_HOP | RELAY_MARKS]
        try:
            request = self._client.build_request(scope["method"], url, headers=headers,
                                                 content=body)
            with self.relays.marked(request, scope):
                return await self._client.send(request)
        except Exception as exc:  # any failure to hear back is "did not answer", not a 500:
            # besides httpx's own errors, anyio under uvloop raises AttributeError when a peer
            # closes a fresh connection as it goes down (as notify's webhooks met it); unless
            # the request surely never left, it may have reached the owner
            log.warning("relay to another worker failed", extra={"error": type(exc).__name__})
            return NoAnswer(sent=not isinstance(exc, _NOT_SENT))


def _repeatable(scope: Scope) -> bool:
    """May the client repeat this request after a lost answer without doing it twice?"""
    return scope["method"] in REPEATABLE or _header(scope, "idempotency-key") is not None


def _case_items(response: httpx.Response) -> list[dict[str, Any]] | None:
    """A peer's answer to a list request: a 200 JSON list of items naming their case, or None
    (an error, or a body that is not such a list: the list would be wrong)."""
    if response.status_code != 200:
        return None
    try:
        items = response.json()
    except ValueError:
        return None
    if not isinstance(items, list) or not all(
            isinstance(i, dict) and isinstance(i.get("case_id"), str) for i in items):
        return None
    return items


def _header(scope: Scope, name: str) -> bytes | None:
    wanted = name.encode("latin-1")
    return next((v for k, v in scope["headers"] if k.lower() == wanted), None)


async def _read_body(receive: Any, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _problem(send: Any, status: int, title: str, detail: str, *,
                   kind: str | None = None) -> None:
    body = json.dumps({"type": PROBLEM_TYPE_BASE + kind if kind else "about:blank",
                       "title": title, "status": status, "detail": detail}).encode()
    headers = [(b"content-type", MEDIA_TYPE.encode())]
    if status == 503:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# A relayed request's hop on top of the owner's own worst case: connecting, the owner's guard
# reading the body, the answer back (milliseconds between workers; room for a busy event loop).
RELAY_MARGIN_SECONDS = 2.0


def install_forwarding(
    api: Any, *, paths: Iterable[str], owner_of: OwnerOf, me: Callable[[], str],
    peer_secret: str, lists: dict[str, str] | None = None,
    peers: Callable[[], list[str]] = list, timeout_seconds: float = 5.0,
) -> None:
    """Relay per-case requests to their owner and gather `lists` (path -> sort field) from
    every worker; call before the guard so the guard runs first. `timeout_seconds` must
    outlast the longest the owner may take to answer (see the module doc); `peer_secret`
    (SPINE_PEER_SECRET) signs and checks relays between the service's workers."""
    api.add_middleware(ForwardToOwner, paths=list(paths), owner_of=owner_of, me=me,
                       peer_secret=peer_secret, lists=lists, peers=peers,
                       timeout_seconds=timeout_seconds)


def table_peers(app: faust.App, table: Any) -> Callable[[], list[str]]:
    """The other workers' base URLs, as the group's assignment of `table` names them."""
    topic = table.changelog_topic.get_topic_name()

    def peers() -> list[str]:
        me = str(app.conf.canonical_url).rstrip("/")
        urls = {str(url).rstrip("/") for url in app.assignor.table_metadata(topic)}
        return sorted(urls - {me})

    return peers
