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


def test_no_reservation_is_decided_locally_while_a_rebalance_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.common.partitions import case_partition
    from services.routing.app import LOAD_PARTITIONS, RoutingWorker
    from services.routing.settings import load_settings

    worker = RoutingWorker(load_settings())
    mine = TP(ROUTING_LOAD, case_partition("s1", LOAD_PARTITIONS))
    monkeypatch.setattr(worker.app.assignor, "assigned_actives", lambda: {mine})
    worker.app.rebalancing = False
    assert worker.processor.reserve_here("s1")
    # The assignment still names the partition being revoked: the row written now could land
    # after its next owner recovered it. Over Kafka instead.
    worker.app.rebalancing = True
    assert not worker.processor.reserve_here("s1")
    assert worker.owns_load("s1")  # the lapse sweep's ownership is unchanged


def test_the_case_table_speaks_for_owned_cases_only_outside_a_rebalance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from schemas.topics import CASE_PARTITIONS
    from services.common.partitions import case_partition
    from services.routing.app import RoutingWorker
    from services.routing.settings import load_settings

    worker = RoutingWorker(load_settings())
    mine = case_partition("case-1", CASE_PARTITIONS)
    other = next(f"case-{n}" for n in range(2, 100)
                 if case_partition(f"case-{n}", CASE_PARTITIONS) != mine)
    monkeypatch.setattr(worker.app.assignor, "assigned_actives",
                        lambda: {TP(CASE_TRIAGED, mine)})
    worker.app.rebalancing = False
    assert worker.answers_for("case-1") and not worker.answers_for(other)
    # From revocation to the end of table recovery the row may not be read yet (a new owner).
    worker.app.rebalancing = True
    assert not worker.answers_for("case-1")
