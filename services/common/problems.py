"""RFC 9457 problem+json responses, with the path of each invalid field and no input values."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_TYPE_BASE = "https://spine-router.example/problems/"
MEDIA_TYPE = "application/problem+json"


class ProblemError(Exception):
    """Raise from routes or dependencies to answer with a problem+json body."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        kind: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(title)
        self.status, self.title, self.detail = status, title, detail
        self.kind = kind or title.lower().replace(" ", "-")
        self.errors, self.headers, self.extra = errors, headers, extra or {}


def problem(
    status: int, title: str, detail: str = "", *, instance: str = "", kind: str | None = None,
    errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (kind or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
        "detail": detail or title,
        "instance": instance,
    }
    if errors:
        body["errors"] = errors
    body.update(extra or {})
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    # FastAPI prefixes the location ("body", "query"...); keep it out of the field path.
    parts = list(loc[1:]) if loc and loc[0] in {"body", "query", "path", "header"} else list(loc)
    return ".".join(str(p) for p in parts) or "(body)"


_TITLES = {
    400: "Bad request", 404: "Not found", 405: "Method not allowed", 406: "Not acceptable",
    413: "Payload too large", 415: "Unsupported media type", 429: "Too many requests",
}


def install_problem_handlers(api: FastAPI) -> None:
    """Answer every error of `api` as problem+json."""

    @api.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem(
            exc.status, exc.title, exc.detail, instance=request.url.path, kind=exc.kind,
            errors=exc.errors, headers=exc.headers, extra=exc.extra,
        )

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"path": _field_path(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
        return problem(
            422, "Invalid request", f"{len(errors)} invalid field(s)",
            instance=request.url.path, kind="validation", errors=errors,
        )

    @api.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = _TITLES.get(exc.status_code, "HTTP error")
        return problem(
            exc.status_code, title, str(exc.detail), instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )
