"""Checks of docker-compose.yml and the Dockerfile; each returns the problems it finds."""

from __future__ import annotations

import re
from typing import Any

CONTROLLER_ROLES = {"broker", "controller"}
ONE_BROKER_SETTINGS = (  # internal topics that must fit on a single broker
    "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
    "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR",
    "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR",
)


def service_env(service: dict[str, Any]) -> dict[str, str]:
    """A compose service's environment as a dict (either of compose's two spellings)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.partition("=")[::2] for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def parse_listeners(value: str) -> dict[str, tuple[str, int]]:
    """'NAME://host:port,...' -> {NAME: (host, port)}; an empty host means all interfaces."""
    listeners = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, _, address = item.partition("://")
        host, _, port = address.rpartition(":")
        listeners[name] = (host, int(port))
    return listeners


def app_service_problems(compose: dict[str, Any], ports: dict[str, int]) -> list[str]:
    """Each service of SERVICE_PORTS is built from the Dockerfile and runs with its port."""
    problems = []
    services = compose.get("services", {})
    for name, port in ports.items():
        svc = services.get(name)
        if svc is None:
            problems.append(f"compose has no service {name!r}")
            continue
        if svc.get("command") != ["python", "-m", f"services.{name}"]:
            problems.append(f"{name}: command is {svc.get('command')!r}")
        if (svc.get("build") or {}).get("dockerfile", "Dockerfile") != "Dockerfile":
            problems.append(f"{name}: not built from ./Dockerfile")
        env_port = service_env(svc).get(f"{name.upper()}_PORT")
        if env_port != str(port):
            problems.append(f"{name}: {name.upper()}_PORT is {env_port!r}, the code says {port}")
        problems += _scaling_problems(name, svc, port)
        health = " ".join(str(t) for t in (svc.get("healthcheck") or {}).get("test", []))
        if str(port) not in health.split() and f":{port}/health" not in health:
            problems.append(f"{name}: healthcheck does not probe port {port}: {health!r}")
        depends_on = svc.get("depends_on") or {}
        conditions = {k: (v or {}).get("condition") for k, v in depends_on.items()}
        if conditions.get("kafka") != "service_healthy":
            problems.append(f"{name}: does not wait for kafka to be healthy")
        if conditions.get("topics") != "service_completed_successfully":
            problems.append(f"{name}: does not wait for the topics job to complete")
    return problems


MIN_REPLICA_PORTS = 4  # `--scale <service>=4` must find a host port for every replica


def _host_range(published: str, port: int) -> range | None:
    """The host ports of a 'first-last:port' (or 'host:port') mapping onto container `port`."""
    match = re.fullmatch(r"(?:[\d.]+:)?(\d+)(?:-(\d+))?:(\d+)", published)
    if match is None or int(match[3]) != port:
        return None
    first = int(match[1])
    return range(first, int(match[2] or first) + 1)


def _scaling_problems(name: str, svc: dict[str, Any], port: int) -> list[str]:
    """Replicas can be scaled: no fixed container name, a block of host ports for the port."""
    problems = []
    if "container_name" in svc:
        problems.append(f"{name}: container_name blocks --scale")
    ranges = [r for p in svc.get("ports", []) if (r := _host_range(str(p), port)) is not None]
    if not ranges:
        problems.append(f"{name}: container port {port} not published")
    elif len(ranges[0]) < MIN_REPLICA_PORTS:
        problems.append(f"{name}: {len(ranges[0])} host port(s) for {port}: replicas would clash")
    return problems


def host_port_overlaps(compose: dict[str, Any], ports: dict[str, int]) -> list[str]:
    """Two services whose host port blocks overlap would take each other's ports when scaled."""
    blocks = {
        name: set(r) for name, port in ports.items()
        for p in (compose.get("services", {}).get(name) or {}).get("ports", [])
        if (r := _host_range(str(p), port)) is not None
    }
    names = sorted(blocks)
    return [f"{a} and {b} share host ports" for i, a in enumerate(names) for b in names[i + 1:]
            if blocks[a] & blocks[b]]


