"""An update whose event reached Kafka but whose registry record did not (the write timed out
between the two: 503 to the client) leaves the registry one revision behind the topic. The next
update was numbered from the registry, so it reused the landed revision's number under another
event id, and routing drops a second ReferralReceived of a revision it has as stale: an
accepted update (202) that no specialist ever saw. The next revision is now numbered past the
highest one the Task view has read from referral.events.v1."""

from __future__ import annotations

from schemas.cases import ReferralReceived
from schemas.topics import REFERRAL_EVENTS
from services.common.follow import Record
from tests.intake.intake_fakes import EventOnlyLog, bearer, running_intake
from tests.unit.intake.intake_builders import referral_body

NORTH = bearer("ref-north-gp")


def test_the_update_after_a_half_written_one_gets_a_new_revision_number() -> None:
    log = EventOnlyLog()
    with running_intake(log) as (client, _):
        intake = client.app.state.intake  # type: ignore[attr-defined]
        case_id = client.post("/referrals", json=referral_body(), headers=NORTH).json()["case_id"]
        log.cut = True
        lost_ack = client.put(f"/referrals/{case_id}", json=referral_body(age=53), headers=NORTH)
        assert lost_ack.status_code == 503
        landed = log.records[-1]
        assert landed.topic == REFERRAL_EVENTS
        # The status feed reads the landed revision 2 from referral.events.v1:
        intake.on_status_record(Record(landed.topic, 0, 0, landed.key.encode(), landed.value))
        later = client.put(f"/referrals/{case_id}", json=referral_body(age=60), headers=NORTH)
    assert later.status_code == 202, later.text
    revisions = [e.revision for e in log.events() if isinstance(e, ReferralReceived)]
    assert revisions == [1, 2, 3] and later.json()["revision"] == 3
