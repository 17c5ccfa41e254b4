"""Errors on the FHIR endpoints as OperationOutcome (every other endpoint answers problem+json).

Every error of the app is produced once, as problem+json, by the shared handlers, the limits
middleware and intake's own handlers. `FhirErrors` rewrites those answers under the FHIR base
into an R4 OperationOutcome (validated with fhir.resources), keeping the status code and headers
(Retry-After, WWW-Authenticate), so no error path can escape the translation.
"""

from __future__ import annotations

import json
from typing import Any

from fhir.resources.R4B.operationoutcome import OperationOutcome
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FHIR_BASE = "/fhir"
FHIR_JSON = "application/fhir+json"
PROBLEM_JSON = b"application/problem+json"
# IssueType (http://hl7.org/fhir/issue-type) for each HTTP status an endpoint answers.
ISSUE_CODES = {
    400: "structure", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
    406: "not-supported", 409: "conflict", 410: "deleted", 413: "too-costly",
    415: "not-supported", 422: "processing", 429: "throttled", 503: "transient",
}


OUTCOME_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": "OperationOutcome",
             "content": {FHIR_JSON: {"schema": {"type": "object",
                                                "description": "FHIR R4 OperationOutcome"}}}}
    for status in (400, 401, 403, 404, 406, 409, 410, 413, 415, 422, 429, 503)
}


def operation_outcome(
    status: int, title: str, detail: str, errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An OperationOutcome for an error: one issue per field error, else one for the request."""
    code = ISSUE_CODES.get(status, "exception" if status >= 500 else "processing")
    issues: list[dict[str, Any]] = [
        {
            "severity": "error", "code": "invalid" if status in (400, 422) else code,
            "details": {"text": str(error.get("message", title))},
            "diagnostics": title,
            **({"expression": [str(error["path"])]} if error.get("path") else {}),
        }
        for error in errors or []
    ]
    if not issues:
        issues = [{"severity": "error", "code": code, "details": {"text": title},
                   "diagnostics": detail or title}]
    outcome = OperationOutcome.model_validate({"resourceType": "OperationOutcome",
                                               "issue": issues})
    return dict(json.loads(outcome.model_dump_json(exclude_none=True)))


def outcome_from_problem(status: int, body: bytes) -> bytes:
    """The OperationOutcome bytes for a problem+json body."""
    try:
        problem = json.loads(body)
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    errors = problem.get("errors") if isinstance(problem.get("errors"), list) else None
    outcome = operation_outcome(
        status, str(problem.get("title") or "Error"), str(problem.get("detail") or ""), errors
    )
    return json.dumps(outcome).encode()


class FhirErrors:
    """ASGI middleware: problem+json answers under /fhir become OperationOutcome."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == FHIR_BASE or path.startswith(FHIR_BASE + "/")):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                if headers.get(b"content-type", b"").startswith(PROBLEM_JSON):
                    start = message  # hold it until the whole problem body is here
                    return
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = outcome_from_problem(start["status"], b"".join(chunks))
                kept = [(k, v) for k, v in start.get("headers", [])
                        if k not in (b"content-type", b"content-length")]
                await send({**start, "headers": [
                    *kept, (b"content-type", FHIR_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                ]})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, rewrite)
