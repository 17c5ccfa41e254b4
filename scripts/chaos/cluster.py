"""The system under chaos: its own broker, N worker processes per service, a webhook inbox that
can be taken down, and a seeded specialist directory."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from schemas.directory import Specialist
from scripts.localsystem import SERVICES, LocalBroker, ServiceProcess, free_port, service_env
from scripts.webhook_inbox import ReceivedCall, WebhookReceiver
from services.routing.seed import publish

REFERRER = "ref-chaos"
ANY_TIME = {"weekdays": [0, 1, 2, 3, 4, 5, 6], "start": "00:00:00", "end": "23:59:59"}
ALWAYS = {"starts_at": "2000-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}
# Roles a chaos referral needs (emergency on-call; facet pain: pain medicine, physiotherapy).
ROLES = ("emergency_on_call", "pain_medicine", "physiotherapy")


class Inbox:
    """The webhook receiver on a fixed port; `down()` closes the port, `up()` reopens it.
    Calls are kept across both."""

    def __init__(self) -> None:
        self.port = free_port()
        self.calls: list[ReceivedCall] = []
        self._receiver: WebhookReceiver | None = None
        self.up()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        if self._receiver is None:
            self._receiver = WebhookReceiver(port=self.port, calls=self.calls)

    def down(self) -> None:
        if self._receiver is not None:
            self._receiver.close()
            self._receiver = None


@dataclass
class Worker:
    """One process of a service; killed with SIGKILL and restarted under the same identity."""

    service: str
    index: int
    process: ServiceProcess
    alive: bool = False

    @property
    def name(self) -> str:
        return f"{self.service}-{self.index}"

    def start(self) -> None:
        self.process.start()
        self.alive = True

    def kill(self) -> None:
        proc = self.process.proc
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        self.alive = False

    def ready(self) -> bool:
        try:
            return httpx.get(self.process.url + "/health/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


@dataclass
class Cluster:
    """Everything one scenario runs; `close()` stops every process it started."""

    workdir: Path
    workers_per_service: int = 1
    capacity: int = 40  # max open cases per specialist (small enough to be a real limit)
    specialists_per_role: int = 4
    static_membership: bool = True  # False measures plain dynamic group membership
    broker: LocalBroker = field(init=False)
    inbox: Inbox = field(init=False)
    workers: list[Worker] = field(default_factory=list)
    specialists: list[Specialist] = field(default_factory=list)

    def start(self, timeout: float = 180.0) -> Cluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.broker = LocalBroker(self.workdir / "kafka").start()
        self.inbox = Inbox()
        self.specialists = self._seed_directory()
        subscribers = self.workdir / "subscribers.json"
        subscribers.write_text(json.dumps({"referrers": [
            {"id": REFERRER, "webhook_url": f"{self.inbox.base_url}/hooks/{REFERRER}"}]}))
        env = service_env(
            bootstrap=self.broker.bootstrap, data_dir=self.workdir / "data",
            prefix=f"chaos{uuid.uuid4().hex[:6]}-",
            extra={"NOTIFY_SUBSCRIBERS_FILE": str(subscribers),
                   "NOTIFY_WEBHOOK_MASTER_SECRET": "chaos-only-" + uuid.uuid4().hex,
                   "INTAKE_RATE_LIMIT_BURST": "100000",
                   "INTAKE_RATE_LIMIT_PER_SECOND": "1000", "HTTP_RATE_LIMIT_BURST": "100000",
                   "HTTP_RATE_LIMIT_PER_SECOND": "1000"},
        )
        for service in SERVICES:
            for index in range(1, self.workers_per_service + 1):
                worker_env = dict(env)
                worker_env[f"{service.upper()}_PORT"] = str(free_port())
                if self.static_membership:
                    worker_env["FAUST_GROUP_INSTANCE_ID"] = f"{service}-{index}"
                worker_env["SPINE_DATA_DIR"] = str(self.workdir / "data" / f"{service}-{index}")
                process = ServiceProcess(service, worker_env, self.workdir)
                process.log_path = self.workdir / f"{service}-{index}.log"
                self.workers.append(Worker(service, index, process))
        for worker in self.workers:
            worker.start()
        self.wait_ready(self.workers, timeout)
        return self

    def _seed_directory(self) -> list[Specialist]:
        people = []
        for role in ROLES:
            for n in range(1, self.specialists_per_role + 1):
                sid = f"{role.replace('_', '-')}-{n}"
                people.append(Specialist.model_validate({
                    "specialist_id": sid, "name": f"Dr {sid}", "role": role,
                    "licences": [{"jurisdiction": "GB-ENG", "expires_on": "2099-01-01"}],
                    "working_hours": ANY_TIME, "webhook_url": f"{self.inbox.base_url}/hooks/{sid}",
                    "capacity": {"max_open_cases": self.capacity,
                                 "max_new_per_day": self.capacity},
                    "on_call": [ALWAYS] if role == "emergency_on_call" else [],
                }))
        asyncio.run(publish(people, self.broker.bootstrap))
        return people

    def of(self, service: str) -> list[Worker]:
        return [w for w in self.workers if w.service == service]

    def intake_urls(self) -> list[str]:
        return [w.process.url for w in self.of("intake") if w.alive]

    def wait_ready(self, workers: list[Worker], timeout: float) -> float:
        """Seconds until every worker answers /health/ready with 200."""
        started = time.monotonic()
        pending = [w for w in workers if w.alive]
        while pending:
            if time.monotonic() - started > timeout:
                names = ", ".join(w.name for w in pending)
                raise TimeoutError(f"not ready after {timeout:.0f}s: {names}\n"
                                   + "\n".join(w.process.tail(20) for w in pending))
            for worker in pending:
                code = worker.process.proc.poll() if worker.process.proc else None
                if code is not None:
                    raise RuntimeError(f"{worker.name} exited {code}\n{worker.process.tail()}")
            pending = [w for w in pending if not w.ready()]
            time.sleep(0.3)
        return time.monotonic() - started

    def capacities(self) -> dict[str, int]:
        return {s.specialist_id: s.capacity.max_open_cases for s in self.specialists}

    def logs(self) -> dict[str, str]:
        return {w.name: w.process.log_text() for w in self.workers}

    def close(self) -> None:
        for worker in self.workers:
            worker.process.stop()
        if hasattr(self, "inbox"):
            self.inbox.down()
        if hasattr(self, "broker"):
            self.broker.stop()

    def describe(self) -> dict[str, Any]:
        return {"workers": [w.name for w in self.workers], "bootstrap": self.broker.bootstrap}
