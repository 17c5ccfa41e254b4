"""Any worker answers for any case: per-case HTTP requests go to the worker that owns the case.

Faust workers of one service split the case partitions between them, and a case's row, its
replies and its commands' outcomes live on the owner only. Each worker advertises its HTTP
address as faust's `canonical_url`; the group's assignment tells every worker which address
owns which partition of a table. A request for a case owned elsewhere is relayed there once
(marked, so it is never relayed again), with a bounded wait; while ownership is unknown (a
rebalance) the local worker answers. Runs inside the request guard, so only checked requests
travel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import faust
import httpx

from schemas.topics import CASE_PARTITIONS
from services.common.partitions import case_partition

FORWARDED = "x-spine-forwarded-by"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host",
               "content-length", "te", "trailer", "proxy-authorization", "proxy-authenticate"}
OwnerOf = Callable[[str], str | None]  # case id -> base URL of its owner, None: answer here
Scope = dict[str, Any]


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
    """ASGI middleware relaying requests on per-case paths to the case's owner."""

    def __init__(
        self, app: Any, *, paths: Sequence[str], owner_of: OwnerOf, me: Callable[[], str],
        timeout_seconds: float = 5.0, max_body_bytes: int = 1_048_576,
    ) -> None:
        self.app, self.owner_of, self.me = app, owner_of, me
        self.patterns = [re.compile(p) for p in paths]
        self.timeout, self.max_body = timeout_seconds, max_body_bytes
        self._client: httpx.AsyncClient | None = None

    def _case_of(self, path: str) -> str | None:
        for pattern in self.patterns:
            match = pattern.fullmatch(path)
            if match:
                return match["case_id"]
        return None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or _header(scope, FORWARDED) is not None:
            await self.app(scope, receive, send)
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
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        url = target + scope["raw_path"].decode("latin-1")
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
                   if k.decode("latin-1").lower() not in _HOP_BY_HOP]
        headers.append((FORWARDED, self.me()))
        try:
            response = await self._client.request(scope["method"], url, headers=headers,
                                                  content=body)
        except httpx.HTTPError:
            await _problem(send, 503, "Service Unavailable",
                           "the worker owning this case did not answer; retry shortly")
            return
        await send({"type": "http.response.start", "status": response.status_code,
                    "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                                for k, v in response.headers.multi_items()
                                if k.lower() not in _HOP_BY_HOP]})
        await send({"type": "http.response.body", "body": response.content})


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


async def _problem(send: Any, status: int, title: str, detail: str) -> None:
    body = json.dumps({"type": "about:blank", "title": title, "status": status,
                       "detail": detail}).encode()
    headers = [(b"content-type", b"application/problem+json")]
    if status == 503:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def install_forwarding(api: Any, *, paths: Iterable[str], owner_of: OwnerOf,
                       me: Callable[[], str]) -> None:
    """Relay per-case requests to their owner; call before the guard so the guard runs first."""
    api.add_middleware(ForwardToOwner, paths=list(paths), owner_of=owner_of, me=me)
