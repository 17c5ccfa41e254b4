"""Checks of deploy/k8s; each returns the problems it finds."""

from __future__ import annotations

import re
from typing import Any

Manifests = dict[str, list[dict[str, Any]]]  # file name -> YAML documents
KUSTOMIZATION = "kustomization.yaml"
TEMPLATE_SUFFIX = ".template.yaml"
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
# Liveness must not fail when Kafka is away (restarts would not help); readiness must.
PROBE_PATHS = {"startupProbe": "/health/live", "readinessProbe": "/health/ready",
               "livenessProbe": "/health/live"}
MIN_REPLICAS = 2  # every service runs at least two workers (issue 14: scale-out stays correct)
_MI = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}


def by_kind(manifests: Manifests, kind: str) -> dict[str, dict[str, Any]]:
    """Documents of one kind, by metadata.name."""
    return {
        doc["metadata"]["name"]: doc
        for docs in manifests.values() for doc in docs if doc.get("kind") == kind
    }


def mebibytes(quantity: str) -> float:
    """A Kubernetes memory quantity ('128Mi', '1Gi') in MiB."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi)", str(quantity))
    if match is None:
        raise ValueError(f"unsupported memory quantity {quantity!r}")
    return float(match[1]) * _MI[match[2]]


def pod_container(workload: dict[str, Any]) -> dict[str, Any]:
    """The (single) container of a Deployment's or Job's pod template."""
    return workload["spec"]["template"]["spec"]["containers"][0]


def container_env(container: dict[str, Any]) -> dict[str, str]:
    """The container's literal env entries (valueFrom entries count as provided, value '')."""
    return {e["name"]: str(e.get("value", "")) for e in container.get("env", [])}


def _port_number(container: dict[str, Any], port: int | str) -> int | None:
    if isinstance(port, int):
        return port
    named = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    return named.get(port)


def deployment_problems(
    manifests: Manifests, ports: dict[str, int], max_replicas: int
) -> list[str]:
    """A Deployment, Service and PodDisruptionBudget per service, on the code's ports."""
    problems = []
    deployments, services = by_kind(manifests, "Deployment"), by_kind(manifests, "Service")
    budgets = by_kind(manifests, "PodDisruptionBudget")
    for name, port in ports.items():
        deployment = deployments.get(name)
        if deployment is None:
            problems.append(f"k8s has no Deployment {name!r}")
            continue
        container = pod_container(deployment)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        if container.get("command") != ["python", "-m", f"services.{name}"]:
            problems.append(f"{name}: command is {container.get('command')!r}")
        if container_env(container).get(f"{name.upper()}_PORT") != str(port):
            problems.append(f"{name}: {name.upper()}_PORT is not {port}")
        if port not in [p["containerPort"] for p in container.get("ports", [])]:
            problems.append(f"{name}: containerPort {port} not declared")
        for probe_name in PROBES[1:]:
            if probe_name not in container:
                problems.append(f"{name}: no {probe_name}")
        for probe_name in PROBES:
            get = (container.get(probe_name) or {}).get("httpGet")
            if probe_name in container and (
                get is None or get.get("path") != PROBE_PATHS[probe_name]
                or _port_number(container, get.get("port", "")) != port
            ):
                problems.append(f"{name}: {probe_name} does not GET {PROBE_PATHS[probe_name]} "
                                f"on port {port}")
        if not MIN_REPLICAS <= deployment["spec"].get("replicas", 1) <= max_replicas:
            problems.append(f"{name}: replicas outside {MIN_REPLICAS}..{max_replicas} (partitions)")
        strategy = deployment["spec"].get("strategy") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate" or (
            strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1) not in (0, "0%"):
            problems.append(f"{name}: not a rolling update that keeps every replica serving")
        resources = container.get("resources", {})
        try:
            request = mebibytes(resources["requests"]["memory"])
            limit = mebibytes(resources["limits"]["memory"])
            if not request <= limit or limit < 150:
                problems.append(f"{name}: memory request/limit {request}/{limit} MiB off target")
        except (KeyError, ValueError) as exc:
            problems.append(f"{name}: memory requests/limits missing or malformed ({exc})")
        service = services.get(name)
        service_ports = (service or {}).get("spec", {}).get("ports", [])
        if not any(
            p.get("port") == port and _port_number(container, p.get("targetPort", port)) == port
            for p in service_ports
        ):
            problems.append(f"{name}: no Service exposing port {port} to the container")
        if service and service["spec"].get("selector") != labels:
            problems.append(f"{name}: Service selector does not match the pod labels")
        budget = budgets.get(name)
        if budget is None or budget["spec"]["selector"].get("matchLabels") != labels:
            problems.append(f"{name}: no PodDisruptionBudget selecting its pods")
        elif budget["spec"].get("maxUnavailable") != 1 and budget["spec"].get("minAvailable") != 1:
            problems.append(f"{name}: the PodDisruptionBudget must keep one replica serving and "
                            "let one go (maxUnavailable or minAvailable 1)")
    return problems


