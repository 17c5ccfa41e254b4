"""A notify worker that hands partitions over to a second worker keeps their cases on its
ops board, and sees the new owner's later changes to them (through the summaries' changelog,
dashboard/peers.py), without standby replicas to lean on. The two-worker test starts its
workers together; here the first owns every case before the second joins.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from schemas import topics
from scripts.localsystem import ServiceProcess, free_port
from scripts.webhook_inbox import WebhookReceiver
from services.common.auth import mint_token
from tests.notify.notify_kafka import produce_events
from tests.notify.test_notify_two_workers import (
    SPECIALIST,
    cases_on_every_partition,
    receiver,  # noqa: F401 - fixture
    wait_calls,
    workers_env,
)

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]
OPS = {"Authorization": "Bearer " + mint_token(subject="ops-board", role="ops")}


def board(worker: ServiceProcess) -> dict[str, str]:
    """case id -> status of every card on that worker's ops board."""
    snapshot = httpx.get(f"{worker.url}/api/ops/summary", headers=OPS, timeout=10).json()
    return {card["case_id"]: card["status"]
            for cards in snapshot["columns"].values() for card in cards}


def wait_board(worker: ServiceProcess, want: dict[str, str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        shown = board(worker)
        if all(shown.get(c) == s for c, s in want.items()) or time.monotonic() > deadline:
            return {c: shown.get(c) for c in want}
        time.sleep(0.5)


def start(env: dict[str, str], tmp_path: Path, name: str) -> ServiceProcess:
    (tmp_path / name).mkdir()
    worker = ServiceProcess("notify", {**env, "NOTIFY_PORT": str(free_port())}, tmp_path / name)
    worker.start().wait_healthy(120)
    return worker


def table_rows(worker: ServiceProcess, table: str) -> float:
    """The rows a worker holds in a table (spine_table_rows)."""
    text = httpx.get(f"{worker.url}/metrics", timeout=10).text
    prefix = f'spine_table_rows{{table="{table}"}} '
    return next(float(line[len(prefix):]) for line in text.splitlines()
                if line.startswith(prefix))


def settled_rows(worker: ServiceProcess, table: str, timeout: float = 30) -> float:
    """table_rows once two reads 1.5 s apart agree: rows are written behind, at each commit,
    and the suite's earlier tests left events on the shared topics for the worker to read."""
    deadline, last = time.monotonic() + timeout, table_rows(worker, table)
    while True:
        time.sleep(1.5)
        now = table_rows(worker, table)
        if now == last or time.monotonic() > deadline:
            return now
        last = now


def recovery_log(worker: ServiceProcess, lines: int = 60) -> str:
    """The worker's faust recovery lines (start offsets, highwaters, progress), newest last."""
    text = worker.log_path.read_text(errors="replace").splitlines()
    return "\n".join([line for line in text if "Recovery" in line][-lines:])


def test_a_worker_keeps_the_cases_it_handed_over_on_its_board(
    kafka_bootstrap: str, tmp_path: Path, receiver: WebhookReceiver  # noqa: F811
) -> None:
    # faust's recovery at INFO, shown if the first worker does not become ready again: in 4 of
    # 22 runs (2026-11-28) its recovery waited for changelog records its consumer had taken
    # and dropped during the rebalance (services/common/safe_fetch.py).
    env = workers_env(kafka_bootstrap, tmp_path, receiver) | {
        "FAUST_STANDBY_REPLICAS": "0", "FAUST_LOG_LEVEL": "INFO"}
    first = start(env, tmp_path, "notify-1")
    second = None
    try:
        now = datetime.now(UTC)
        flows = cases_on_every_partition("board")
        for flow in flows:  # all on the first worker: it owns every partition
            produce_events(kafka_bootstrap, topics.ROUTING_EVENTS,
                           [flow.offered(now, specialist=SPECIALIST)])
        ids = {f.case_id for f in flows}
        wait_calls(receiver, "assignment_offered", ids, 90)
        offered = dict.fromkeys(ids, "offered")
        assert wait_board(first, offered) == offered
        tables = ("case_summaries", "notify_cases")
        held_alone = {table: settled_rows(first, table) for table in tables}

        second = start(env, tmp_path, "notify-2")  # takes about half the partitions
        # Judged once the first worker has finished its own side of the rebalance.
        deadline = time.monotonic() + 60
        while httpx.get(f"{first.url}/health/ready", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, (
                "the first worker never became ready again; its recovery:\n"
                + recovery_log(first))
            time.sleep(0.5)
        time.sleep(3)
        # Still every case on the first worker's board, the handed-over ones from the
        # summaries' changelog it follows (dashboard/peers.py).
        assert wait_board(first, offered) == offered
        # Changes made by the new owner reach the old owner's board through the changelog.
        for flow in flows:
            produce_events(kafka_bootstrap, topics.ROUTING_EVENTS,
                           [flow.accepted(now, specialist=SPECIALIST)])
        assigned = dict.fromkeys(ids, "accepted")
        assert wait_board(first, assigned, 90) == assigned
        assert wait_board(second, assigned, 60) == assigned
        # Each case's rows on one worker only: the first dropped those it handed over (faust's
        # memory store kept the rows a worker had written itself; services/common/
        # memory_store.py), so the new owner's erasure of a case leaves no copy behind.
        for table in tables:
            held = (settled_rows(first, table), settled_rows(second, table))
            assert sum(held) == held_alone[table] and held[0] < held_alone[table], (
                table, held, held_alone[table])
    finally:
        if second is not None:
            second.stop()
        first.stop()
