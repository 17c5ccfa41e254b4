"""Verified bearer tokens are remembered until they expire: a request's guard and its route
both authenticate it, and a referral system sends one token with many requests (issue 13)."""

from __future__ import annotations

import time

import pytest

from services.common import auth
from services.common.auth import AuthConfig, Principal, VerifiedTokens, mint_token
from services.common.problems import ProblemError


def _config(secret: str) -> AuthConfig:
    return AuthConfig(secret=secret, public_key=None, audience="spine-router", issuer=None,
                      api_keys={})


CFG = _config("s" * 32)
WHO = Principal(subject="ref-1", role="referrer")


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token that reached the signature check, on a fresh cache."""
    seen: list[str] = []
    real = auth._verify

    def counting(token: str, cfg: AuthConfig) -> tuple[Principal, float]:
        seen.append(token)
        return real(token, cfg)

    monkeypatch.setattr(auth, "_verify", counting)
    monkeypatch.setattr(auth, "_verified", VerifiedTokens())
    return seen


def test_a_token_is_verified_once_and_answers_the_same_principal(
        verifications: list[str]) -> None:
    token = mint_token(subject="ref-1", role="referrer", scopes=("referrals:write",))
    first, second = auth.principal_from_token(token), auth.principal_from_token(token)
    assert first == second and first.subject == "ref-1" and first.role == "referrer"
    assert "referrals:write" in first.scopes
    assert verifications == [token]


def test_a_tampered_token_and_a_bad_one_are_refused_every_time(verifications: list[str]) -> None:
    token = mint_token(subject="ref-1", role="referrer")
    auth.principal_from_token(token)
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    for _ in range(2):
        with pytest.raises(ProblemError) as refused:
            auth.principal_from_token(tampered)
        assert refused.value.status == 401
        with pytest.raises(ProblemError):
            auth.principal_from_token("not-a-jwt")
    assert verifications == [token, tampered, "not-a-jwt", tampered, "not-a-jwt"]


def test_a_remembered_token_is_verified_again_once_its_entry_ends(
        monkeypatch: pytest.MonkeyPatch, verifications: list[str]) -> None:
    clock = Clock(time.time())
    monkeypatch.setattr(auth, "_verified", VerifiedTokens(clock))
    token = mint_token(subject="ref-1", role="referrer")
    auth.principal_from_token(token)
    auth.principal_from_token(token)
    clock.now += VerifiedTokens.MAX_AGE_SECONDS
    auth.principal_from_token(token)
    assert verifications == [token, token]


def test_an_expired_token_is_refused_every_time(verifications: list[str]) -> None:
    token = mint_token(subject="ref-1", role="referrer", ttl_seconds=60, now=time.time() - 120)
    for _ in range(2):
        with pytest.raises(ProblemError) as refused:
            auth.principal_from_token(token)
        assert refused.value.detail == "token expired"
    assert verifications == [token, token]


def test_entries_end_at_exp_or_max_age_and_with_another_key_configuration() -> None:
    clock = Clock()
    tokens = VerifiedTokens(clock)
    tokens.put("t", CFG, expires_at=1_010.0, principal=WHO)
    clock.now = 1_009.9
    assert tokens.get("t", CFG) == WHO
    assert tokens.get("t", _config("r" * 32)) is None  # a new configuration: gone
    tokens.put("t", CFG, expires_at=1_010.0, principal=WHO)
    clock.now = 1_010.0
    assert tokens.get("t", CFG) is None and len(tokens) == 0
    tokens.put("long", CFG, expires_at=clock.now + 86_400, principal=WHO)
    clock.now += VerifiedTokens.MAX_AGE_SECONDS
    assert tokens.get("long", CFG) is None


def test_the_cache_is_bounded_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(VerifiedTokens, "MAX_ENTRIES", 3)
    tokens = VerifiedTokens(Clock())
    for name in "abcd":
        tokens.put(name, CFG, expires_at=2_000.0, principal=WHO)
    assert len(tokens) == 3
    assert tokens.get("a", CFG) is None and tokens.get("d", CFG) == WHO
