"""Print the tables of docs/fhir-examples.md: each FHIR file in a directory run through intake's
parser and mapper (mapped or rejected, with the reason), then the same files with the profile's
referral-type and region codes added to their ServiceRequests, to show what else would map.

    .venv/bin/python scripts/fhir_examples_table.py DIRECTORY
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from services.intake.fhir.bundle import FhirRejected, load_bundle
from services.intake.fhir.identity import referral_names
from services.intake.fhir.mapping import map_bundle, referral_request
from services.intake.fhir.profile import REFERRAL_TYPE_SYSTEM, REGION_SYSTEM

NOW = datetime(2026, 3, 2, tzinfo=UTC)  # fixed, so the table does not change from day to day


def outcome(raw: bytes) -> tuple[str, str]:
    """(result, reason) for one payload."""
    try:
        mapped = map_bundle(load_bundle(raw), now=NOW)
    except FhirRejected as refused:
        fields = "; ".join(
            f"{e.get('field', e['path'])}: {e['message']}" for e in (refused.errors or [])[:4]
        )
        return f"rejected {refused.status}", refused.detail + (f" ({fields})" if fields else "")
    if mapped.action == "cancel":
        return "cancellation", f"cancels referral {mapped.referral_id} (404 if no such case)"
    return f"mapped ({mapped.action})", f"{len(mapped.unmapped)} unmapped item(s) reported"


def with_spine_codes(raw: bytes) -> bytes:
    """The payload with post_surgery/lumbar codes on every ServiceRequest (if it is a Bundle)."""
    try:
        data = json.loads(raw)
    except ValueError:
        return raw
    for entry in data.get("entry") or [] if isinstance(data, dict) else []:
        resource = entry.get("resource") or {}
        if resource.get("resourceType") == "ServiceRequest":
            coding = resource.setdefault("code", {}).setdefault("coding", [])
            coding.append({"system": REFERRAL_TYPE_SYSTEM, "code": "post_surgery"})
            resource["bodySite"] = [{"coding": [{"system": REGION_SYSTEM, "code": "lumbar"}]}]
    return json.dumps(data).encode()


def table(files: list[Path], prepare: bool) -> None:
    print("| File | Result | Reason |")
    print("|---|---|---|")
    for path in files:
        raw = path.read_bytes()
        result, reason = outcome(with_spine_codes(raw) if prepare else raw)
        print(f"| `{path.name}` | {result} | {reason.replace('|', '/')} |")


def names_row(raw: bytes) -> str | None:
    """How intake names the referral in this payload (preferred name first), or None."""
    try:
        index = load_bundle(raw)
        names = referral_names(index, referral_request(index))
    except FhirRejected:
        return None
    return "; ".join(
        f"{n.scheme}: {n.system + ' | ' if n.system else ''}{n.value}" for n in names
    )


def identity_table(files: list[Path]) -> None:
    print("| File | Names, preferred first (the first derives the case id) |")
    print("|---|---|")
    for path in files:
        row = names_row(path.read_bytes())
        if row is not None:
            print(f"| `{path.name}` | {row.replace('|', chr(92) + '|')} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    files = sorted(p for p in args.directory.iterdir() if p.suffix in {".json", ".ndjson"})
    print("As published:\n")
    table(files, prepare=False)
    print("\nWith referral-type `post_surgery` and region `lumbar` added to each ServiceRequest:\n")
    table(files, prepare=True)
    print("\nReferral identity (`local` = the ServiceRequest fullUrl within the sender, "
          "MessageHeader.source.endpoint):\n")
    identity_table(files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
