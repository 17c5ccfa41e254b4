"""Triage one referral from the command line.

    python -m services.triage.cli [FILE|-] [--received YYYY-MM-DD]
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from schemas.referral import Referral
from services.common.errors import describe_validation_error
from services.triage.engine import triage_referral

EXIT_INVALID_INPUT = 2


def _read(source: str, stdin: TextIO) -> str:
    return stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")


def main(
    argv: list[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Print the TriageResult JSON (schema field order) or exit 2 naming each invalid field."""
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    parser = argparse.ArgumentParser(
        prog="python -m services.triage.cli",
        description="Triage one referral JSON (schemas.referral.Referral) and print the result.",
    )
    parser.add_argument("file", nargs="?", default="-", help="referral JSON file, or - for stdin")
    parser.add_argument("--received", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                        help="the day the referral was received: its letters' calendar dates "
                             "count from it (not read without it)")
    args = parser.parse_args(argv)
    try:
        raw = _read(args.file, stdin)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {args.file}: {type(exc).__name__}", file=stderr)
        return EXIT_INVALID_INPUT
    try:
        referral = Referral.model_validate_json(raw)
    except ValidationError as exc:
        # Field paths and messages only: the input may hold patient data.
        print(f"invalid referral: {describe_validation_error(exc)}", file=stderr)
        return EXIT_INVALID_INPUT
    stdout.write(triage_referral(referral, as_of=args.received).model_dump_json(indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
