"""Checks that span the code's settings and every deployment file: env, secrets, docs."""

from __future__ import annotations

import re
from typing import Any

from tests.deploy.compose_checks import service_env
from tests.deploy.sources import LOOPBACK, SENSITIVE_NAME, EnvRead

# Settings without a safe default (see EnvRead.needs_deployment_value) that a deployment may
# nevertheless leave unset, each with the reason. Any other such setting must be provided by
# both compose and k8s, or be added here with its reason.
OPTIONAL_IN_DEPLOYMENT = {
    "AUTH_JWT_PUBLIC_KEY": "RS256/ES256 alternative to AUTH_JWT_SECRET; empty means HS256",
    "AUTH_DEV_SECRET_FILE": "read only when neither AUTH_JWT_SECRET nor a public key is set",
}
# ${NAME}, ${NAME:?message} or ${NAME:-} (an empty default): the value comes from the host.
HOST_INTERPOLATION = re.compile(r"\$\{\w+(?::?\?[^}]*|:?-)?\}")
KEY_MATERIAL = (
    re.compile(r"-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----"),
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\."),  # a JWT
)


def missing_env_problems(
    reads: dict[str, list[EnvRead]], provided: dict[str, dict[str, str]], target: str
) -> list[str]:
    """Settings without a safe default that `target` does not provide (or provides as loopback)."""
    problems = []
    for service, service_reads in reads.items():
        given = provided.get(service, {})
        for read in service_reads:
            if not read.needs_deployment_value or read.name in OPTIONAL_IN_DEPLOYMENT:
                continue
            if read.name not in given:
                problems.append(
                    f"{target} {service}: {read.name} (read at {read.where}, default "
                    f"{read.default_source!r}) is not provided"
                )
            elif any(host in given[read.name] for host in LOOPBACK):
                problems.append(f"{target} {service}: {read.name} is loopback in a container")
    return problems


def stale_exception_problems(reads: list[EnvRead]) -> list[str]:
    """Every OPTIONAL_IN_DEPLOYMENT entry is still read by the code."""
    names = {r.name for r in reads}
    return [f"{n} is excused but no longer read" for n in OPTIONAL_IN_DEPLOYMENT if n not in names]


def compose_secret_problems(compose: dict[str, Any]) -> list[str]:
    """Sensitive compose settings come from the host environment, never a literal."""
    return [
        f"compose {name}: {key} has a literal value; use ${{{key}:?...}}"
        for name, svc in compose.get("services", {}).items()
        for key, value in service_env(svc).items()
        if SENSITIVE_NAME.search(key) and not HOST_INTERPOLATION.fullmatch(value)
    ]


def k8s_secret_problems(manifests: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Secrets are templates with empty values; sensitive keys never sit in env or ConfigMaps."""
    problems = []
    for file, docs in manifests.items():
        for doc in docs:
            kind, name = doc.get("kind"), doc.get("metadata", {}).get("name")
            if kind == "Secret":
                values = {**(doc.get("data") or {}), **(doc.get("stringData") or {})}
                problems += [f"{file}: Secret {name} has a value for {k}"
                             for k, v in values.items() if v]
            if kind == "ConfigMap":
                problems += [
                    f"{file}: ConfigMap {name} holds sensitive {k}"
                    for k in doc.get("data") or {} if SENSITIVE_NAME.search(k)
                ]
            template = doc.get("spec", {}).get("template", {}).get("spec", {})
            for container in template.get("containers", []):
                problems += [
                    f"{file}: {e['name']} is a literal env value; use the Secret"
                    for e in container.get("env", [])
                    if SENSITIVE_NAME.search(e["name"]) and "value" in e
                ]
    return problems


def key_material_problems(texts: dict[str, str]) -> list[str]:
    """No private keys, certificates or tokens pasted into deployment files."""
    return [
        f"{file}: contains what looks like key material or a token"
        for file, text in texts.items() for pattern in KEY_MATERIAL if pattern.search(text)
    ]


def docs_problems(doc: str, reads: list[EnvRead], ports: dict[str, int]) -> list[str]:
    """docs/deploy.md names every setting the code reads and every service port."""
    names = sorted({r.name for r in reads} | {f"{s.upper()}_PORT" for s in ports})
    problems = [f"docs/deploy.md does not document {n}" for n in names
                if not re.search(rf"\b{n}\b", doc)]
    problems += [f"docs/deploy.md does not mention port {p}" for p in ports.values()
                 if str(p) not in doc]
    return problems
