"""JSON-lines logging. Log case ids and event types; never names, birth dates or free text."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from services.common.settings import env_str

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        # Structured fields passed with extra={...}: callers pass ids only.
        line.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
        if record.exc_info and record.exc_info[0] is not None:
            line["exc_type"] = record.exc_info[0].__name__
        return json.dumps(line, default=str)


def levels(level: str) -> dict[str, str]:
    """Logger name -> level: our own loggers at `level`, every other library at WARNING.

    Libraries log per call at INFO: httpx one line per webhook sent, with its URL; PyFastNER,
    under triage's sentence splitter, one line per wildcard rule it tries, about 300 lines per
    referral letter (most of triage's log and a share of its CPU). The root logger stays at
    WARNING so those never reach the handler; FAUST_LOG_LEVEL opens faust's own for debugging.
    """
    own = {name: level for name in ("spine", "services", "uvicorn")}
    return {"": "WARNING", **own, "faust": env_str("FAUST_LOG_LEVEL", "WARNING")}


def configure(level: str = "INFO") -> None:
    """Route the root logger to stderr as JSON lines (idempotent)."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.handlers[:] = [handler]
    for name, value in levels(level).items():
        logging.getLogger(name or None).setLevel(value)


def get_logger(service: str) -> logging.Logger:
    """The service's logger."""
    return logging.getLogger(f"spine.{service}")
