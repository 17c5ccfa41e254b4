"""Notify's settings: the SLA/escalation policy and retry policy from a file and the environment.

Precedence: defaults in code < NOTIFY_CONFIG_FILE (YAML or JSON with the NotifyPolicy fields and
an optional `retry` section) < individual environment variables (documented in docs/notify.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from services.common.settings import REPO_ROOT, env_float, env_int, env_str, http_port
from services.notify.delivery.retry import RetryPolicy
from services.notify.domain.policy import ClockTargets, NotifyPolicy

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
# DEVELOPMENT ONLY: deployments set NOTIFY_WEBHOOK_MASTER_SECRET from their secret store.
DEV_MASTER_SECRET = "dev-only-notify-master-secret"


def parse_duration(text: str) -> float:
    """Seconds from "90", "90s", "15m", "4h" or "3d"."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 15m, 4h, 3d)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def parse_targets(text: str) -> dict[str, ClockTargets]:
    """"urgent=2h/24h,routine=24h/72h" -> per-urgency acceptance/turnaround targets."""
    targets: dict[str, ClockTargets] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        urgency, _, spec = item.partition("=")
        accept, _, report = spec.partition("/")
        targets[urgency.strip()] = ClockTargets(
            accept_seconds=parse_duration(accept), report_seconds=parse_duration(report)
        )
    return targets


def _file_config() -> dict[str, Any]:
    path = env_str("NOTIFY_CONFIG_FILE", "")
    if not path:
        return {}
    loaded = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(loaded, dict):
        raise ValueError("NOTIFY_CONFIG_FILE must hold a mapping")
    return loaded


def load_policy(file_config: dict[str, Any] | None = None) -> NotifyPolicy:
    """The SLA and escalation policy in force."""
    raw = dict(file_config if file_config is not None else _file_config())
    raw.pop("retry", None)
    policy = NotifyPolicy.model_validate(raw)
    updates: dict[str, Any] = {}
    if env_str("NOTIFY_SLA_TARGETS", ""):
        updates["targets"] = {**policy.targets, **parse_targets(env_str("NOTIFY_SLA_TARGETS", ""))}
    if env_str("NOTIFY_WARN_FRACTIONS", ""):
        fractions = env_str("NOTIFY_WARN_FRACTIONS", "").split(",")
        updates["warn_fractions"] = tuple(float(f) for f in fractions if f.strip())
    if not updates:
        return policy
    return NotifyPolicy.model_validate({**policy.model_dump(), **updates})


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
        master_secret=env_str("NOTIFY_WEBHOOK_MASTER_SECRET", DEV_MASTER_SECRET),
        delivery_concurrency=env_int("NOTIFY_DELIVERY_CONCURRENCY", 16),
        port=http_port("notify"),
    )
