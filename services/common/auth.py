"""Who is calling: bearer JWTs (HS256, RS256 or ES256) with a role and scopes, or API keys for
systems.

No secret lives in the repository. In development mode (SPINE_ENV=development) without
AUTH_JWT_SECRET a random secret is created once per checkout under .run/ (0600, git-ignored)
so that the local processes agree; anywhere else AUTH_JWT_SECRET (32+ characters) or
AUTH_JWT_PUBLIC_KEY must be set, or the service refuses to start (see deployment_secrets).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, Header
from pydantic import BaseModel, ConfigDict

from services.common.deployment_secrets import (
    MissingSecret,
    dev_path,
    development_mode,
    required_secret,
)
from services.common.problems import ProblemError
from services.common.settings import env_str

Role = Literal["referrer", "specialist", "ops", "system"]
ROLES: tuple[Role, ...] = ("referrer", "specialist", "ops", "system")
# The subject becomes an id in commands and events, whose fields are bounded (the tightest:
# notify's acknowledged_by, 100): a longer one failed building them, a 500 mid-request.
MAX_SUBJECT_CHARS = 100

log = logging.getLogger(__name__)


class Principal(BaseModel):
    """An authenticated caller. For a specialist `subject` is the specialist id; for a
    referral system it is the referrer id."""

    model_config = ConfigDict(frozen=True)

    subject: str
    role: Role
    scopes: frozenset[str] = frozenset()


class AuthConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    secret: str | None
    public_key: str | None
    audience: str
    issuer: str | None
    api_keys: dict[str, dict[str, object]]  # sha256(key) -> {subject, role, scopes}


def _api_keys() -> dict[str, dict[str, object]]:
    raw = env_str("AUTH_API_KEYS", "")
    file = env_str("AUTH_API_KEYS_FILE", "")
    if file:
        raw = Path(file).read_text()
    return json.loads(raw) if raw else {}


@lru_cache(maxsize=1)
def config() -> AuthConfig:
    """Auth settings from the environment (read once per process)."""
    public_key = env_str("AUTH_JWT_PUBLIC_KEY", "") or None
    secret = None if public_key and not env_str("AUTH_JWT_SECRET", "") else required_secret(
        "AUTH_JWT_SECRET",
        dev_path=Path(env_str("AUTH_DEV_SECRET_FILE", str(dev_path("dev-jwt-secret")))))
    issuer = env_str("AUTH_JWT_ISSUER", "").strip() or None
    if public_key and issuer is None and not development_mode():
        # Without an issuer PyJWT checks none: any token the IdP's key signed for the
        # audience (another tenant's, another application's) would be accepted (review 3a).
        raise MissingSecret("AUTH_JWT_ISSUER must be set with AUTH_JWT_PUBLIC_KEY (SPINE_ENV "
                            "is not 'development'): the IdP's issuer URL, as in its tokens' iss")
    return AuthConfig(
        secret=secret,
        public_key=public_key,
        audience=env_str("AUTH_JWT_AUDIENCE", "spine-router"),
        issuer=issuer,
        api_keys=_api_keys(),
    )


def hash_api_key(key: str) -> str:
    """How API keys are stored: only their SHA-256."""
    return hashlib.sha256(key.encode()).hexdigest()


def mint_token(
    *, subject: str, role: Role, scopes: tuple[str, ...] = (), ttl_seconds: int = 3600,
    now: float | None = None,
) -> str:
    """An HS256 token signed with the configured secret (tests, the demo, local tools)."""
    cfg = config()
    if cfg.secret is None:
        raise RuntimeError("minting needs AUTH_JWT_SECRET; RS256 tokens come from the IdP")
    issued = int(now if now is not None else time.time())
    claims: dict[str, object] = {
        "sub": subject, "role": role, "scope": " ".join(scopes),
        "aud": cfg.audience, "iat": issued, "exp": issued + ttl_seconds,
    }
    if cfg.issuer:
        claims["iss"] = cfg.issuer
    import jwt  # loaded on first use: see principal_from_token

    return jwt.encode(claims, cfg.secret, algorithm="HS256")


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(
        401, "Unauthorized", detail, kind="unauthorized",
        headers={"WWW-Authenticate": 'Bearer realm="spine-router"'},
    )


class VerifiedTokens:
    """Bearer tokens that verified, with their principal, until their `exp` (at most MAX_AGE).

    A request is authenticated twice (the request guard, for its rate limit, then the route's
    dependency) and a referral system sends one token with many requests: signature checks were
    11 % of intake's CPU samples in the pipeline bench, 0 % since (issue 13). Only the exact
    token (signature included) verified under the same key configuration hits; expiry is
    checked on every hit; failures are never kept, so a bad token is verified, and refused,
    each time. Bounded: the oldest entry goes first.
    """

    MAX_ENTRIES = 4096
    MAX_AGE_SECONDS = 300.0

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._entries: OrderedDict[str, tuple[AuthConfig, float, Principal]] = OrderedDict()

    def get(self, token: str, cfg: AuthConfig) -> Principal | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        if entry[0] is not cfg or self._clock() >= entry[1]:
            self._entries.pop(token, None)  # plain `def` routes verify on worker threads too
            return None
        return entry[2]

    def put(self, token: str, cfg: AuthConfig, expires_at: float, principal: Principal) -> None:
        until = min(expires_at, self._clock() + self.MAX_AGE_SECONDS)
        self._entries[token] = (cfg, until, principal)
        while len(self._entries) > self.MAX_ENTRIES:
            try:
                self._entries.popitem(last=False)
            except KeyError:  # emptied by another thread meanwhile
                break

    def __len__(self) -> int:
        return len(self._entries)


_verified = VerifiedTokens()


def principal_from_token(token: str) -> Principal:
    """Verify a bearer token and return its principal; raises ProblemError(401)."""
    cfg = config()
    known = _verified.get(token, cfg)
    if known is not None:
        return known
    principal, expires_at = _verify(token, cfg)
    _verified.put(token, cfg, expires_at, principal)
    return principal


def _verify(token: str, cfg: AuthConfig) -> tuple[Principal, float]:
    """The signature, audience, issuer and expiry checked: the principal and its `exp`."""
    # PyJWT loads cryptography's bindings (~9 MB RSS): a worker whose HTTP side only answers
    # probes and scrapes (triage) never pays for them (issue 13: 150 MB per service).
    import jwt

    key, algorithm = _public_key(cfg.public_key) if cfg.public_key else (cfg.secret, "HS256")
    if key is None:
        raise _unauthorized("no usable token verification key configured")
    try:
        claims = jwt.decode(
            token, key, algorithms=[algorithm], audience=cfg.audience, issuer=cfg.issuer,
            options={"require": ["sub", "exp"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise _unauthorized("token expired") from exc
    except jwt.PyJWTError as exc:  # not only InvalidTokenError: a token of another key type
        # raised InvalidKeyError past the guard, a 500 never charged to its address (review 3a)
        raise _unauthorized("invalid token") from exc
    scopes = frozenset(str(claims.get("scope", "")).split())
    return _principal("token", claims["sub"], claims.get("role"), scopes), float(claims["exp"])


def _principal(source: str, subject: object, role: object, scopes: frozenset[str]) -> Principal:
    """A token's or an API key's caller, whose subject and role can be ids in commands."""
    if role not in ROLES:
        raise _unauthorized(f"{source} has no valid role")
    subject = str(subject)
    if not subject.strip() or len(subject) > MAX_SUBJECT_CHARS:
        raise _unauthorized(f"{source} subject must be 1 to {MAX_SUBJECT_CHARS} characters")
    return Principal(subject=subject, role=role, scopes=scopes)  # type: ignore[arg-type]


@lru_cache(maxsize=2)
def _public_key(pem: str) -> tuple[Any, str]:
    """The configured public key, parsed once, and the one algorithm it verifies: a token is
    checked against its key type's algorithm only, never the one its header names."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(pem.encode())
    except (ValueError, UnsupportedAlgorithm):
        key = None
    if isinstance(key, rsa.RSAPublicKey):
        return key, "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key, "ES256"
    # Loaded lazily (see _verify), so said on the first token, once, not at start-up.
    log.error("AUTH_JWT_PUBLIC_KEY is not a PEM RSA or P-256 EC public key: "
              "every bearer token is refused")
    return None, "none"


