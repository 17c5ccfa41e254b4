"""Outside development mode routing refuses to start without a real ROUTING_PUBLIC_URL: its
loopback default once put http://127.0.0.1 links into every production offer."""

from __future__ import annotations

import pytest

from services.routing.settings import load_settings, public_url_from_env


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("SPINE_ENV", raising=False)
    monkeypatch.delenv("ROUTING_PUBLIC_URL", raising=False)
    monkeypatch.delenv("ROUTING_PORT", raising=False)
    monkeypatch.setenv("SPINE_PEER_SECRET", "p" * 40)
    return monkeypatch


@pytest.mark.parametrize("value", [None, "", "   "])
def test_unset_public_url_means_no_start_outside_development(
    production: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is not None:
        production.setenv("ROUTING_PUBLIC_URL", value)
    with pytest.raises(ValueError, match="ROUTING_PUBLIC_URL is not set"):
        load_settings()


@pytest.mark.parametrize("value", [
    "http://routing.example.org",  # links must not leave over plain http
    "routing.example.org",  # not absolute
    "https://",  # no host
    "https:///cases",
    "https://routing.example.org/?x=1",  # the links append /cases/...: a query would break them
    "https://routing.example.org:port",
])
def test_a_public_url_that_is_not_absolute_https_is_refused(
    production: pytest.MonkeyPatch, value: str
) -> None:
    production.setenv("ROUTING_PUBLIC_URL", value)
    with pytest.raises(ValueError, match="ROUTING_PUBLIC_URL"):
        public_url_from_env()


def test_a_real_public_url_is_the_base_of_offer_links(production: pytest.MonkeyPatch) -> None:
    production.setenv("ROUTING_PUBLIC_URL", "https://spine.example.org/routing/")
    assert load_settings().policy.public_url == "https://spine.example.org/routing"


def test_development_mode_keeps_the_loopback_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_ENV", "development")
    monkeypatch.delenv("ROUTING_PUBLIC_URL", raising=False)
    monkeypatch.setenv("ROUTING_PORT", "9003")
    assert public_url_from_env() == "http://127.0.0.1:9003"
    monkeypatch.setenv("ROUTING_PUBLIC_URL", "http://localhost:8301")
    assert public_url_from_env() == "http://localhost:8301"
