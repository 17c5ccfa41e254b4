"""Review 3a, defect 2: a token PyJWT cannot verify, for any reason, is a 401 charged to the
caller's address. With an RS256 key configured an ES256 token raised InvalidKeyError (no
InvalidTokenError): a 500 with a traceback, and the request was never charged to its bucket, so
anyone could send unlimited requests. Only the configured key's algorithm is accepted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from services.common import auth
from services.common.auth import VerifiedTokens
from services.common.guard import GuardSettings, install_guard
from services.common.problems import ProblemError, install_problem_handlers

CLAIMS = {"sub": "ref-1", "role": "referrer", "aud": "spine-router", "exp": 4_000_000_000}
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Configure a verification key: a PEM public key, or the shared secret when empty."""

    def set_key(pem: str) -> None:
        monkeypatch.setenv("AUTH_JWT_PUBLIC_KEY", pem)
        if pem:
            monkeypatch.delenv("AUTH_JWT_SECRET", raising=False)
        auth.config.cache_clear()

    monkeypatch.setattr(auth, "_verified", VerifiedTokens())
    yield set_key
    monkeypatch.undo()
    auth.config.cache_clear()


def _token(key: Any, algorithm: str, **claims: object) -> str:
    return jwt.encode({**CLAIMS, **claims}, key, algorithm=algorithm)


def _hs256_signed_with(secret: bytes) -> str:
    """By hand: PyJWT will not sign with a PEM as an HMAC secret, an attacker will."""
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = ".".join(part(json.dumps(doc).encode())
                             for doc in ({"alg": "HS256", "typ": "JWT"}, CLAIMS))
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{part(mac)}"


def test_an_es256_token_against_an_rsa_key_is_401_and_charged_to_the_address(
        configure: Callable[[str], None]) -> None:
    configure(_pem(RSA_KEY))
    api = FastAPI()
    install_problem_handlers(api)

    @api.get("/who")
    async def who(p: Annotated[auth.Principal, Depends(auth.authenticated)]) -> str:
        return p.subject

    settings = GuardSettings(rate_limit_burst=3, rate_limit_per_second=0.01)
    install_guard(api, service="test", settings=settings)
    client = TestClient(api, raise_server_exceptions=False)
    token = _token(ec.generate_private_key(ec.SECP256R1()), "ES256")
    answers = [client.get("/who", headers={"Authorization": f"Bearer {token}"})
               for _ in range(settings.rate_limit_burst + 2)]
    assert answers[0].status_code == 401
    assert answers[0].headers["content-type"].startswith("application/problem+json")
    # bad credentials share their address's bucket: past the burst, 429
    assert answers[-1].status_code == 429


@pytest.mark.parametrize("configured, token", [
    (_pem(RSA_KEY), lambda: _token(EC_KEY, "ES256")),
    (_pem(EC_KEY), lambda: _token(RSA_KEY, "RS256")),
    # key confusion: the public key's PEM used as an HMAC secret
    (_pem(RSA_KEY), lambda: _hs256_signed_with(_pem(RSA_KEY).encode())),
    (_pem(RSA_KEY), lambda: _token(RSA_KEY, "PS256")),
    (_pem(RSA_KEY), lambda: _token(None, "none")),
    ("", lambda: _token(EC_KEY, "ES256")),
    ("", lambda: _token(RSA_KEY, "RS256")),
], ids=["es256-vs-rsa", "rs256-vs-ec", "hs256-with-the-pem", "ps256-vs-rsa", "none",
        "es256-vs-secret", "rs256-vs-secret"])
def test_a_token_of_another_algorithm_than_the_keys_is_401(
        configure: Callable[[str], None], configured: str, token: Callable[[], str]) -> None:
    configure(configured)
    with pytest.raises(ProblemError) as refused:
        auth.principal_from_token(token())
    assert refused.value.status == 401 and refused.value.detail == "invalid token"


@pytest.mark.parametrize("key, algorithm", [(RSA_KEY, "RS256"), (EC_KEY, "ES256")])
def test_the_configured_keys_own_algorithm_verifies(
        configure: Callable[[str], None], key: Any, algorithm: str) -> None:
    configure(_pem(key))
    assert auth.principal_from_token(_token(key, algorithm)).subject == "ref-1"


@pytest.mark.parametrize("pem", [
    "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n",
    _pem(ec.generate_private_key(ec.SECP384R1())),
])
def test_an_unusable_configured_key_refuses_tokens_with_401(
        configure: Callable[[str], None], pem: str) -> None:
    configure(pem)
    with pytest.raises(ProblemError) as refused:
        auth.principal_from_token(_token(EC_KEY, "ES256"))
    assert refused.value.status == 401
