"""Settings come from the environment, with safe local defaults."""

from __future__ import annotations

import os
import socket
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

SERVICE_PORTS = {"intake": 8001, "triage": 8002, "routing": 8003, "notify": 8004}


def env_str(name: str, default: str) -> str:
    """A string setting; empty means unset."""
    return os.environ.get(name) or default


def env_int(name: str, default: int) -> int:
    """An integer setting; a malformed value fails loudly at start-up, naming the variable."""
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be an integer") from exc


def env_float(name: str, default: float) -> float:
    """A float setting; a malformed value fails loudly at start-up, naming the variable."""
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be a number") from exc


def env_bool(name: str, default: bool) -> bool:
    """A yes/no setting (true/false, 1/0, yes/no, on/off); anything else fails loudly at
    start-up, naming the variable."""
    raw = (os.environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"environment variable {name} must be true or false")


def kafka_bootstrap() -> str:
    """host:port list of the Kafka brokers."""
    return env_str("KAFKA_BOOTSTRAP", "127.0.0.1:9092")


def http_port(service: str) -> int:
    """The service's HTTP port: <SERVICE>_PORT or its default."""
    return env_int(f"{service.upper()}_PORT", SERVICE_PORTS[service])


def data_dir(service: str) -> Path:
    """Where a service keeps local state (faust table caches); state itself lives in Kafka."""
    root = Path(env_str("SPINE_DATA_DIR", str(REPO_ROOT / ".run" / "data")))
    path = root / service
    path.mkdir(parents=True, exist_ok=True)
    return path


def advertised_url(port: int) -> str:
    """How the other workers of this service reach this one's HTTP API (faust canonical_url).

    ADVERTISED_HOST (k8s: the pod IP); else the bind address if it is a specific one; else the
    host name (compose: the container's host name is an alias on the service network).
    """
    host = env_str("ADVERTISED_HOST", "")
    if not host:
        bind = env_str("HTTP_HOST", "127.0.0.1")
        host = bind if bind not in ("0.0.0.0", "::") else socket.gethostname()
    return f"http://{host}:{port}"
