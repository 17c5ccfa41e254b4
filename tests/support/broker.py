"""A real single-node Kafka broker for the test session, started by the project's own script."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from scripts.localsystem import free_port
from services.common.settings import REPO_ROOT
from services.common.topics_admin import ensure_topics


def kafka_local() -> ModuleType:
    """scripts/kafka_local.py, imported by path (it is a stdlib-only script)."""
    path = REPO_ROOT / "scripts" / "kafka_local.py"
    spec = importlib.util.spec_from_file_location("kafka_local", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["kafka_local"] = module
    spec.loader.exec_module(module)
    return module


class LocalBroker:
    """Start/stop one broker on free ports in `data_dir`; `bootstrap` is host:port."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.controller_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self._script = kafka_local()

    def start(self) -> LocalBroker:
        self._script.start(
            port=self.port, controller_port=self.controller_port, data_dir=self.data_dir
        )
        asyncio.run(ensure_topics(self.bootstrap))
        return self

    def stop(self) -> None:
        self._script.stop(data_dir=self.data_dir)


def external_bootstrap() -> str | None:
    """A broker the developer already runs (KAFKA_TEST_BOOTSTRAP), to skip start-up in a loop."""
    return os.environ.get("KAFKA_TEST_BOOTSTRAP") or None