def topics_job_problems(manifests: Manifests, admin_module: str) -> list[str]:
    """A Job runs the topics admin module with the shared settings."""
    jobs = by_kind(manifests, "Job")
    runs_admin = [
        job for job in jobs.values()
        if pod_container(job).get("command") == ["python", "-m", admin_module]
    ]
    if not runs_admin:
        return [f"no Job runs python -m {admin_module}"]
    if not pod_container(runs_admin[0]).get("envFrom"):
        return ["the topics Job gets no settings (envFrom)"]
    return []


def kustomization_problems(manifests: Manifests) -> list[str]:
    """kustomization.yaml lists every manifest except templates, which it must never apply."""
    if KUSTOMIZATION not in manifests:
        return ["deploy/k8s has no kustomization.yaml"]
    listed = set(manifests[KUSTOMIZATION][0].get("resources", []))
    files = {f for f in manifests if f != KUSTOMIZATION}
    problems = [f"{f} is not listed in kustomization.yaml" for f in sorted(files - listed)
                if not f.endswith(TEMPLATE_SUFFIX)]
    problems += [f"{f} is listed but does not exist" for f in sorted(listed - files)]
    problems += [f"{f} is a template and must not be applied" for f in sorted(listed)
                 if f.endswith(TEMPLATE_SUFFIX)]
    return problems


def env_from_keys(manifests: Manifests, container: dict[str, Any]) -> tuple[set[str], list[str]]:
    """Keys a container gets through envFrom, and references that resolve to no manifest."""
    config_maps, secrets = by_kind(manifests, "ConfigMap"), by_kind(manifests, "Secret")
    keys: set[str] = set()
    dangling = []
    for source in container.get("envFrom", []):
        for ref_kind, known in (("configMapRef", config_maps), ("secretRef", secrets)):
            if ref_kind in source:
                doc = known.get(source[ref_kind]["name"])
                if doc is None:
                    dangling.append(f"{ref_kind} {source[ref_kind]['name']}")
                else:
                    keys |= set(doc.get("data") or {}) | set(doc.get("stringData") or {})
    return keys, dangling


def bootstrap_problems(manifests: Manifests) -> list[str]:
    """KAFKA_BOOTSTRAP in the ConfigMap is a host:port list that is not loopback."""
    data = [doc.get("data") or {} for doc in by_kind(manifests, "ConfigMap").values()]
    values = [str(d["KAFKA_BOOTSTRAP"]) for d in data if "KAFKA_BOOTSTRAP" in d]
    if not values:
        return ["no ConfigMap sets KAFKA_BOOTSTRAP"]
    return [
        f"KAFKA_BOOTSTRAP {address!r} is not a reachable host:port"
        for value in values for address in value.split(",")
        if not re.fullmatch(r"[A-Za-z0-9.-]+:\d+", address)
        or address.split(":")[0] in {"127.0.0.1", "localhost"}
    ]
