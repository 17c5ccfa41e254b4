"""Patient text never reaches logs: PyRuSH logs every token at DEBUG through loguru."""

from __future__ import annotations

import io
import logging

from loguru import logger

from tests.unit.triage.builders import triage

PLANTED = "Zebedee-Quaglino wet herself twice today"


def test_reading_free_text_logs_nothing_of_it() -> None:
    sink = io.StringIO()
    handler_id = logger.add(sink, level="TRACE")
    std = io.StringIO()
    std_handler = logging.StreamHandler(std)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(std_handler)
    root.setLevel(logging.DEBUG)
    try:
        result = triage(clinical_question=PLANTED)
    finally:
        logger.remove(handler_id)
        root.removeHandler(std_handler)
        root.setLevel(old_level)
    assert result.urgency == "emergency"  # the text was read
    assert "Zebedee" not in sink.getvalue() and "Quaglino" not in sink.getvalue()
    assert "Zebedee" not in std.getvalue()