def kafka_problems(compose: dict[str, Any]) -> list[str]:
    """The broker is single-node KRaft, explicit topics only, replication factor 1."""
    kafka = compose.get("services", {}).get("kafka")
    if kafka is None:
        return ["compose has no kafka service"]
    env = service_env(kafka)
    problems = []
    if set(env.get("KAFKA_PROCESS_ROLES", "").split(",")) != CONTROLLER_ROLES:
        problems.append(f"KAFKA_PROCESS_ROLES is {env.get('KAFKA_PROCESS_ROLES')!r}")
    listeners = parse_listeners(env.get("KAFKA_LISTENERS", ""))
    controller_names = env.get("KAFKA_CONTROLLER_LISTENER_NAMES", "").split(",")
    protocol_map = dict(
        p.split(":", 1) for p in env.get("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "").split(",") if p
    )
    for listener in listeners:
        if listener not in protocol_map:
            problems.append(f"listener {listener} missing from the security protocol map")
    voters = [v.strip() for v in env.get("KAFKA_CONTROLLER_QUORUM_VOTERS", "").split(",") if v]
    controller_ports = {listeners[n][1] for n in controller_names if n in listeners}
    host_names = {kafka.get("hostname"), "kafka"} - {None}
    for voter in voters or ["(none)"]:
        node, _, address = voter.partition("@")
        host, _, port = address.rpartition(":")
        if node != str(env.get("KAFKA_NODE_ID")):
            problems.append(f"quorum voter {voter} is not KAFKA_NODE_ID {env.get('KAFKA_NODE_ID')}")
        if host not in host_names or not port.isdigit() or int(port) not in controller_ports:
            problems.append(f"quorum voter {voter} is not this node's controller listener")
    if env.get("KAFKA_INTER_BROKER_LISTENER_NAME") not in listeners:
        problems.append("KAFKA_INTER_BROKER_LISTENER_NAME is not one of KAFKA_LISTENERS")
    if not env.get("CLUSTER_ID"):
        problems.append("CLUSTER_ID is not set (the apache/kafka image needs it for KRaft)")
    if env.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "").lower() != "false":
        problems.append("KAFKA_AUTO_CREATE_TOPICS_ENABLE must be false")
    for key in ONE_BROKER_SETTINGS:
        if key not in env:
            problems.append(f"{key} is not set")
    for key, value in env.items():
        if key.endswith(("REPLICATION_FACTOR", "MIN_ISR")) and value != "1":
            problems.append(f"{key} is {value!r}; a single broker needs 1")
    if not (kafka.get("healthcheck") or {}).get("test"):
        problems.append("kafka has no healthcheck")
    return problems


def bootstrap_problems(compose: dict[str, Any]) -> list[str]:
    """Every KAFKA_BOOTSTRAP is the kafka service's advertised in-network listener."""
    services = compose.get("services", {})
    kafka_env = service_env(services.get("kafka", {}))
    advertised = parse_listeners(kafka_env.get("KAFKA_ADVERTISED_LISTENERS", ""))
    bound = parse_listeners(kafka_env.get("KAFKA_LISTENERS", ""))
    bound_ports = {port for _, port in bound.values()}
    in_network = {
        f"{host}:{port}" for host, port in advertised.values()
        if host in {"kafka", services.get("kafka", {}).get("hostname")} and port in bound_ports
    }
    problems = []
    for name, svc in services.items():
        bootstrap = service_env(svc).get("KAFKA_BOOTSTRAP")
        if bootstrap is None or name == "kafka":
            continue
        for address in bootstrap.split(","):
            if address not in in_network:
                problems.append(
                    f"{name}: KAFKA_BOOTSTRAP {address} is not an advertised in-network listener "
                    f"({sorted(in_network)})"
                )
    return problems


def topics_job_problems(compose: dict[str, Any], admin_module: str) -> list[str]:
    """The one-shot topics service runs the topics admin module against the broker."""
    topics = compose.get("services", {}).get("topics")
    if topics is None:
        return ["compose has no topics service"]
    problems = []
    if topics.get("command") != ["python", "-m", admin_module]:
        problems.append(f"topics: command is {topics.get('command')!r}, not -m {admin_module}")
    if "KAFKA_BOOTSTRAP" not in service_env(topics):
        problems.append("topics: KAFKA_BOOTSTRAP not set")
    if ((topics.get("depends_on") or {}).get("kafka") or {}).get("condition") != "service_healthy":
        problems.append("topics: does not wait for kafka to be healthy")
    return problems


def kafka_version_problems(compose: dict[str, Any], local_version: str) -> list[str]:
    """The compose broker runs the same Kafka major.minor as scripts/kafka_local.py."""
    image = str(compose.get("services", {}).get("kafka", {}).get("image", ""))
    match = re.fullmatch(r"apache/kafka:(\d+)\.(\d+)\.\d+", image)
    if match is None:
        return [f"kafka image {image!r} is not a pinned apache/kafka:X.Y.Z"]
    wanted = ".".join(local_version.split(".")[:2])
    if f"{match[1]}.{match[2]}" != wanted:
        return [f"kafka image {image} is not Kafka {wanted} (scripts/kafka_local.py)"]
    return []


def dockerfile_problems(instructions: list[tuple[str, str]], text: str) -> list[str]:
    """python:3.11-slim, locked dependencies then the project, non-root, health-checked."""
    problems = []
    keywords = [k for k, _ in instructions]
    froms = [args for k, args in instructions if k == "FROM"]
    if not froms or not froms[-1].startswith("python:3.11-slim"):
        problems.append(f"final stage is not python:3.11-slim: {froms}")
    runs = " ".join(args for k, args in instructions if k == "RUN")
    lock_at, project_at = runs.find("requirements.lock"), runs.find("pip install --no-deps .")
    if lock_at < 0 or project_at < 0 or lock_at > project_at:
        problems.append("must pip install requirements.lock, then pip install --no-deps .")
    users = [args for k, args in instructions if k == "USER"]
    if not users or users[-1].split(":")[0] in {"root", "0"}:
        problems.append(f"the image runs as root (USER {users[-1] if users else 'unset'})")
    envs = " ".join(args for k, args in instructions if k == "ENV").split()
    if "HTTP_HOST=0.0.0.0" not in envs:
        problems.append("ENV HTTP_HOST=0.0.0.0 missing: services would listen on loopback only")
    if "HEALTHCHECK" not in keywords or "/health/ready" not in text or "urllib" not in text:
        problems.append("no HEALTHCHECK probing /health/ready with urllib")
    return problems
