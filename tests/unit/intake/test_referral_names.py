"""How a bundle names its referral: identifier first, then Bundle identifier and MessageHeader
id, then the fullUrl scoped to the sender; the first name derives the case id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from services.intake.domain.identity import Name, derivation_key
from services.intake.fhir.bundle import load_bundle
from services.intake.fhir.identity import referral_names
from services.intake.fhir.mapping import referral_request

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures/fhir/fbss-recurrent-disc.message.json"
SENDER = "https://north-gp.example/fhir"
FULL_URL = "urn:uuid:00000000-0000-4000-8000-000000000002"


def names_of(bundle: dict[str, Any]) -> list[Name]:
    index = load_bundle(json.dumps(bundle).encode())
    return referral_names(index, referral_request(index))


def fixture() -> dict[str, Any]:
    return dict(json.loads(FIXTURE.read_text()))


def test_every_name_in_order_of_preference() -> None:
    bundle = fixture()
    bundle["identifier"] = {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:msg-1"}
    bundle["entry"][0]["resource"]["id"] = "header-7"
    assert names_of(bundle) == [
        Name("identifier", "https://north-gp.example/referrals", "NGP-2026-0042"),
        Name("bundle", "urn:ietf:rfc:3986", "urn:uuid:msg-1"),
        Name("message", "", "header-7"),
        Name("local", SENDER, FULL_URL),
    ]
    assert derivation_key(names_of(bundle)) == "NGP-2026-0042"  # the JSON twin's referral_id


def test_without_identifiers_the_message_header_id_then_the_scoped_full_url() -> None:
    bundle = fixture()
    del bundle["entry"][1]["resource"]["identifier"]
    bundle["entry"][0]["resource"]["id"] = "header-7"
    assert names_of(bundle)[0] == Name("message", "", "header-7")
    del bundle["entry"][0]["resource"]["id"]
    only = names_of(bundle)
    assert only == [Name("local", SENDER, FULL_URL)]
    assert derivation_key(only) == f"local|{SENDER}|{FULL_URL}"
