"""The board's pass over the worker's cases is read in turns (dashboard/views.read_in_turns):
the worker must hand the rows over one by one, not parse them all into a list first, which held
the event loop for the whole parse (200-560 ms at 2,000 cases)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.notify.casefile import CaseSummary
from tests.dashboard.conftest import shift_store


def test_the_workers_board_pass_hands_over_its_own_rows_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.notify.app import NotifyWorker
    from services.notify.config import load_settings

    worker = NotifyWorker(load_settings())
    rows = list(shift_store().summaries.values())
    read: list[str] = []

    def summary_views() -> Iterator[CaseSummary]:
        for row in rows:
            read.append(row.case_id)  # a parse, in the real table
            yield row

    monkeypatch.setattr(worker.processor, "summary_views", summary_views)
    monkeypatch.setattr(worker.peers, "summaries", lambda local: iter(()))
    passing = worker.board_summaries()
    first = next(passing)
    assert read == [first.case_id]
    assert [first, *passing] == rows and len(read) == len(rows) > 1
