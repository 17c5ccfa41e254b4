"""A malformed event lands on the dead-letter topic with its reason, and the next good one is
still processed: one bad event never stops an agent."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from schemas import topics
from schemas.cases import CaseTriaged
from schemas.dead_letter import DeadLettered
from tests.support.big_referral import small_received
from tests.support.kafka_io import produce, produce_events, wait_for_events

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


def test_malformed_referral_is_dead_lettered_and_the_next_is_triaged(
    kafka_bootstrap: str, start_system
) -> None:
    start_system(("triage",))
    bad_case, good_case = f"bad-{uuid.uuid4().hex[:8]}", f"good-{uuid.uuid4().hex[:8]}"
    garbage = b'{"event_type": "ReferralReceived", "case_id": "' + bad_case.encode() + b'", "age": '
    wrong_field = small_received(bad_case + "-2").model_dump(mode="json")
    wrong_field["referral"]["symptoms"] = {"nrs_back": 14}  # out of range: 0-10

    produce(kafka_bootstrap, topics.REFERRAL_EVENTS, [
        (bad_case.encode(), garbage),
        ((bad_case + "-2").encode(), json.dumps(wrong_field).encode()),
    ])
    produce_events(kafka_bootstrap, topics.REFERRAL_EVENTS, [small_received(good_case)])

    triaged = wait_for_events(
        kafka_bootstrap, topics.CASE_TRIAGED,
        lambda es: any(e.case_id == good_case for e in es),
    )
    assert any(isinstance(e, CaseTriaged) and e.case_id == good_case for e in triaged)

    dead = wait_for_events(
        kafka_bootstrap, topics.DEAD_LETTERS,
        lambda es: {bad_case, bad_case + "-2"} <= {e.case_id for e in es},
    )
    by_case = {e.case_id: e for e in dead if isinstance(e, DeadLettered)}
    garbage_letter = by_case[bad_case]
    assert garbage_letter.source_topic == topics.REFERRAL_EVENTS
    assert garbage_letter.service == "triage"
    # referral.events.v1 carries patient data: the dead letter keeps the location, not the bytes
    assert json.loads(base64.b64decode(garbage_letter.original_value_b64)) == {
        "withheld": True, "size": len(garbage)}
    assert garbage_letter.source_offset >= 0 and garbage_letter.original_key_b64 == (
        base64.b64encode(bad_case.encode()).decode())
    assert "invalid JSON" in garbage_letter.reason or "ValidationError" in garbage_letter.reason
    range_letter = by_case[bad_case + "-2"]
    assert "referral.symptoms.nrs_back" in range_letter.reason
    assert "14" not in range_letter.reason.replace("referral.symptoms.nrs_back", "")
