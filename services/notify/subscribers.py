"""Who receives webhooks: referrers, team leads and ops from a file; specialists from the directory.

Secrets: `secret_env` names an environment variable holding the real secret; `secret` in the
file is for local development only; otherwise the secret is derived from the master secret
(services.notify.delivery.signing.derive_secret), which is how directory specialists get theirs.

Outside development mode the file is refused at load, before anything is signed, if it holds a
`secret` or names a `secret_env` that is unset, short or a dev-only value: before, a missing
variable silently fell back to the derived secret (every delivery then 401s at the receiver) and
a file's `dev-only-` value was used as is. A subscriber with neither still gets the derived one.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.directory import Specialist
from services.common.deployment_secrets import (
    MIN_SECRET_CHARS,
    MissingSecret,
    development_mode,
    weak_secret,
)
from services.common.webhook_targets import url_problem
from services.notify.delivery.signing import derive_secret
from services.notify.delivery.webhook import Endpoint

log = logging.getLogger("spine.notify.subscribers")


class Subscriber(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=100)
    webhook_url: str | None = None
    secret: str | None = None  # development only; real secrets come from `secret_env`
    secret_env: str | None = None
    teams: list[str] = Field(default_factory=list)  # team leads: the teams they lead

    @field_validator("webhook_url")
    @classmethod
    def _safe_target(cls, url: str | None) -> str | None:
        if url is not None and (refused := url_problem(url)):
            raise ValueError(f"refused webhook target: {refused}")
        return url


class SubscribersFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")  # "_comment" keys are allowed

    referrers: list[Subscriber] = Field(default_factory=list)
    team_leads: list[Subscriber] = Field(default_factory=list)
    ops: list[Subscriber] = Field(default_factory=list)
    specialists: list[Subscriber] = Field(default_factory=list)  # overrides of the directory


def load_subscribers(path: Path) -> SubscribersFile:
    """Parse the subscribers file; a missing file means nobody subscribed (logged). Outside
    development mode, a file whose secrets are not real is refused (MissingSecret)."""
    if not path.exists():
        log.warning("subscribers file not found; no referrer, lead or ops webhooks",
                    extra={"path": str(path)})
        return SubscribersFile()
    subscribers = SubscribersFile.model_validate(json.loads(path.read_text()))
    if not development_mode() and (problems := secret_problems(subscribers, os.environ)):
        raise MissingSecret(f"subscribers file {path}: " + "; ".join(problems))
    return subscribers


def secret_problems(subscribers: SubscribersFile, environ: Mapping[str, str]) -> list[str]:
    """What keeps the file's secrets from being a deployment's: each names the subscriber and
    the variable, never a value."""
    problems = []
    for group in ("referrers", "team_leads", "ops", "specialists"):
        for entry in getattr(subscribers, group):
            where = f"{group} {entry.id!r}"
            if entry.secret is not None:
                problems.append(f"{where}: 'secret' in the file is for development only (put "
                                "the real one in the variable 'secret_env' names)")
            if entry.secret_env is None:
                continue  # neither: the secret derived from the master secret (documented)
            value = environ.get(entry.secret_env, "")
            if not value.strip():
                problems.append(f"{where}: {entry.secret_env} is not set")
            elif weak_secret(value):
                problems.append(f"{where}: {entry.secret_env} must be a real secret of at "
                                f"least {MIN_SECRET_CHARS} characters")
    return problems


class Recipients:
    """Contacts for the domain and endpoints for delivery, over the file and the directory."""

    def __init__(
        self, subscribers: SubscribersFile, directory: Mapping[str, Specialist], *,
        master_secret: str, directory_ready: Callable[[], bool] = lambda: True,
    ) -> None:
        self._file = subscribers
        self._directory = directory
        self._master = master_secret
        self._ready = directory_ready
        self._by_audience = {
            "referrer": {s.id: s for s in subscribers.referrers},
            "team_lead": {s.id: s for s in subscribers.team_leads},
            "ops": {s.id: s for s in subscribers.ops},
            "specialist": {s.id: s for s in subscribers.specialists},
        }

    # -- Contacts (the domain's view) --
    def team_lead_for(self, specialist_id: str | None, team: str) -> str | None:
        """The specialist's lead from the directory, else the file's lead of the team."""
        entry = self._directory.get(specialist_id) if specialist_id else None
        if entry is not None and entry.team_lead_id:
            return entry.team_lead_id
        return next((s.id for s in self._file.team_leads if team in s.teams), None)

    def ops_ids(self) -> list[str]:
        """Every ops subscriber in the file."""
        return [s.id for s in self._file.ops]

    def has_referrer(self, referrer_id: str) -> bool:
        """Referrers receive status updates only if the file lists them with a webhook."""
        entry = self._by_audience["referrer"].get(referrer_id)
        return entry is not None and entry.webhook_url is not None

    # -- EndpointResolver (delivery's view) --
    def endpoint(self, audience: str, subscriber_id: str) -> Endpoint | None:
        """URL and secret for one subscriber, or None if it has no webhook."""
        entry = self._by_audience.get(audience, {}).get(subscriber_id)
        url = entry.webhook_url if entry else None
        if url is None and audience in ("specialist", "team_lead"):
            specialist = self._directory.get(subscriber_id)
            url = specialist.webhook_url if specialist else None
        if url is None:
            return None
        return Endpoint(url=url, secret=self.secret_for(audience, subscriber_id, entry))

    def secret_for(self, audience: str, subscriber_id: str, entry: Subscriber | None) -> bytes:
        """The subscriber's signing secret: from its env variable, the file, or derived."""
        if entry is not None and entry.secret_env and os.environ.get(entry.secret_env):
            # stripped as the start-up check reads it: a trailing newline from a mounted
            # secret file must not become part of the signing key
            return os.environ[entry.secret_env].strip().encode()
        if entry is not None and entry.secret:
            return entry.secret.encode()
        return derive_secret(self._master, audience, subscriber_id)

    def ready(self) -> bool:
        """True once the directory has been read up to its end."""
        return self._ready()
