"""The clock timer waits for the specialist directory as well as the tables: an escalation's
team-lead step names the assignee's lead from the directory, and a tick applied before it was
read (start-up) sent that step to the subscribers file's lead for the team, or to nobody, and
the chain moved past the step for good."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from services.notify.domain.state import CaseState
from tests.unit.notify.notify_builders import T0


async def test_no_tick_goes_out_before_the_directory_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.notify import app as notify_app
    from services.notify.config import load_settings

    worker = notify_app.NotifyWorker(load_settings())
    sent: list[str] = []

    async def send_event(topic: object, event: object, **kwargs: object) -> None:
        sent.append(event.case_id)  # type: ignore[attr-defined]

    monkeypatch.setattr(notify_app, "send_event", send_event)
    worker.processor.index.update(CaseState(case_id="case-1", next_due_at=T0))
    worker.recovered = True
    assert not worker.directory.loaded
    assert await worker.send_due_ticks() == 0 and sent == []

    worker.directory._follower = SimpleNamespace(loaded=True)  # type: ignore[assignment]
    assert await worker.send_due_ticks() == 1 and sent == ["case-1"]
