"""F4 and the 0644 secret file: outside development mode no service starts without real
secrets; development secrets are generated, private (0600) and never a constant."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common import auth
from services.common.deployment_secrets import MissingSecret, dev_secret_file, required_secret
from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from services.notify.config import load_settings
from services.routing.settings import load_settings as routing_settings
from tests.intake.intake_fakes import FakeIntakeLog

REAL = "r" * 48


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv("SPINE_ENV", raising=False)
    monkeypatch.delenv("AUTH_JWT_SECRET", raising=False)
    monkeypatch.delenv("AUTH_JWT_PUBLIC_KEY", raising=False)
    monkeypatch.delenv("AUTH_JWT_ISSUER", raising=False)
    monkeypatch.delenv("NOTIFY_WEBHOOK_MASTER_SECRET", raising=False)
    monkeypatch.delenv("SPINE_PEER_SECRET", raising=False)
    auth.config.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    auth.config.cache_clear()


def test_no_jwt_key_means_no_start_outside_development(production: pytest.MonkeyPatch) -> None:
    with pytest.raises(MissingSecret, match="AUTH_JWT_SECRET"):
        create_app(IntakeSettings(), log=FakeIntakeLog())
    production.setenv("AUTH_JWT_SECRET", "short")
    with pytest.raises(MissingSecret, match="at least 32"):
        auth.config()
    production.setenv("AUTH_JWT_SECRET", REAL)
    assert auth.config().secret == REAL


def test_a_public_key_with_its_issuer_is_enough(production: pytest.MonkeyPatch) -> None:
    production.setenv("AUTH_JWT_PUBLIC_KEY", "-----BEGIN PUBLIC KEY-----\nx\n")
    production.setenv("AUTH_JWT_ISSUER", "https://idp.example.org/")
    assert auth.config().secret is None and auth.config().issuer == "https://idp.example.org/"


def test_a_public_key_that_is_no_usable_key_means_no_start(
        production: pytest.MonkeyPatch) -> None:
    """It used to start and refuse every token, with one log line on the first."""
    production.setenv("AUTH_JWT_ISSUER", "https://idp.example.org/")
    production.setenv("AUTH_JWT_PUBLIC_KEY", "-----BEGIN PUBLIC KEY-----\nx\n")
    with pytest.raises(MissingSecret, match="AUTH_JWT_PUBLIC_KEY"):
        create_app(IntakeSettings(), log=FakeIntakeLog())
    auth.config.cache_clear()
    production.setenv("AUTH_JWT_PUBLIC_KEY", rsa_public_pem())
    create_app(IntakeSettings(), log=FakeIntakeLog())  # a real key starts


def rsa_public_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def test_a_public_key_without_an_issuer_means_no_start_outside_development(
        production: pytest.MonkeyPatch) -> None:
    # Review 3a, S3: with no issuer PyJWT checks none, so any token the IdP's key signed for
    # the audience (another tenant's, another application's) was accepted.
    production.setenv("AUTH_JWT_PUBLIC_KEY", "-----BEGIN PUBLIC KEY-----\nx\n")
    with pytest.raises(MissingSecret, match="AUTH_JWT_ISSUER"):
        create_app(IntakeSettings(), log=FakeIntakeLog())
    production.setenv("AUTH_JWT_ISSUER", "   ")
    with pytest.raises(MissingSecret, match="AUTH_JWT_ISSUER"):
        auth.config()
    production.setenv("SPINE_ENV", "development")  # development keeps the old behaviour
    assert auth.config().public_key and auth.config().issuer is None


@pytest.mark.parametrize("value", [None, "", "   ", "dev-only-notify-master-secret"])
def test_notify_refuses_a_missing_empty_or_published_master_secret(
    production: pytest.MonkeyPatch, value: str | None
) -> None:
    # F4: unset or empty (as the k8s template shipped it) signed with a constant in the repo.
    if value is not None:
        production.setenv("NOTIFY_WEBHOOK_MASTER_SECRET", value)
    with pytest.raises(MissingSecret, match="NOTIFY_WEBHOOK_MASTER_SECRET"):
        load_settings()
    production.setenv("NOTIFY_WEBHOOK_MASTER_SECRET", REAL)
    production.setenv("SPINE_PEER_SECRET", REAL)
    assert load_settings().master_secret == REAL


@pytest.mark.parametrize("value", [None, "", "short", "dev-only-peer-secret-" + "x" * 40])
def test_routing_and_notify_refuse_a_missing_or_weak_peer_secret(
    production: pytest.MonkeyPatch, value: str | None
) -> None:
    # Their workers trust a request marked as relayed only when this secret signed the mark:
    # without a real one any client could mark its own requests (services/common/forwarding).
    production.setenv("ROUTING_PUBLIC_URL", "https://routing.example.org")
    production.setenv("NOTIFY_WEBHOOK_MASTER_SECRET", REAL)
    if value is not None:
        production.setenv("SPINE_PEER_SECRET", value)
    for load in (routing_settings, load_settings):
        with pytest.raises(MissingSecret, match="SPINE_PEER_SECRET"):
            load()
    peer = "p" * 48
    production.setenv("SPINE_PEER_SECRET", peer)
    assert routing_settings().peer_secret == peer == load_settings().peer_secret
    assert peer not in repr(routing_settings()) + repr(load_settings())


def test_development_secrets_are_generated_private_and_stable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPINE_ENV", "development")
    monkeypatch.delenv("NOTIFY_WEBHOOK_MASTER_SECRET", raising=False)
    path = tmp_path / "run" / "dev-secret"
    first = required_secret("NOTIFY_WEBHOOK_MASTER_SECRET", dev_path=path)
    assert len(first) >= 32 and "dev-only" not in first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert required_secret("NOTIFY_WEBHOOK_MASTER_SECRET", dev_path=path) == first


def test_an_old_world_readable_secret_file_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "dev-jwt-secret"
    path.write_text("x" * 40)
    path.chmod(0o644)
    assert dev_secret_file(path) == "x" * 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
