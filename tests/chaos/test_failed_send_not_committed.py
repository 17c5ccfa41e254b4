"""A result whose send fails while the broker is away must not let its input be committed.

Triage publishes each CaseTriaged without awaiting the broker's ack; faust flushes the producer
before it commits the input offset, but a flush returns whether the sends succeeded or failed
(aiokafka's accumulator waits for the batches, it does not check them). A broker away longer
than `producer_request_timeout` (here 2 s, by FAUST_PRODUCER_REQUEST_TIMEOUT) made the send fail
and the commit pass the referral: it was never triaged. The referral must be triaged after the
outage, by the same worker or, as in a deployment whose liveness probe restarts a crashed one,
by its restart.

How the send is made to happen while the broker is down, every time: triage is frozen
(SIGSTOP), the referral is produced and the broker answers triage's pending fetch with it into
the socket, the broker is stopped, and triage is thawed: it reads the referral, triages it and
sends the result to a broker that is gone. Its log line "case triaged" (written once the send
is queued) proves the order.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest

from schemas import topics
from scripts.localsystem import LocalBroker, ServiceProcess, service_env
from tests.support.big_referral import small_received
from tests.support.kafka_io import produce_events, wait_for_events
from tests.support.polling import wait_until

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

SEND_TIMEOUT = 2.0  # producer_request_timeout in the triage worker under test


def _triaged(bootstrap: str, case_id: str, timeout: float) -> bool:
    try:
        wait_for_events(bootstrap, topics.CASE_TRIAGED,
                        lambda es: any(e.case_id == case_id for e in es), timeout=timeout)
    except TimeoutError:
        return False
    return True


def _logged_triaged(log: Path, case_id: str) -> bool:
    return any('"case triaged"' in line and case_id in line
               for line in log.read_text(errors="replace").splitlines())


def _live(worker: ServiceProcess) -> bool:
    if worker.proc is None or worker.proc.poll() is not None:
        return False
    try:
        return httpx.get(worker.url + "/health/live", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return True  # busy, not dead: the probe is retried


def test_a_referral_whose_result_send_failed_is_triaged_after_the_outage(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Its own broker, since this test stops it; outside tmp_path, whose *.log files a failed
    # test prints (tests/conftest.py) and a broker has segment files of that name.
    broker = LocalBroker(tmp_path_factory.mktemp("outage-kafka")).start()
    env = service_env(bootstrap=broker.bootstrap, data_dir=tmp_path / "data",
                      prefix=f"t{uuid.uuid4().hex[:8]}-",
                      extra={"FAUST_PRODUCER_REQUEST_TIMEOUT": str(SEND_TIMEOUT)})
    worker = ServiceProcess("triage", env, tmp_path).start()
    try:
        worker.wait_healthy(120)
        warm = f"warm-{uuid.uuid4().hex[:8]}"  # the group is assigned, the reader warm
        produce_events(broker.bootstrap, topics.REFERRAL_EVENTS, [small_received(warm)])
        assert _triaged(broker.bootstrap, warm, timeout=60)

        case_id = f"lost-{uuid.uuid4().hex[:8]}"
        assert worker.proc is not None
        os.kill(worker.proc.pid, signal.SIGSTOP)
        try:
            produce_events(broker.bootstrap, topics.REFERRAL_EVENTS, [small_received(case_id)])
            time.sleep(1.0)  # the broker answers the pending fetch with it
            broker.stop()
        finally:
            os.kill(worker.proc.pid, signal.SIGCONT)
        wait_until("triage read the referral and queued its result while the broker was down",
                   lambda: _logged_triaged(worker.log_path, case_id), timeout=20)
        time.sleep(SEND_TIMEOUT + 3.0)  # the send has expired by now
        broker.start(timeout=120)

        # As a liveness probe would: a worker that crashed instead of committing is restarted.
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if _triaged(broker.bootstrap, case_id, timeout=3):
                break
            if not _live(worker):
                worker.stop()
                worker = ServiceProcess("triage", env, tmp_path).start()
                worker.wait_healthy(120)
        assert _triaged(broker.bootstrap, case_id, timeout=1), (
            "the referral read during the outage was committed without its CaseTriaged")
    finally:
        worker.stop()
        broker.stop()
