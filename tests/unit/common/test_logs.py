"""Service logs: our own loggers at LOG_LEVEL as JSON lines, chatty libraries held at WARNING
(httpx logs every webhook with its URL; PyFastNER ~300 lines per referral letter)."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator

import pytest

from services.common import logs
from services.common.worker import logging_config


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Put the root logger and the touched loggers back as pytest had them."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    named = {n: logging.getLogger(n).level for n in ("spine", "services", "httpx", "faust")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, value in named.items():
        logging.getLogger(name).setLevel(value)


def _emit_all() -> None:
    logging.info('"\\." is not a eligible syntax.')  # PyFastNER logs on the root logger
    logging.getLogger("httpx").info("HTTP Request: POST http://receiver/hooks/x?token=t")
    logging.getLogger("spine.triage").info("case triaged", extra={"case_id": "c-1"})
    logging.getLogger("services.common.safe_offsets").info("Starting...")
    logging.getLogger("aiokafka").warning("Heartbeat failed")


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _assert_policy(lines: list[dict[str, object]]) -> None:
    assert [(line["logger"], line["msg"]) for line in lines] == [
        ("spine.triage", "case triaged"),
        ("services.common.safe_offsets", "Starting..."),
        ("aiokafka", "Heartbeat failed"),
    ]
    assert lines[0]["case_id"] == "c-1"


def test_intake_logging_keeps_our_info_and_drops_library_chatter(
        restored_logging: None, monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    logging.getLogger().handlers[:] = []  # configure() is idempotent on a JSON handler
    logs.configure("INFO")
    _emit_all()
    _assert_policy(_lines(stream))


def test_worker_logging_config_applies_the_same_policy(
        restored_logging: None, monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    logging.config.dictConfig(logging_config("INFO"))
    _emit_all()
    _assert_policy(_lines(stream))


def test_log_level_warning_silences_our_info_too(restored_logging: None) -> None:
    assert logs.levels("WARNING")["spine"] == "WARNING"
    assert logs.levels("DEBUG")["spine"] == "DEBUG"
    assert logs.levels("DEBUG")[""] == "WARNING"  # libraries never follow LOG_LEVEL down
