"""Secrets: real ones outside development mode, generated private files inside it.

SPINE_ENV=development (set by ./dev, the demo, bench and the tests) allows generated secrets in
files under .run/ (mode 0600, git-ignored). Anything else, including unset, is a deployment:
a service refuses to start unless every secret it needs is set and long enough to be real, and
an IdP's public key comes with its issuer (AUTH_JWT_ISSUER, services/common/auth.py).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from services.common.settings import REPO_ROOT, env_str

MIN_SECRET_CHARS = 32


class MissingSecret(RuntimeError):
    """A secret a deployment must set, or a setting that guards one, is missing or too weak (the
    message names the variable)."""


def weak_secret(value: str) -> bool:
    """True if `value` cannot be a deployment's secret: too short, or a published dev value."""
    value = value.strip()
    return len(value) < MIN_SECRET_CHARS or value.startswith("dev-only")


def dev_path(file_name: str) -> Path:
    """Where a generated development secret lives: .run/ in the checkout (git-ignored)."""
    return REPO_ROOT / ".run" / file_name


def development_mode() -> bool:
    """True only under SPINE_ENV=development."""
    return env_str("SPINE_ENV", "production").strip().lower() == "development"


def dev_secret_file(path: Path) -> str:
    """The development secret in `path`, created once (0600) so local processes agree."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # exclusive create: concurrent starters agree on one secret
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:  # written by an older version, world-readable
            path.chmod(0o600)
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def required_secret(name: str, *, dev_path: Path) -> str:
    """The secret in environment variable `name`; in development mode a generated one."""
    value = os.environ.get(name, "").strip()
    if value:
        if not development_mode() and weak_secret(value):
            raise MissingSecret(f"{name} must be a real secret of at least {MIN_SECRET_CHARS} "
                                "characters")
        return value
    if development_mode():
        return dev_secret_file(dev_path)
    raise MissingSecret(f"{name} is not set (SPINE_ENV is not 'development'); see "
                        "deploy/k8s/secret.template.yaml")
