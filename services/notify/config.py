"""Notify's settings: the SLA/escalation policy and retry policy from a file and the environment.

Precedence: defaults in code < NOTIFY_CONFIG_FILE (YAML or JSON with the NotifyPolicy fields and
an optional `retry` section) < individual environment variables (documented in docs/notify.md).
The acceptance and turnaround budgets are the shared SLA policy (services.common.sla_policy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.common.deployment_secrets import dev_path, required_secret
from services.common.settings import REPO_ROOT, env_float, env_int, env_str, http_port
from services.common.sla_policy import load_sla_policy, mapping_file, parse_duration
from services.notify.delivery.retry import RetryPolicy
from services.notify.domain.policy import NotifyPolicy

__all__ = ["load_policy", "load_retry", "load_settings", "parse_duration"]



def _file_config() -> dict[str, Any]:
    return mapping_file("NOTIFY_CONFIG_FILE")


def load_policy(file_config: dict[str, Any] | None = None) -> NotifyPolicy:
    """The SLA and escalation policy in force."""
    raw = dict(file_config if file_config is not None else _file_config())
    raw.pop("retry", None)
    policy = NotifyPolicy.model_validate(raw)
    updates: dict[str, Any] = {"sla": load_sla_policy()}
    if env_str("NOTIFY_WARN_FRACTIONS", ""):
        fractions = env_str("NOTIFY_WARN_FRACTIONS", "").split(",")
        updates["warn_fractions"] = tuple(float(f) for f in fractions if f.strip())
    return NotifyPolicy.model_validate({**dict(policy), **updates})


def load_retry(file_config: dict[str, Any] | None = None) -> RetryPolicy:
    """The webhook retry policy in force."""
    raw = (file_config if file_config is not None else _file_config()).get("retry") or {}
    base = RetryPolicy.model_validate(raw)
    return RetryPolicy(
        base_seconds=env_float("NOTIFY_RETRY_BASE_SECONDS", base.base_seconds),
        cap_seconds=env_float("NOTIFY_RETRY_CAP_SECONDS", base.cap_seconds),
        max_attempts=env_int("NOTIFY_RETRY_MAX_ATTEMPTS", base.max_attempts),
        max_total_seconds=env_float("NOTIFY_RETRY_MAX_TOTAL_SECONDS", base.max_total_seconds),
        timeout_seconds=env_float("NOTIFY_WEBHOOK_TIMEOUT_SECONDS", base.timeout_seconds),
    )


@dataclass(frozen=True)
class NotifySettings:
    """Everything the wiring needs, read once at start-up."""

    policy: NotifyPolicy
    retry: RetryPolicy
    tick_seconds: float  # how often the timer looks for due clocks
    scan_seconds: float  # how often the whole table is rescanned (index, outbox, gauges)
    subscribers_file: Path
    master_secret: str
    delivery_concurrency: int
    port: int
    # Signs and checks relays between notify's workers (services/common/peer_signature.py).
    peer_secret: str = field(repr=False)
    board_max_cases: int = 50_000  # other workers' case rows each worker keeps for its board
    # Live dashboard streams held open at once (dashboard/stream_slots.py): each costs a task,
    # a queue and a socket for as long as its client stays.
    dashboard_streams_per_principal: int = 4
    dashboard_streams_total: int = 256
    # How long, in all, the agents hold events that name a team lead from the specialist
    # directory for its first load (directory.DirectoryWait); then they apply them without it.
    directory_wait_seconds: float = 10.0


def load_settings() -> NotifySettings:
    """Settings from NOTIFY_CONFIG_FILE and the environment."""
    file_config = _file_config()
    return NotifySettings(
        policy=load_policy(file_config),
        retry=load_retry(file_config),
        tick_seconds=env_float("NOTIFY_TICK_SECONDS", 5.0),
        scan_seconds=env_float("NOTIFY_SCAN_SECONDS", 60.0),
        subscribers_file=Path(env_str(
            "NOTIFY_SUBSCRIBERS_FILE", str(REPO_ROOT / "deploy" / "seed" / "subscribers.json")
        )),
        # Never a constant: generated (0600) in development mode, else required (F4).
        master_secret=required_secret("NOTIFY_WEBHOOK_MASTER_SECRET",
                                      dev_path=dev_path("dev-notify-master-secret")),
        delivery_concurrency=env_int("NOTIFY_DELIVERY_CONCURRENCY", 16),
        port=http_port("notify"),
        # The same on every worker: generated (0600) in development mode, else required.
        peer_secret=required_secret("SPINE_PEER_SECRET", dev_path=dev_path("dev-peer-secret")),
        board_max_cases=env_int("NOTIFY_BOARD_MAX_CASES", 50_000),
        dashboard_streams_per_principal=env_int("NOTIFY_DASHBOARD_STREAMS_PER_PRINCIPAL", 4),
        dashboard_streams_total=env_int("NOTIFY_DASHBOARD_STREAMS_TOTAL", 256),
        directory_wait_seconds=env_float("NOTIFY_DIRECTORY_WAIT_SECONDS", 10.0),
    )
