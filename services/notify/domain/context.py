"""What every notify handler may consult besides the case: the policy, contacts and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.notify.domain.policy import NotifyPolicy
from services.notify.domain.state import Contacts


@dataclass(frozen=True)
class Context:
    """What every handler may consult besides the state: the policy, contacts and the clock."""

    policy: NotifyPolicy
    contacts: Contacts
    # When the event happened (never after the read): clocks start, meet, pause, resume and
    # stop then, so an input read late (lag, restart, rebalance) counts from routing's instant;
    # the messages it causes are dated then too, so applying it again yields the same bodies.
    # A tick looks at the clocks as of then (handlers.event_time).
    at: datetime
