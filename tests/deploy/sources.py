"""Read the deployment files and the code's own configuration, for the deploy checks."""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
K8S_DIR = REPO / "deploy" / "k8s"
DEPLOY_DOC = REPO / "docs" / "deploy.md"
SERVICES_DIR = REPO / "services"

# required_secret: a secret a deployment must set (services/common/deployment_secrets.py).
ENV_READERS = {"env_str", "env_int", "env_float", "getenv", "required_secret"}
SHARED = "common"  # settings read under services/common/ are read by every service
CHECKOUT_PATHS = ("REPO_ROOT", "__file__")
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
SENSITIVE_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|PRIVATE|API_KEYS?$|_KEY$")


@dataclass(frozen=True)
class EnvRead:
    """One place in the code that reads an environment variable."""

    name: str
    default: str | None  # the default's value when it is a literal (or a named literal)
    default_source: str | None  # the default as written; None when there is none
    owner: str  # the service folder it lives in; "common" for every service
    where: str  # path:line, for messages

    @property
    def needs_deployment_value(self) -> bool:
        """True when the default cannot be right inside a deployed container."""
        if self.default_source is None or SENSITIVE_NAME.search(self.name):
            return True  # no default, or a secret (whose default can only be a development one)
        if any(part in self.default_source for part in CHECKOUT_PATHS):
            return True  # a path inside the git checkout, which the image does not contain
        # The source too: an f-string default (f"http://127.0.0.1:{port}") has no literal value,
        # and ROUTING_PUBLIC_URL's loopback default once slipped past the checks that way.
        return any(host in text for text in (self.default or "", self.default_source)
                   for host in LOOPBACK)


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """docker-compose.yml as a dict (YAML merge keys resolved)."""
    return yaml.safe_load(path.read_text())


def load_k8s(directory: Path = K8S_DIR) -> dict[str, list[dict[str, Any]]]:
    """Every YAML document under deploy/k8s, by file name."""
    return {
        path.name: [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
        for path in sorted(directory.glob("*.yaml"))
    }


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined; heredoc bodies skipped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    heredoc_end: str | None = None
    for raw in path.read_text().splitlines():
        if heredoc_end is not None:
            heredoc_end = None if raw.strip() == heredoc_end else heredoc_end
            continue
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        if "<<" in args:  # COPY <<'EOF' dest ... EOF
            heredoc_end = args.split("<<", 1)[1].split()[0].strip("'\"-")
    return instructions


def dockerfile_env(path: Path = DOCKERFILE) -> dict[str, str]:
    """Variables the image sets with ENV KEY=VALUE."""
    env: dict[str, str] = {}
    for keyword, args in dockerfile_instructions(path):
        if keyword == "ENV":
            for token in shlex.split(args):
                key, _, value = token.partition("=")
                env[key] = value
    return env


def _literal(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float):
        return str(node.value)
    return None


def _named_literals(tree: ast.AST) -> dict[str, str]:
    """NAME = <literal> at module or class level, so `cls.NAME` defaults can be judged."""
    named: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and (literal := _literal(value)) is not None:
            named[target.id] = literal
    return named


def _is_environ(node: ast.AST) -> bool:
    return ast.unparse(node).endswith("environ")


def _env_call(call: ast.Call) -> tuple[str, ast.expr | None] | None:
    """(name, default expression) when `call` reads a named environment variable."""
    func = call.func
    called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    environ_get = isinstance(func, ast.Attribute) and called == "get" and _is_environ(func.value)
    if not (called in ENV_READERS or environ_get) or not call.args:
        return None
    name = _literal(call.args[0])
    if name is None:
        return None  # computed names (e.g. <SERVICE>_PORT) are checked via SERVICE_PORTS
    return name, call.args[1] if len(call.args) > 1 else None


def _reads_in(tree: ast.AST) -> list[tuple[str, ast.expr | None, int]]:
    """(name, default expression, line) for every environment read in one module."""
    found: list[tuple[str, ast.expr | None, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (call := _env_call(node)):
            found.append((call[0], call[1], node.lineno))
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            name = _literal(node.slice)
            if name is not None and isinstance(node.ctx, ast.Load):
                found.append((name, None, node.lineno))  # os.environ["NAME"]: no default
    return found


def _default_value(default: ast.expr | None, named: dict[str, str]) -> str | None:
    if default is None:
        return None
    if (literal := _literal(default)) is not None:
        return literal
    key = default.id if isinstance(default, ast.Name) else getattr(default, "attr", None)
    return named.get(key) if key else None


def env_reads(root: Path = SERVICES_DIR) -> list[EnvRead]:
    """Every environment variable the services read, found by walking their syntax trees."""
    reads: list[EnvRead] = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        owner = relative.parts[0] if len(relative.parts) > 1 else SHARED
        tree = ast.parse(path.read_text(), filename=str(path))
        named = _named_literals(tree)
        for name, default, line in _reads_in(tree):
            reads.append(EnvRead(
                name=name,
                default=_default_value(default, named),
                default_source=None if default is None else ast.unparse(default),
                owner=owner,
                where=f"services/{relative.as_posix()}:{line}",
            ))
    return reads


def reads_by_service(reads: list[EnvRead], services: list[str]) -> dict[str, list[EnvRead]]:
    """The reads each service process makes: its own folder's plus services/common's."""
    return {s: [r for r in reads if r.owner in (s, SHARED)] for s in services}
