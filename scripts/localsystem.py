"""The four services as separate OS processes, as they run in production (demo and tests)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from scripts import kafka_local
from services.common.settings import REPO_ROOT
from services.common.topics_admin import ensure_topics

SERVICES = ("intake", "triage", "routing", "notify")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalBroker:
    """One real Kafka broker on free ports in `data_dir`, with every topic created."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.controller_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> LocalBroker:
        kafka_local.start(
            port=self.port, controller_port=self.controller_port, data_dir=self.data_dir,
            timeout=timeout,
        )
        asyncio.run(ensure_topics(self.bootstrap))
        return self

    def stop(self) -> None:
        kafka_local.stop(data_dir=self.data_dir)


class ServiceProcess:
    """`python -m services.<name>` with its own port and log file."""

    def __init__(self, name: str, env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.env = dict(env)
        self.port = int(self.env[f"{name.upper()}_PORT"])
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"],
            cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def wait_healthy(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(f"{self.name} exited with {code}:\n{self.tail()}")
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{self.name} not healthy after {timeout}s:\n{self.tail()}")

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def service_env(
    *, bootstrap: str, data_dir: Path, prefix: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Environment shared by the four processes of one system under test."""
    env = dict(os.environ)
    env.setdefault("SPINE_ENV", "development")  # the demo and benches use generated secrets
    # Every worker of the system signs and checks relays with one secret, given here rather
    # than generated into .run/ by whichever worker starts first.
    env.setdefault("SPINE_PEER_SECRET", "local-peer-secret-" + os.urandom(16).hex())
    env.update(
        KAFKA_BOOTSTRAP=bootstrap,
        SPINE_DATA_DIR=str(data_dir),
        FAUST_APP_PREFIX=prefix,
        PYTHONUNBUFFERED="1",
        **{f"{name.upper()}_PORT": str(free_port()) for name in SERVICES},
    )
    env.update(extra or {})
    return env


class RunningSystem:
    """All four services started against one broker; stop() ends them all."""

    def __init__(self, env: Mapping[str, str], log_dir: Path, names: tuple[str, ...] = SERVICES):
        self.services = {name: ServiceProcess(name, env, log_dir) for name in names}

    def start(self, timeout: float = 120.0) -> RunningSystem:
        for service in self.services.values():
            service.start()
        try:
            for service in self.services.values():
                service.wait_healthy(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.services[name]

    def logs(self) -> dict[str, str]:
        return {name: s.log_text() for name, s in self.services.items()}
