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
    now: datetime  # processing time: when ticks look at the clocks
    # When the event happened (never after `now`): clocks start, meet, pause, resume and stop
    # then, so an input read late (lag, restart, rebalance) counts from routing's instant; the
    # messages it causes are dated then too, so applying it again yields the same bodies.
    at: datetime
