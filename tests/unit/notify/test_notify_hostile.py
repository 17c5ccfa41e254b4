"""F9 and bounded state on notify: odd tickets and signatures are refusals, never 500s; a
case's outbox is capped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notify.dashboard.tickets import InvalidTicket, TicketSigner
from services.notify.delivery.signing import verify

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("ticket", ["é", "abc.é", "b3BzLTF8OTk5OTk5OTk5OQ.ñ", "\u2603.\u2603"])
def test_non_ascii_stream_tickets_are_refused_not_crashed(ticket: str) -> None:
    # F9: compare_digest raised TypeError on a non-ASCII str, a 500 on the stream route.
    with pytest.raises(InvalidTicket):
        TicketSigner().verify(ticket, now=NOW)


def test_non_ascii_webhook_signatures_do_not_verify() -> None:
    assert verify(b"k", "1000", b"{}", "sha256=é", now=1000.0) is False


# The outbox's bounds (per subscriber, per case, critical kinds): test_notify_outbox_caps.py.
