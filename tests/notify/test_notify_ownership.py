"""The timers' ownership check: one read of faust's assignment per pass, not one per case."""

from __future__ import annotations

import pytest
from faust.types import TP

from schemas import topics


def test_ownership_reads_the_assignment_once_and_answers_per_partition(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.notify.app import NotifyWorker
    from services.notify.config import load_settings

    worker = NotifyWorker(load_settings())
    reads = []

    def assigned_actives() -> set[TP]:
        reads.append(1)
        return {TP(topics.ROUTING_EVENTS, 1), TP(topics.ROUTING_EVENTS, 5),
                TP(topics.CASE_TRIAGED, 2)}  # another topic's partition 2 is not a case's

    monkeypatch.setattr(worker.app.assignor, "assigned_actives", assigned_actives)
    owns = worker.ownership()
    answers = [owns(p) for p in (0, 1, 2, 5, None)]
    assert answers == [False, True, False, True, True]  # None: partition not known yet
    assert len(reads) == 1
    assert [worker.is_owned(p) for p in (1, 2)] == [True, False]  # is_owned agrees
