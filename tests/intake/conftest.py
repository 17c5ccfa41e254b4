"""Intake test fixtures: API keys for system clients (auth config is read once, so reset it)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from services.common import auth

SYSTEM_KEY = "test-system-key-north-gp"
SYSTEM_KEYS = {auth.hash_api_key(SYSTEM_KEY): {"subject": "ref-north-gp", "role": "system"}}


@pytest.fixture(autouse=True)
def system_api_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """AUTH_API_KEYS with one referral-system key whose subject is ref-north-gp."""
    monkeypatch.setenv("AUTH_API_KEYS", json.dumps(SYSTEM_KEYS))
    auth.config.cache_clear()
    yield
    auth.config.cache_clear()
