"""Publish a directory file to the compacted directory topic.

    python -m services.routing.seed [FILE] [--bootstrap HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from aiokafka import AIOKafkaProducer
from pydantic import TypeAdapter, ValidationError

from schemas.directory import Specialist
from schemas.topics import SPECIALIST_DIRECTORY
from services.common.errors import describe_validation_error
from services.common.kafka_wait import acknowledged
from services.common.settings import REPO_ROOT, kafka_bootstrap
from services.common.topics_admin import ensure_topics
from services.routing.domain.directory import weekday_problems

DEFAULT_FILE = REPO_ROOT / "deploy" / "seed" / "specialists.json"


def load_directory(path: Path) -> list[Specialist]:
    """Parse and validate a JSON list of specialists; raises ValidationError naming fields."""
    return TypeAdapter(list[Specialist]).validate_python(json.loads(path.read_text()))


async def publish(specialists: list[Specialist], bootstrap: str) -> None:
    """Send each entry keyed by specialist id and wait for every acknowledgement."""
    await ensure_topics(bootstrap)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for spec in specialists:
            await acknowledged(producer.send_and_wait(
                SPECIALIST_DIRECTORY, key=spec.specialist_id.encode(),
                value=spec.model_dump_json().encode()), timeout=30.0)
    finally:
        await producer.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--bootstrap", default=None, help="default: KAFKA_BOOTSTRAP")
    args = parser.parse_args(argv)
    try:
        specialists = load_directory(args.file)
    except ValidationError as exc:
        print(f"invalid directory file: {describe_validation_error(exc)}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as exc:  # a traceback named neither the problem nor the place
        print(f"invalid directory file: not JSON ({exc.msg}, line {exc.lineno} column "
              f"{exc.colno})", file=sys.stderr)
        return 2
    except (OSError, UnicodeDecodeError) as exc:
        print(f"cannot read directory file {args.file}: {type(exc).__name__}", file=sys.stderr)
        return 2
    problems = [p for n, spec in enumerate(specialists) for p in weekday_problems(spec, f"{n}.")]
    if problems:  # the API refuses these too (422); each would stall routing's decisions
        print("invalid directory file: " + "; ".join(f"{p['path']}: {p['message']}"
                                                      for p in problems), file=sys.stderr)
        return 2
    bootstrap = args.bootstrap or kafka_bootstrap()
    asyncio.run(publish(specialists, bootstrap))
    print(f"published {len(specialists)} specialists to {SPECIALIST_DIRECTORY} on {bootstrap}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
