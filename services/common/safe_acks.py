"""No offset is committed past a message nobody processed: acks are refused across rebalances.

The mechanism behind "a killed routing worker lost work" (issue 14): when a rebalance starts,
faust suspends flow control; a stream that then takes a message from its buffer, or one fetched
under the previous generation, *skips* it and still *acks* it (faust.streams, "we want to ack
the filtered out message otherwise the lag would increase"). The consumer has just forgotten
the partition's committed offset (revocation pops it), so the "gap at the head" guard of
Consumer._new_offset is off, and the next commit (the commit timer runs every second, also
during the rebalance) moves the group's offset past every skipped message. The partition's
next owner starts there: the skipped cases are never handled and the group shows no lag.
(faust-streaming issues #216, #221 and #312/#606 describe neighbouring symptoms.)

The fix at that root: an ack counts only if it comes from the current generation while flow
is active. Skipped messages are then never acked, so the committed offset stays before them
and their next owner reads them again. An event that was really processed during the
rebalance is not acked either and is handled once more by the next owner: at-least-once, and
derived event ids make the repeat a no-op downstream.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.transport.drivers.aiokafka import Consumer


class GenerationSafeConsumer(Consumer):
    """faust's aiokafka consumer, refusing acks of messages from a rebalance window."""

    def ack(self, message: Any) -> bool:
        """Record the ack only for the current generation with flow active; else refuse it."""
        app = self.app
        if (message.generation_id != app.consumer_generation_id
                or not app.flow_control.is_active()):
            return False
        return bool(super().ack(message))


def use_generation_safe_acks(app: faust.App) -> faust.App:
    """Make `app` create the generation-safe consumer (before the worker starts it)."""
    app.transport.Consumer = GenerationSafeConsumer  # type: ignore[misc]
    return app
