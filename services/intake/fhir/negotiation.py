"""Which answer a FHIR client asked for: its `Accept` header, or FHIR's `_format` parameter,
which overrides it (for clients that cannot set headers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import Header, Query

from services.common.problems import ProblemError
from services.intake.fhir.outcome import FHIR_JSON
from services.intake.fhir.resources import validated

# `_format` values that mean JSON in FHIR R4 (http.html#mime); a FHIR parameter, so a FHIR answer.
JSON_FORMATS = frozenset({"json", "application/json", FHIR_JSON})
# Accept ranges this base can answer (it writes JSON only; `application/json+fhir` is the
# pre-R4 name some clients still send).
SERVED = frozenset({"*/*", "application/*", "application/json", FHIR_JSON,
                    "application/json+fhir"})


def _media_ranges(accept: str) -> Iterator[str]:
    """The media ranges the header accepts (q=0 ones left out), lower case, without parameters."""
    for part in accept.split(","):
        media, *params = (item.strip().lower() for item in part.split(";"))
        refused = any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000")
                      for p in params)
        if media and not refused:
            yield media


def wants_fhir_json(*, accept: str | None, fmt: str | None) -> bool:
    """True when the client asked for a FHIR resource: `_format` json, or
    `application/fhir+json` among the accepted types. Otherwise intake's JSON receipt."""
    if fmt is not None:
        return fmt.strip().lower() in JSON_FORMATS
    return FHIR_JSON in _media_ranges(accept or "")


def serves(*, accept: str | None, fmt: str | None) -> bool:
    """False when the client accepts no JSON (say `application/fhir+xml` only, or `_format=xml`):
    answering JSON anyway would hand it a body it said it cannot read."""
    if fmt is not None:
        return fmt.strip().lower() in JSON_FORMATS
    return not (accept or "").strip() or any(m in SERVED for m in _media_ranges(accept or ""))


async def acceptable(
    accept: str | None = Header(default=None, include_in_schema=False),
    fmt: str | None = Query(default=None, alias="_format", max_length=100,
                            include_in_schema=False),
) -> None:
    """Router dependency of the FHIR base: 406 (an OperationOutcome) for a client that
    accepts no JSON."""
    if not serves(accept=accept, fmt=fmt):
        raise ProblemError(
            406, "Not acceptable", "this FHIR base answers application/fhir+json only "
            "(see [base]/metadata format)", kind="not-acceptable",
        )


def stored_outcome() -> dict[str, Any]:
    """What a write answers when the Task view has not read the status topics to their end:
    the Task could show an old status, and its read (Location) is 503 until then."""
    return validated({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "informational",
                   "diagnostics": "stored; the Task (Location) is readable once the status "
                                  "view has loaded"}],
    })
