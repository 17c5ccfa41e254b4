"""A message's names are tried in order of preference, each against live and erased cases
alike: its identifier naming an erased case wins over a reused secondary name (a bundle id, a
fullUrl) that names a live one, so an erased case's referral is never applied to another case.
A new referral (a submit) is Gone only when its identifier (the name its case id derives
from) names an erased case: a fullUrl it shares with one does not make a new referral_id 410."""

from __future__ import annotations

import copy
from typing import Any

from tests.intake.intake_fakes import bearer, running_intake
from tests.intake.test_intake_erased_names import assert_gone, post, update_of
from tests.intake.test_intake_fhir_identity import cancel_of, message

NORTH = bearer("ref-north-gp")
OPS = bearer("ops-1", role="ops")
E_ID = {"system": "https://north-gp.example/referrals", "value": "NGP-2026-0042"}
L_ID = {"system": "https://north-gp.example/referrals", "value": "NGP-2026-0777"}
L_BUNDLE = {"system": "https://north-gp.example/bundles", "value": "B-0777"}


def with_bundle_id(bundle: dict[str, Any], identifier: dict[str, str]) -> dict[str, Any]:
    named = copy.deepcopy(bundle)
    named["identifier"] = identifier
    return named


def test_an_update_naming_an_erased_case_first_is_gone_not_applied_to_a_live_case() -> None:
    with running_intake() as (client, log):
        erased = post(client, message()).json()["case_id"]  # E_ID, then the shared fullUrl
        live_msg = message(sender="https://north-gp.example/fhir-2")  # its own fullUrl scope
        live_msg["entry"][1]["resource"]["identifier"] = [L_ID]
        live = post(client, with_bundle_id(live_msg, L_BUNDLE)).json()["case_id"]
        assert live != erased
        assert client.delete(f"/referrals/{erased}/patient-data", headers=OPS).status_code == 202
        written = len(log.records)
        # E's identifier first; a bundle id reused from L's message second.
        update = post(client, with_bundle_id(update_of(message(), identifier=E_ID), L_BUNDLE))
        assert len(log.records) == written  # nothing written for L
        assert client.get(f"/referrals/{live}", headers=NORTH).json()["revision"] == 1
    assert_gone(update)


def test_a_new_referral_sharing_only_a_full_url_with_an_erased_case_opens_a_case() -> None:
    with running_intake() as (client, _log):
        erased = post(client, message(identifier=False)).json()["case_id"]  # by fullUrl only
        assert client.delete(f"/referrals/{erased}/patient-data", headers=OPS).status_code == 202
        fresh = post(client, message())  # a new identifier, the same fullUrl
        assert fresh.status_code == 202, fresh.text
        assert fresh.json()["case_id"] != erased
        # A message naming it by that fullUrl alone still finds the erased case.
        assert_gone(post(client, cancel_of(message(identifier=False), identifier=None)))
