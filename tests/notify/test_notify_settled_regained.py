"""A partition that leaves this worker and comes back does not strand its delivered messages.

The dispatcher remembers settled notification ids so a rescan does not send them again while
their outcome reaches the row. A rebalance drops the rows not yet written (their inputs were
not committed): a row still listing a message this worker had delivered came back with the
partition, and the rescan's resubmission was skipped as "settled". The entry stayed in the
outbox for good: never sent again, never settled, counted against the subscriber's cap of 50
and shown as pending. Revocation now forgets what was settled for those partitions, so the
message is sent again (same Idempotency-Key) and settled.
"""

from __future__ import annotations

from tests.notify.test_notify_delivery import FakeReceivers, Rig, note


async def test_a_delivered_message_back_with_its_partition_is_sent_again_and_settled() -> None:
    receivers = FakeReceivers()
    rig = Rig(receivers)
    mine, other = note(1).model_copy(update={"partition": 1}), note(2, case_id="c2")
    other = other.model_copy(update={"partition": 2})
    for message in (mine, other):
        rig.dispatcher.submit(message)
    await rig.dispatcher.idle()
    assert len(receivers.delivered) == 2

    assert rig.dispatcher.forget_settled({1}) == 1  # partition 1 revoked
    for message in (mine, other):  # regained: the rescan finds both still in their rows
        rig.dispatcher.submit(message)
    await rig.dispatcher.idle()
    assert receivers.delivered == [("spec-1", "c1", 1), ("spec-1", "c2", 2),
                                   ("spec-1", "c1", 1)]  # partition 2's stays settled
