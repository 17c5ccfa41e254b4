"""Which answer a FHIR client asked for: its `Accept` header, or FHIR's `_format` parameter,
which overrides it (for clients that cannot set headers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from services.intake.fhir.outcome import FHIR_JSON
from services.intake.fhir.resources import validated

# `_format` values that mean JSON in FHIR R4 (http.html#mime); a FHIR parameter, so a FHIR answer.
JSON_FORMATS = frozenset({"json", "application/json", FHIR_JSON})


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


def stored_outcome() -> dict[str, Any]:
    """What a write answers when the Task view has not read the status topics to their end:
    the Task could show an old status, and its read (Location) is 503 until then."""
    return validated({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "informational",
                   "diagnostics": "stored; the Task (Location) is readable once the status "
                                  "view has loaded"}],
    })
