"""Which case partitions the offer-expiry timer may tick: the active case_triaged ones."""

from __future__ import annotations

import pytest
from faust.types import TP

from schemas.topics import CASE_TRIAGED, ROUTING_LOAD


def test_owned_case_partitions_are_the_active_case_triaged_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.routing.app import RoutingWorker
    from services.routing.settings import load_settings

    worker = RoutingWorker(load_settings())
    monkeypatch.setattr(worker.app.assignor, "assigned_actives",
                        lambda: {TP(CASE_TRIAGED, 3), TP(CASE_TRIAGED, 6), TP(ROUTING_LOAD, 1)})
    assert worker.owned_case_partitions() == {3, 6}
