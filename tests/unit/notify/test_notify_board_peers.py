"""Every worker's board shows every case: other workers' rows come from the summaries'
changelog (dashboard/peers.py), and each row carries its real SLA deadlines (the owner stamps
them from its clocks), so a card read on another worker is as good as on the owner."""

from __future__ import annotations

from datetime import timedelta

from services.common.follow import Record
from services.notify.casefile import apply_event as fold
from services.notify.casefile.clocks import with_deadlines
from services.notify.casefile.models import CaseSummary
from services.notify.dashboard.ops_watch import summary_deadlines
from services.notify.dashboard.peers import PeerSummaries
from services.notify.domain import sla
from tests.unit.notify.notify_builders import T0, CaseFlow, Harness


def row(case_id: str, partition: int, summary: CaseSummary | None = None) -> Record:
    value = (summary or CaseSummary(case_id=case_id)).model_dump_json().encode()
    return Record(topic="changelog", partition=partition, offset=0, key=case_id.encode(),
                  value=value)


def test_the_board_gets_every_case_this_worker_does_not_hold() -> None:
    peers = PeerSummaries()
    for case_id, partition in (("a", 0), ("b", 1), ("c", 2), ("d", 3), ("e", 3)):
        peers.on_record(row(case_id, partition))
    # "a" and "b" are on partitions this worker owns, but its table holds only "a" so far
    # (still recovering): "b" is shown from the changelog rather than vanishing meanwhile.
    # A row this worker holds itself is its own, fresher copy: never shown twice.
    assert sorted(s.case_id for s in peers.summaries(local={"a", "d"})) == ["b", "c", "e"]
    peers.on_record(Record(topic="changelog", partition=3, offset=1, key=b"e", value=None))
    assert sorted(s.case_id for s in peers.summaries(local={"a"})) == ["b", "c", "d"]  # erased


def test_rows_are_bounded_least_recently_updated_first() -> None:
    peers = PeerSummaries(max_cases=2)
    for case_id in ("a", "b", "c"):
        peers.on_record(row(case_id, 5))
    peers.on_record(row("b", 5))  # updated: now the newest
    peers.on_record(row("d", 5))
    assert len(peers) == 2
    assert sorted(s.case_id for s in peers.summaries(local=set())) == ["b", "d"]


def test_an_offered_cards_row_carries_the_acceptance_deadline_before_any_sla_event() -> None:
    flow, h = CaseFlow(), Harness()
    summary = None
    for event in (flow.received(T0), flow.triaged(T0), flow.offered(T0)):
        h.apply(event)
        summary = fold(summary, event)
    assert summary is not None and h.state is not None
    assert summary_deadlines(summary) == {}  # the row alone knew no deadline (issue 12)
    known = sla.running_deadlines(h.state.clocks.values(), T0)
    assert known and all(when > T0 for when in known.values())
    stamped = with_deadlines(summary, known)
    assert summary_deadlines(stamped)  # the acceptance clock now shows when it is due
    assert summary_deadlines(stamped) == {k: v for k, v in known.items()
                                          if k in summary.clocks}
    assert with_deadlines(stamped, known) is stamped  # nothing missing: the same row
    later = {k: v + timedelta(hours=1) for k, v in known.items()}
    assert summary_deadlines(with_deadlines(stamped, later)) == summary_deadlines(stamped)


def test_a_lookup_by_id_and_the_board_share_one_parse_per_change() -> None:
    peers = PeerSummaries(max_cases=2)
    peers.on_record(row("a", 1))
    looked_up = peers.summary("a")
    assert looked_up is not None and looked_up.case_id == "a"
    assert [s for s in peers.summaries(local=set())] == [looked_up]
    assert peers.summary("a") is looked_up and peers.parses == 1
    peers.on_record(row("a", 1))  # the same bytes again (a reconnect re-reads): still parsed
    assert peers.summary("a") is looked_up and peers.parses == 1
    peers.on_record(row("a", 1, CaseSummary(case_id="a", referrer_id="ref-9")))
    changed = peers.summary("a")
    assert changed is not None and changed.referrer_id == "ref-9" and peers.parses == 2
    peers.on_record(row("b", 1))
    peers.on_record(row("c", 1))  # "a" is forgotten, its parse with it
    assert peers.summary("a") is None and peers.summary("zz") is None
    peers.on_record(Record(topic="changelog", partition=1, offset=1, key=b"c", value=None))
    assert peers.summary("c") is None  # erased
