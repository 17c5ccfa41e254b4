"""Print the markdown table of docs/fhir-examples.md: each FHIR file in a directory, run through
intake's parser and mapper, mapped or rejected with the reason.

    .venv/bin/python scripts/fhir_examples_table.py DIRECTORY
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from services.intake.fhir.bundle import FhirRejected, load_bundle
from services.intake.fhir.mapping import map_bundle

NOW = datetime(2026, 3, 2, tzinfo=UTC)  # fixed, so the table does not change from day to day


def outcome(path: Path) -> tuple[str, str]:
    """(result, reason) for one file."""
    try:
        mapped = map_bundle(load_bundle(path.read_bytes()), now=NOW)
    except FhirRejected as refused:
        fields = "; ".join(
            f"{e.get('field', e['path'])}: {e['message']}" for e in (refused.errors or [])[:4]
        )
        return f"rejected {refused.status}", refused.detail + (f" ({fields})" if fields else "")
    if mapped.action == "cancel":
        return "cancellation", f"cancels referral {mapped.referral_id} (404 if no such case)"
    return f"mapped ({mapped.action})", f"{len(mapped.unmapped)} unmapped item(s) reported"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    files = sorted(p for p in args.directory.iterdir() if p.suffix in {".json", ".ndjson"})
    print("| File | Result | Reason |")
    print("|---|---|---|")
    for path in files:
        result, reason = outcome(path)
        print(f"| `{path.name}` | {result} | {reason.replace('|', '/')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
