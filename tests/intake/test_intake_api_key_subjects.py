"""Review 3a, S3: an API key's subject gets the bound a token's subject gets. The subject
becomes the referrer id in commands and events, whose fields are bounded: an API key configured
with a longer (or blank) subject failed building them mid-request instead of a 401."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from services.common import auth
from tests.intake.intake_fakes import running_intake
from tests.unit.intake.intake_builders import referral_body

KEY = "test-system-key-misconfigured"


@pytest.mark.parametrize("subject", ["s" * 101, "s" * 129, "", " "])
def test_an_api_key_whose_subject_cannot_be_an_id_is_401(
        monkeypatch: pytest.MonkeyPatch, subject: str) -> None:
    monkeypatch.setenv("AUTH_API_KEYS", json.dumps(
        {auth.hash_api_key(KEY): {"subject": subject, "role": "system"}}))
    auth.config.cache_clear()
    client: TestClient
    with running_intake() as (client, log):
        answer = client.post("/referrals", json=referral_body(), headers={"X-API-Key": KEY})
        assert answer.status_code == 401, answer.text
        assert answer.json()["detail"] == "API key subject must be 1 to 100 characters"
        assert log.records == []


def test_an_api_key_of_100_characters_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_API_KEYS", json.dumps(
        {auth.hash_api_key(KEY): {"subject": "s" * 100, "role": "system"}}))
    auth.config.cache_clear()
    assert auth.principal_from_api_key(KEY).subject == "s" * 100
