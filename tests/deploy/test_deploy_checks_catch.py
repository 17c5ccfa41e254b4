"""The deploy checks fail when the files drift: each breakage below must be reported."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schemas.topics import CASE_PARTITIONS
from scripts.kafka_local import DEFAULT_VERSION
from services.common import topics_admin
from services.common.settings import SERVICE_PORTS
from tests.deploy import compose_checks, k8s_checks, settings_checks
from tests.deploy.sources import (
    DOCKERFILE,
    EnvRead,
    dockerfile_instructions,
    env_reads,
    load_compose,
    load_k8s,
)

ADMIN = topics_admin.__name__


def _svc(c: dict[str, Any], name: str) -> dict[str, Any]:
    return c["services"][name]


def _kafka_env(c: dict[str, Any]) -> dict[str, Any]:
    return _svc(c, "kafka")["environment"]


def _compose_problems(c: dict[str, Any]) -> list[str]:
    return (
        compose_checks.app_service_problems(c, SERVICE_PORTS)
        + compose_checks.host_port_overlaps(c, SERVICE_PORTS)
        + compose_checks.kafka_problems(c)
        + compose_checks.bootstrap_problems(c)
        + compose_checks.topics_job_problems(c, ADMIN)
        + compose_checks.kafka_version_problems(c, DEFAULT_VERSION)
        + settings_checks.compose_secret_problems(c)
    )


COMPOSE_BREAKAGES: dict[str, Callable[[dict[str, Any]], object]] = {
    "service removed": lambda c: c["services"].pop("routing"),
    "port env differs": lambda c: _svc(c, "triage")["environment"].update(TRIAGE_PORT="9002"),
    "port not published": lambda c: _svc(c, "notify").update(ports=["18004:8005"]),
    "one fixed host port": lambda c: _svc(c, "routing").update(ports=["8003:8003"]),
    "fixed container name": lambda c: _svc(c, "routing").update(container_name="routing"),
    "host port blocks overlap": lambda c: _svc(c, "triage").update(ports=["8301-8308:8002"]),
    "wrong command": lambda c: _svc(c, "intake").update(command=["python", "-m", "services.x"]),
    "healthcheck on another port": lambda c: _svc(c, "triage")["healthcheck"].update(
        test=["CMD", "spine-healthcheck", "8003"]
    ),
    "starts before topics exist": lambda c: _svc(c, "routing")["depends_on"].pop("topics"),
    "bootstrap on the controller port": lambda c: _svc(c, "notify")["environment"].update(
        KAFKA_BOOTSTRAP="kafka:9093"
    ),
    "bootstrap on the host listener": lambda c: _svc(c, "topics")["environment"].update(
        KAFKA_BOOTSTRAP="localhost:9094"
    ),
    "in-network listener not advertised": lambda c: _kafka_env(c).update(
        KAFKA_ADVERTISED_LISTENERS="HOST://localhost:9094"
    ),
    "broker only, no controller": lambda c: _kafka_env(c).update(KAFKA_PROCESS_ROLES="broker"),
    "voter is another node": lambda c: _kafka_env(c).update(
        KAFKA_CONTROLLER_QUORUM_VOTERS="2@kafka:9093"
    ),
    "voter on the broker port": lambda c: _kafka_env(c).update(
        KAFKA_CONTROLLER_QUORUM_VOTERS="1@kafka:9092"
    ),
    "auto topic creation on": lambda c: _kafka_env(c).update(
        KAFKA_AUTO_CREATE_TOPICS_ENABLE="true"
    ),
    "replication factor 3": lambda c: _kafka_env(c).update(
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR=3
    ),
    "share coordinator unset": lambda c: _kafka_env(c).pop(
        "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR"
    ),
    "topics job runs something else": lambda c: _svc(c, "topics").update(
        command=["python", "-m", "services.common.worker"]
    ),
    "kafka 3.9": lambda c: _svc(c, "kafka").update(image="apache/kafka:3.9.1"),
    "unpinned kafka": lambda c: _svc(c, "kafka").update(image="apache/kafka:latest"),
    "literal secret": lambda c: _svc(c, "intake")["environment"].update(
        AUTH_JWT_SECRET="hunter2-but-longer"
    ),
    "secret with a default": lambda c: _svc(c, "intake")["environment"].update(
        AUTH_JWT_SECRET="${AUTH_JWT_SECRET:-changeme}"
    ),
}


def test_real_compose_passes() -> None:
    assert _compose_problems(load_compose()) == []


@pytest.mark.parametrize("breakage", COMPOSE_BREAKAGES, ids=list(COMPOSE_BREAKAGES))
def test_compose_breakage_is_reported(breakage: str) -> None:
    compose = copy.deepcopy(load_compose())
    COMPOSE_BREAKAGES[breakage](compose)
    assert _compose_problems(compose) != []


def _container(m: k8s_checks.Manifests, name: str) -> dict[str, Any]:
    return k8s_checks.pod_container(k8s_checks.by_kind(m, "Deployment")[name])


def _k8s_problems(m: k8s_checks.Manifests) -> list[str]:
    return (
        k8s_checks.deployment_problems(m, SERVICE_PORTS, CASE_PARTITIONS)
        + k8s_checks.topics_job_problems(m, ADMIN)
        + k8s_checks.kustomization_problems(m)
        + k8s_checks.bootstrap_problems(m)
        + settings_checks.k8s_secret_problems(m)
    )


K8S_BREAKAGES: dict[str, Callable[[k8s_checks.Manifests], object]] = {
    "deployment removed": lambda m: m.pop("notify.yaml"),
    "probe on the wrong path": lambda m: _container(m, "triage")["readinessProbe"]["httpGet"]
    .update(path="/healthz"),
    "probe on the wrong port": lambda m: _container(m, "routing")["livenessProbe"]["httpGet"]
    .update(port=8001),
    "no liveness probe": lambda m: _container(m, "intake").pop("livenessProbe"),
    "liveness fails when kafka is away": lambda m: _container(m, "notify")["livenessProbe"][
        "httpGet"].update(path="/health/ready"),
    "container port differs": lambda m: _container(m, "intake")["ports"][0]
    .update(containerPort=9001),
    "more replicas than partitions": lambda m: k8s_checks.by_kind(m, "Deployment")["triage"][
        "spec"].update(replicas=CASE_PARTITIONS + 1),
    "a single replica": lambda m: k8s_checks.by_kind(m, "Deployment")["routing"][
        "spec"].update(replicas=1),
    "recreate strategy": lambda m: k8s_checks.by_kind(m, "Deployment")["notify"][
        "spec"].update(strategy={"type": "Recreate"}),
    "budget allows no disruption": lambda m: k8s_checks.by_kind(m, "PodDisruptionBudget")[
        "triage"]["spec"].update(maxUnavailable=0),
    "no memory limit": lambda m: _container(m, "notify")["resources"].pop("limits"),
    "topics job runs something else": lambda m: k8s_checks.pod_container(
        k8s_checks.by_kind(m, "Job")["spine-topics"]).update(command=["true"]),
    "manifest not in kustomization": lambda m: m["kustomization.yaml"][0]["resources"]
    .remove("routing.yaml"),
    "secret template applied": lambda m: m["kustomization.yaml"][0]["resources"]
    .append("secret.template.yaml"),
    "secret template filled in": lambda m: k8s_checks.by_kind(m, "Secret")[
        "spine-router-secrets"]["stringData"].update(AUTH_JWT_SECRET="s3cret-value"),
    "secret as literal env": lambda m: _container(m, "intake")["env"].append(
        {"name": "AUTH_JWT_SECRET", "value": "s3cret-value"}),
    "loopback bootstrap": lambda m: k8s_checks.by_kind(m, "ConfigMap")["spine-router-config"][
        "data"].update(KAFKA_BOOTSTRAP="127.0.0.1:9092"),
}


def test_real_k8s_passes() -> None:
    assert _k8s_problems(load_k8s()) == []


@pytest.mark.parametrize("breakage", K8S_BREAKAGES, ids=list(K8S_BREAKAGES))
def test_k8s_breakage_is_reported(breakage: str) -> None:
    manifests = copy.deepcopy(load_k8s())
    K8S_BREAKAGES[breakage](manifests)
    assert _k8s_problems(manifests) != []


def _write_service(root: Path, folder: str, source: str) -> None:
    (root / folder).mkdir(parents=True, exist_ok=True)
    (root / folder / "settings.py").write_text(source)


def test_env_walk_finds_reads_and_judges_their_defaults(tmp_path: Path) -> None:
    _write_service(tmp_path, "common", 'URL = env_str("PEER_URL", "http://127.0.0.1:9")\n')
    _write_service(tmp_path, "notify", (
        "DEV = 'dev-only-secret'\n"
        "class S:\n    retries: int = 3\n    hook: str = 'http://localhost:1'\n"
        "    def load(cls):\n"
        "        a = env_int('NOTIFY_RETRIES', cls.retries)\n"
        "        b = env_str('NOTIFY_HOOK', cls.hook)\n"
        "        c = os.environ['NOTIFY_TOKEN']\n"
        "        d = os.environ.get('NOTIFY_MODE', 'fast')\n"
        "        e = env_str(f'{name}_PORT', '1')\n"
        "        f = env_str('NOTIFY_DIR', str(REPO_ROOT / 'x'))\n"
        "        g = env_str('NOTIFY_MASTER_SECRET', DEV)\n"
        "        h = env_str('NOTIFY_FEATURE', '')\n"
        "        i = env_str('NOTIFY_LINK', f'http://127.0.0.1:{port}' if dev else '')\n"
    ))
    needs = {r.name: (r.owner, r.needs_deployment_value) for r in env_reads(tmp_path)}
    assert needs == {
        "PEER_URL": ("common", True),
        "NOTIFY_RETRIES": ("notify", False),
        "NOTIFY_HOOK": ("notify", True),
        "NOTIFY_TOKEN": ("notify", True),
        "NOTIFY_MODE": ("notify", False),
        "NOTIFY_DIR": ("notify", True),
        "NOTIFY_MASTER_SECRET": ("notify", True),
        "NOTIFY_FEATURE": ("notify", False),
        "NOTIFY_LINK": ("notify", True),
    }


def test_a_new_setting_without_safe_default_must_be_provided() -> None:
    new = EnvRead("NOTIFY_WEBHOOK_URL", "http://127.0.0.1:8099", "'http://127.0.0.1:8099'",
                  "notify", "services/notify/x.py:1")
    missing = settings_checks.missing_env_problems({"notify": [new]}, {"notify": {}}, "k8s")
    loopback = settings_checks.missing_env_problems(
        {"notify": [new]}, {"notify": {"NOTIFY_WEBHOOK_URL": "http://localhost:1"}}, "k8s"
    )
    provided = settings_checks.missing_env_problems(
        {"notify": [new]}, {"notify": {"NOTIFY_WEBHOOK_URL": "http://hooks:80"}}, "k8s"
    )
    assert (len(missing), len(loopback), provided) == (1, 1, [])


def test_docs_check_reports_an_undocumented_setting() -> None:
    reads = [EnvRead("BRAND_NEW_SETTING", "1", "1", "common", "services/common/x.py:1")]
    assert settings_checks.docs_problems("nothing here", reads, {"intake": 8001}) != []


def test_key_material_is_reported() -> None:
    pem = "key: |\n  -----BEGIN PRIVATE KEY-----\n  MIIB\n"
    assert settings_checks.key_material_problems({"x.yaml": pem}) != []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("USER 10001:10001", "USER root"),
        ("HTTP_HOST=0.0.0.0", "HTTP_HOST=127.0.0.1"),
        ("FROM python:3.11-slim", "FROM python:3.12-slim"),
        ("pip install --no-deps .", "pip install ."),
        ("HEALTHCHECK --interval", "# no HEALTHCHECK --interval"),
    ],
)
def test_dockerfile_breakage_is_reported(tmp_path: Path, old: str, new: str) -> None:
    text = DOCKERFILE.read_text()
    assert old in text
    broken = tmp_path / "Dockerfile"
    broken.write_text(text.replace(old, new))
    assert compose_checks.dockerfile_problems(dockerfile_instructions(broken), broken.read_text())
