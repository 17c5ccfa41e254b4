"""Several workers of one service in one consumer group, each with its own port and log dir."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from scripts.localsystem import ServiceProcess, free_port


@contextmanager
def worker_group(service: str, env: Mapping[str, str], log_root: Path, *, count: int = 2,
                 timeout: float = 120) -> Iterator[list[ServiceProcess]]:
    """Started together (as the chaos run and k8s do), healthy before use, stopped after."""
    started: list[ServiceProcess] = []
    try:
        for index in range(count):
            logs = log_root / f"{service}-{index + 1}"
            logs.mkdir(parents=True)
            port = {f"{service.upper()}_PORT": str(free_port())}
            started.append(ServiceProcess(service, {**env, **port}, logs).start())
        for worker in started:
            worker.wait_healthy(timeout)
        yield started
    finally:
        for worker in started:
            worker.stop()
