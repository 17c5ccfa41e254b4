"""Every request bounded before any work, in one ASGI middleware shared by all four services.

Order matters: the URL is checked (cheap), then the credentials are verified and the caller's
rate-limit bucket charged, and only then is a body read, never past `max_body_bytes`, and
JSON bodies are checked for nesting depth and number sizes before any route parses them.
Rate limits are keyed on the verified principal (role + subject), never on header text, and on
the source address for callers without valid credentials.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.auth import Principal, check_public_key, principal_from_headers
from services.common.auth import config as auth_config
from services.common.off_loop import off_loop
from services.common.problems import ProblemError, problem
from services.common.ratelimit import RateLimiter
from services.common.settings import env_float, env_int

# Checking a JSON body parses it: ~150 ms per MiB, which inline held the service's event loop
# (a burst of 1 MiB bodies within one caller's rate limit, ~9 s: review 18). Larger bodies are
# checked in a worker thread (services/common/off_loop.py); small ones cost less than the hop.
INLINE_JSON_BYTES = 64 * 1024
JSON_SLOTS = 2
REFUSED = Counter(
    "spine_http_refused_total", "Requests refused by the request guard", ["service", "reason"]
)
UNGUARDED_PREFIXES = ("/health", "/metrics")  # probes must answer even under a flood
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Path segments are ids and route words: URL-safe ASCII only, no room for payloads.
_SEGMENT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~:@$-")


@dataclass(frozen=True)
class GuardSettings:
    max_body_bytes: int = 1024 * 1024
    rate_limit_burst: int = 120
    rate_limit_per_second: float = 20.0
    max_clients: int = 10_000  # buckets kept; the least recently seen are forgotten
    max_path_chars: int = 512
    max_segment_chars: int = 64
    max_query_chars: int = 2048
    max_query_params: int = 32
    max_query_value_chars: int = 512
    max_json_depth: int = 64
    max_number_chars: int = 40

    @classmethod
    def from_env(cls, service: str) -> GuardSettings:
        """<SERVICE>_MAX_BODY_BYTES, <SERVICE>_RATE_LIMIT_BURST, <SERVICE>_RATE_LIMIT_PER_SECOND,
        each falling back to HTTP_MAX_BODY_BYTES, HTTP_RATE_LIMIT_BURST,
        HTTP_RATE_LIMIT_PER_SECOND."""
        prefix = service.upper()

        def int_of(name: str, default: int) -> int:
            return env_int(f"{prefix}_{name}", env_int(f"HTTP_{name}", default))

        return cls(
            max_body_bytes=int_of("MAX_BODY_BYTES", cls.max_body_bytes),
            rate_limit_burst=int_of("RATE_LIMIT_BURST", cls.rate_limit_burst),
            rate_limit_per_second=env_float(f"{prefix}_RATE_LIMIT_PER_SECOND", env_float(
                "HTTP_RATE_LIMIT_PER_SECOND", cls.rate_limit_per_second)),
        )


class Refused(Exception):
    """A request the guard answers itself."""

    def __init__(self, status: int, title: str, detail: str, kind: str, reason: str,
                 headers: dict[str, str] | None = None, path: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.kind = status, title, detail, kind
        self.reason, self.headers, self.path = reason, headers, path


def _invalid(detail: str, reason: str, path: str) -> Refused:
    return Refused(422, "Invalid request", detail, "validation", reason, path=path)


def check_url(scope: Scope, cfg: GuardSettings) -> None:
    """Path segments and query parameters: bounded length, safe characters; raises Refused."""
    path: str = scope["path"]
    if len(path) > cfg.max_path_chars:
        raise _invalid(f"paths are limited to {cfg.max_path_chars} characters", "path", "(path)")
    for segment in path.split("/"):
        if len(segment) > cfg.max_segment_chars:
            raise _invalid(f"path segments are limited to {cfg.max_segment_chars} characters",
                           "path", "(path)")
        if not _SEGMENT_CHARS.issuperset(segment):
            raise _invalid("path segments may hold only letters, digits and . _ ~ : @ $ -",
                           "path", "(path)")
    raw: bytes = scope.get("query_string") or b""
    if len(raw) > cfg.max_query_chars:
        raise _invalid(f"query strings are limited to {cfg.max_query_chars} characters",
                       "query", "(query)")
    if not raw:
        return
    try:
        params = parse_qsl(raw.decode("ascii"), keep_blank_values=True, errors="strict",
                           max_num_fields=cfg.max_query_params)
    except (UnicodeDecodeError, ValueError):
        raise _invalid("the query string is malformed or has too many parameters",
                       "query", "(query)") from None
    for name, value in params:
        if len(value) > cfg.max_query_value_chars or len(name) > cfg.max_segment_chars:
            raise _invalid(f"query parameters are limited to {cfg.max_query_value_chars} "
                           "characters", "query", _safe_name(name))
        if not (name + value).isprintable():
            raise _invalid("query parameters may not hold control characters", "query",
                           _safe_name(name))


def _safe_name(name: str) -> str:
    # The parameter's name may be echoed only when it is plainly a name, never a value.
    return name if name.isidentifier() and len(name) <= 64 else "(query)"


class _NumberTooLong(ValueError):
    pass


def check_json(body: bytes, cfg: GuardSettings) -> None:
    """Nesting depth and number sizes of a JSON body; malformed JSON is left to the route."""

    def number(text: str) -> float | int:
        if len(text) > cfg.max_number_chars:
            raise _NumberTooLong(text)
        value = float(text) if any(c in text for c in ".eE") else int(text)
        if isinstance(value, float) and math.isinf(value):
            raise _NumberTooLong(text)
        return value

    def constant(text: str) -> float:
        raise _NumberTooLong(text)  # NaN and Infinity are not JSON

    try:
        doc = json.loads(body, parse_int=number, parse_float=number, parse_constant=constant)
    except _NumberTooLong:
        raise _invalid(f"numbers are limited to {cfg.max_number_chars} characters and must be "
                       "finite", "number", "(body)") from None
    except RecursionError:
        raise _too_deep(cfg) from None
    except ValueError:  # not JSON at all: the route's own parser names the problem
        return
    stack: list[tuple[object, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > cfg.max_json_depth:
            raise _too_deep(cfg)
        children = node.values() if isinstance(node, dict) else node if isinstance(
            node, list) else ()
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))


def _too_deep(cfg: GuardSettings) -> Refused:
    return _invalid(f"JSON nesting is limited to {cfg.max_json_depth} levels", "depth", "(body)")


class RequestGuard:
    """ASGI middleware: URL bounds (422), credentials before the body (401), rate limits
    (429 + Retry-After), body size (413), JSON depth and number sizes (422)."""

    def __init__(
        self, app: ASGIApp, *, service: str, settings: GuardSettings | None = None,
        limiter: RateLimiter | None = None,
        authenticate: Callable[[str | None, str | None], Principal | None] = principal_from_headers,
        session_cookie: str | None = None,
    ) -> None:
        self.app, self.service, self.session_cookie = app, service, session_cookie
        self.cfg = settings or GuardSettings.from_env(service)
        self.limiter = limiter if limiter is not None else RateLimiter(
            burst=self.cfg.rate_limit_burst, per_second=self.cfg.rate_limit_per_second,
            max_clients=self.cfg.max_clients)
        self.authenticate = authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNGUARDED_PREFIXES):
            await self.app(scope, receive, send)
            return
        try:
            receive = await self._admit(scope, receive)
        except Refused as refused:
            REFUSED.labels(service=self.service, reason=refused.reason).inc()
            errors = [{"path": refused.path, "message": refused.detail}] if refused.path else None
            response = problem(refused.status, refused.title, refused.detail,
                               instance=scope["path"], kind=refused.kind, errors=errors,
                               headers=refused.headers)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _admit(self, scope: Scope, receive: Receive) -> Receive:
        check_url(scope, self.cfg)
        headers = _headers(scope)
        authorization = headers.get("authorization")
        from_cookie = False
        if not authorization and not headers.get("x-api-key") and self.session_cookie:
            token = _cookie(headers.get("cookie", ""), self.session_cookie)
            authorization = f"Bearer {token}" if token else None  # a browser session's token
            from_cookie = token is not None
        try:
            principal = self.authenticate(authorization, headers.get("x-api-key"))
        except ProblemError as exc:
            if from_cookie:  # a stale session cookie must not lock the public page out
                principal = None
            else:
                self._charge(_address(scope))  # bad credentials share their address's bucket
                raise Refused(401, exc.title, exc.detail, exc.kind, "unauthenticated",
                              headers=exc.headers) from None
        has_body = _has_body(scope, headers)
        caller = f"principal:{principal.role}:{principal.subject}" if principal else _address(
            scope)
        self._charge(caller)
        if principal is None and has_body:  # nobody's body is read before we know who sent it
            raise Refused(401, "Unauthorized", "credentials required", "unauthorized",
                          "unauthenticated",
                          headers={"WWW-Authenticate": 'Bearer realm="spine-router"'})
        if not has_body:
            return receive
        body = await self._read_body(headers, receive)
        if _may_be_json(headers.get("content-type", "")):
            if len(body) > INLINE_JSON_BYTES:  # ~150 ms of parsing per MiB: not on the loop,
                # and in the caller's turn (services/common/off_loop.py)
                await off_loop(check_json, body, self.cfg, name="guard_json", size=JSON_SLOTS,
                               caller=caller)
            else:
                check_json(body, self.cfg)
        return _replay(body, receive)

    def _charge(self, key: str) -> None:
        wait = self.limiter.wait_seconds(key)
        if wait > 0:
            retry_after = str(max(1, math.ceil(min(wait, 3600))))
            raise Refused(429, "Too many requests",
                          f"rate limit exceeded; retry after {retry_after} s", "rate-limited",
                          "rate", headers={"Retry-After": retry_after})

    async def _read_body(self, headers: dict[str, str], receive: Receive) -> bytes:
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.cfg.max_body_bytes:
            raise self._too_large()
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the app sees an empty body
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.cfg.max_body_bytes:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _too_large(self) -> Refused:
        return Refused(413, "Content too large",
                       f"request bodies are limited to {self.cfg.max_body_bytes} bytes",
                       "body-too-large", "body_size")


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1")
            for k, v in scope.get("headers") or []}


def _cookie(header: str, name: str) -> str | None:
    try:
        jar = SimpleCookie(header)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None and morsel.value else None


def _may_be_json(content_type: str) -> bool:
    """FastAPI parses untyped bodies as JSON, and media types are case-insensitive (RFC 9110
    8.3.1): `Application/Json` is parsed like `application/json`, so it is checked like it."""
    return not content_type or "json" in content_type.lower()


def _has_body(scope: Scope, headers: dict[str, str]) -> bool:
    if "transfer-encoding" in headers:
        return True
    declared = headers.get("content-length", "")
    return scope.get("method") in BODY_METHODS and declared not in ("", "0")


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return f"address:{client[0] if client else 'unknown'}"


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def install_guard(
    api: object, *, service: str, settings: GuardSettings | None = None,
    session_cookie: str | None = None,
) -> None:
    """Put the request guard in front of a FastAPI app. Every service does this at start-up,
    so reading the auth settings here makes a service without a real key refuse to start."""
    auth_config()
    check_public_key()
    api.add_middleware(  # type: ignore[attr-defined]
        RequestGuard, service=service, settings=settings, session_cookie=session_cookie)
