"""Write every wire contract as JSON Schema under schemas/json/ (run: python -m schemas.export)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from schemas.directory import Specialist
from schemas.referral import Referral
from schemas.registry import TOPIC_EVENTS, all_event_models

OUT_DIR = Path(__file__).parent / "json"


def rendered() -> dict[str, str]:
    """File name -> JSON Schema text, for every event plus the referral and directory contracts."""
    models: list[type[BaseModel]] = [*all_event_models(), Referral, Specialist]
    files = {
        f"{m.__name__}.json": json.dumps(m.model_json_schema(), indent=2, sort_keys=True) + "\n"
        for m in models
    }
    index = {topic: [m.__name__ for m in ms] for topic, ms in TOPIC_EVENTS.items()}
    files["topics.json"] = json.dumps(index, indent=2, sort_keys=True) + "\n"
    return files


def stale_files() -> list[str]:
    """Names whose file under schemas/json/ differs from the models (missing, changed or extra)."""
    files = rendered()
    on_disk = {p.name: p.read_text() for p in OUT_DIR.glob("*.json")} if OUT_DIR.exists() else {}
    changed = [n for n, text in files.items() if on_disk.get(n) != text]
    extra = [n for n in on_disk if n not in files]
    return sorted(changed + extra)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if "--check" in args:
        stale = stale_files()
        if stale:
            print("stale JSON Schemas (run python -m schemas.export): " + ", ".join(stale))
            return 1
        print("JSON Schemas are current")
        return 0
    OUT_DIR.mkdir(exist_ok=True)
    files = rendered()
    for old in OUT_DIR.glob("*.json"):
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        (OUT_DIR / name).write_text(text)
    print(f"wrote {len(files)} schemas to {OUT_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