def check_public_key() -> None:
    """At start-up (the request guard's install): a configured public key that is no PEM RSA or
    P-256 EC key stops the service, instead of refusing every token once it runs."""
    pem = config().public_key
    if pem is not None and _public_key(pem)[0] is None:
        raise MissingSecret("AUTH_JWT_PUBLIC_KEY is not a PEM RSA or P-256 EC public key")


def principal_from_api_key(key: str) -> Principal:
    """Look up a system client's API key by its hash; raises ProblemError(401)."""
    entry = config().api_keys.get(hash_api_key(key))
    if entry is None:
        raise _unauthorized("unknown API key")
    scopes = entry.get("scopes") or []
    # The same subject bound as a token's: it becomes the referrer id in bounded fields.
    return _principal(
        "API key", entry.get("subject", ""), entry.get("role", "system"),
        frozenset(str(s) for s in scopes))  # type: ignore[attr-defined]


def principal_from_headers(authorization: str | None, x_api_key: str | None) -> Principal | None:
    """The verified caller, None when no credentials were presented; raises ProblemError(401)
    for credentials that do not verify. Shared by the route dependency and the request guard."""
    if authorization:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("use the Bearer scheme")
        return principal_from_token(token.strip())
    if x_api_key:
        return principal_from_api_key(x_api_key)
    return None


def authenticate(
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Principal:
    """FastAPI dependency: the caller, from a bearer token or an X-API-Key header."""
    principal = principal_from_headers(authorization, x_api_key)
    if principal is None:
        raise _unauthorized("credentials required")
    return principal


async def authenticated(
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Principal:
    """`authenticate` as an async dependency: FastAPI runs a plain `def` dependency in a worker
    thread, a hand-off per dependency per request (~7 % of intake's CPU, issue 13); this one
    does no I/O (the verification key is read once), so it runs on the loop."""
    return authenticate(authorization, x_api_key)


def require_roles(
    *roles: Role, scope: str | None = None
) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Dependency factory: the caller must have one of `roles` (and `scope`, if given)."""

    async def dependency(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
        if principal.role not in roles:
            raise ProblemError(
                403, "Forbidden", f"this endpoint is for: {', '.join(roles)}", kind="forbidden"
            )
        if scope and scope not in principal.scopes and principal.role != "ops":
            raise ProblemError(403, "Forbidden", f"missing scope {scope}", kind="forbidden")
        return principal

    return dependency


def main() -> None:
    """CLI: print a development token, e.g. `python -m services.common.auth ops ops-1`."""
    import sys

    role, subject = sys.argv[1], sys.argv[2]
    if role not in ROLES:
        raise SystemExit(f"role must be one of {ROLES}")
    print(mint_token(subject=subject, role=role, ttl_seconds=12 * 3600))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
