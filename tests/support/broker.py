"""The test session's broker: the project's own local KRaft broker, or one the developer runs."""

from __future__ import annotations

import os

from scripts.localsystem import LocalBroker

__all__ = ["LocalBroker", "external_bootstrap"]


def external_bootstrap() -> str | None:
    """A broker the developer already runs (KAFKA_TEST_BOOTSTRAP), to skip start-up in a loop."""
    return os.environ.get("KAFKA_TEST_BOOTSTRAP") or None
