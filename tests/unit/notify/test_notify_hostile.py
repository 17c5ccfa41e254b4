"""F9 and bounded state on notify: odd tickets and signatures are refusals, never 500s; a
case's outbox is capped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notify.dashboard.tickets import InvalidTicket, TicketSigner
from services.notify.delivery.signing import verify
from services.notify.domain.outbox import MAX_PER_SUBSCRIBER
from services.notify.domain.state import CaseState, Outcome

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("ticket", ["é", "abc.é", "b3BzLTF8OTk5OTk5OTk5OQ.ñ", "\u2603.\u2603"])
def test_non_ascii_stream_tickets_are_refused_not_crashed(ticket: str) -> None:
    # F9: compare_digest raised TypeError on a non-ASCII str, a 500 on the stream route.
    with pytest.raises(InvalidTicket):
        TicketSigner().verify(ticket, now=NOW)


def test_non_ascii_webhook_signatures_do_not_verify() -> None:
    assert verify(b"k", "1000", b"{}", "sha256=é", now=1000.0) is False


def test_the_outbox_is_capped() -> None:
    outcome = Outcome(state=CaseState(case_id="c1"))
    for i in range(MAX_PER_SUBSCRIBER + 5):
        outcome.notify(audience="ops", subscriber_id="ops-1", kind="case_withdrawn",
                       cause_event_id=f"e{i}", now=NOW, data={})
    assert len(outcome.state.outbox) == MAX_PER_SUBSCRIBER
    assert len(outcome.skipped) == 5 and outcome.skipped[0].startswith("outbox_full")
