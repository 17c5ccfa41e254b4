"""The faults a chaos scenario applies, one after another, while the client keeps posting.

Each fault notes when it struck (wall clock) so recovery is measured afterwards from the record
timestamps on the stages' input and output topics (scripts.chaos.evidence.stage_stall).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from schemas.topics import CASE_TRIAGED, NOTIFICATION_EVENTS, REFERRAL_EVENTS, ROUTING_EVENTS
from scripts.chaos.cluster import Cluster, Worker
from services.common.auth import mint_token

# Which topic shows that a stage works (its own output) and what it works on; both keyed, and
# so partitioned, by case id.
STAGE_OUTPUT = {"triage": CASE_TRIAGED, "routing": ROUTING_EVENTS, "notify": NOTIFICATION_EVENTS}
STAGE_INPUT = {"triage": REFERRAL_EVENTS, "routing": CASE_TRIAGED, "notify": ROUTING_EVENTS}


@dataclass
class Fault:
    name: str
    struck_at: float  # time.time()
    service: str | None = None  # the stage whose recovery is measured
    back_at: float | None = None  # broker restarted / receiver reopened / process restarted
    notes: dict[str, float] = field(default_factory=dict)
    unready: str | None = None  # a worker that did not become ready again afterwards


Log = Callable[[str], None]


def kill_and_restart(cluster: Cluster, worker: Worker, log: Log, restart: bool = True) -> Fault:
    """SIGKILL one worker; restart it at once under the same identity (or leave it dead)."""
    fault = Fault(f"kill -9 {worker.name}" + ("" if restart else " (no restart)"), time.time(),
                  service=worker.service)
    worker.kill()
    log(f"{fault.name}")
    if restart:
        worker.start()
        fault.back_at = time.time()
        fault.notes["restarted process live after"] = _wait_live(worker, 180)
        fault.notes["restarted process ready after"] = cluster.wait_ready([worker], 180)
    return fault


def _wait_live(worker: Worker, timeout: float) -> float:
    """Seconds until the new process serves HTTP: its boot (imports, app start), no Kafka yet."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if httpx.get(worker.process.url + "/health/live", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return time.monotonic() - started


def restart_broker(
    cluster: Cluster, log: Log, down_seconds: float, case_id: str | None = None
) -> Fault:
    """Stop the broker (writes in flight), keep it down a while, start it again. Meanwhile,
    HTTP writes that need Kafka's ack must end in bounded time (503), never hang."""
    fault = Fault("broker restart", time.time())
    cluster.broker.stop()
    log(f"broker stopped; down for {down_seconds:.0f}s")
    fault.notes.update(_writes_while_down(cluster, case_id))
    time.sleep(max(0.0, down_seconds - (time.time() - fault.struck_at)))
    cluster.broker.start(timeout=300)  # a loaded machine can take minutes to boot the JVM
    fault.back_at = time.time()
    log("broker back")
    return fault


def _writes_while_down(cluster: Cluster, case_id: str | None) -> dict[str, float]:
    """Seconds until routing's directory write and notify's escalation ack answered."""
    ops = {"Authorization": "Bearer " + mint_token(subject="ops-chaos", role="ops")}
    spec = cluster.specialists[0]
    writes = {
        "routing PUT /directory answered": (
            "PUT", f"{cluster.of('routing')[0].process.url}/directory/specialists/"
            f"{spec.specialist_id}", spec.model_dump(mode="json")),
        "notify POST /escalations/ack answered": (
            "POST", f"{cluster.of('notify')[0].process.url}/escalations/{case_id}/ack", None),
    }
    answered = {}
    for name, (method, url, body) in writes.items():
        started = time.monotonic()
        try:
            status = httpx.request(method, url, json=body, headers=ops, timeout=60).status_code
        except httpx.HTTPError:
            status = 0
        answered[f"{name} ({status})"] = time.monotonic() - started
    return answered


def receiver_outage(cluster: Cluster, log: Log, down_seconds: float) -> Fault:
    """Close the webhook receiver's port for a while; notify must retry and deliver later."""
    fault = Fault(f"webhook receiver down {down_seconds:.0f}s", time.time())
    cluster.inbox.down()
    log(fault.name)
    time.sleep(down_seconds)
    cluster.inbox.up()
    fault.back_at = time.time()
    return fault


def one_worker_faults(
    cluster: Cluster, log: Log, *, settle: float, broker_down: float, receiver_down: float,
    known_case: Callable[[], str | None] = lambda: None,
) -> list[Fault]:
    """Each service killed once and restarted, the broker restarted, the receiver down."""
    faults = []
    for service in ("intake", "triage", "routing", "notify"):
        faults.append(kill_and_restart(cluster, cluster.of(service)[0], log))
        time.sleep(settle)
    faults.append(restart_broker(cluster, log, broker_down, known_case()))
    try:
        faults[-1].notes["every worker ready again after"] = cluster.wait_ready(
            [w for w in cluster.workers if w.alive], 180)
    except TimeoutError as exc:  # a finding, not a crash: judged with everything else
        log(f"not every worker ready again: {str(exc).splitlines()[0]}")
        faults[-1].unready = str(exc).splitlines()[0]
    time.sleep(settle)
    faults.append(receiver_outage(cluster, log, receiver_down))
    time.sleep(settle)
    return faults


def two_worker_faults(cluster: Cluster, log: Log, *, settle: float) -> list[Fault]:
    """One worker of each service killed and not restarted; the other must take over."""
    faults = []
    for service in ("intake", "triage", "routing", "notify"):
        faults.append(kill_and_restart(cluster, cluster.of(service)[-1], log, restart=False))
        time.sleep(settle)
    return faults
