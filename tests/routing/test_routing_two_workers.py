"""Two routing workers in one consumer group on a real broker: the same outcomes as one.

Cases land on every partition, so on both workers; each worker must know the whole directory
(it is not split by partition) and offer or page, never escalate for want of a directory.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from schemas import topics
from schemas.directory import Capacity, Licence
from schemas.routing import AssignmentOffered, CaseEscalated, EmergencyAssigned
from scripts.localsystem import ServiceProcess, service_env
from services.common.partitions import case_partition
from tests.routing.test_routing_e2e import OPS, auth, case_events
from tests.support.directory import put_specialists
from tests.support.kafka_io import produce_events
from tests.support.polling import wait_until
from tests.support.workers import worker_group
from tests.unit.routing.builders import context, shift, specialist, triaged

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

RUN = uuid.uuid4().hex[:6]
JURISDICTION = f"ZY-{RUN}"
ROOMY = Capacity(max_open_cases=100, max_new_per_day=100)


@pytest.fixture(scope="module")
def workers(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[ServiceProcess]]:
    """Two routing workers sharing one group (same app prefix), each on its own port."""
    tmp = tmp_path_factory.mktemp("routing-two")
    env = service_env(bootstrap=kafka_bootstrap, data_dir=tmp / "data", prefix=f"w{RUN}-")
    with worker_group("routing", env, tmp, timeout=180) as started:
        yield started


def cases_on_every_partition(per_partition: int) -> list[str]:
    """Case ids covering every case partition `per_partition` times (so both workers get some)."""
    found: dict[int, list[str]] = {p: [] for p in range(topics.CASE_PARTITIONS)}
    n = 0
    while any(len(ids) < per_partition for ids in found.values()):
        case_id = f"case-{RUN}-{n}"
        n += 1
        bucket = found[case_partition(case_id, topics.CASE_PARTITIONS)]
        if len(bucket) < per_partition:
            bucket.append(case_id)
    return [case_id for ids in found.values() for case_id in ids]


def test_cases_on_both_workers_get_offers_and_emergencies_are_paged(
    kafka_bootstrap: str, workers: list[ServiceProcess]
) -> None:
    licence = [Licence(jurisdiction=JURISDICTION, expires_on=date(2031, 1, 1))]
    on_call = [shift(datetime.now(UTC) - timedelta(hours=1), 48)]
    people = [specialist(f"{RUN}-{name}", licences=licence, capacity=ROOMY, on_call=on_call)
              .model_dump(mode="json") for name in ("s1", "s2", "s3")]
    # Written through one worker (200, or 202 while it works through earlier tests' cases);
    # the other must list them too before any case arrives, or it escalates for lack of anyone.
    put_specialists(workers[1].url, people, OPS, timeout=180)
    for person in people:
        wait_until(f"the other worker lists {person['specialist_id']}", lambda p=person: httpx.get(
            f"{workers[0].url}/directory/specialists/{p['specialist_id']}", headers=OPS,
            timeout=5).status_code == 200, 180)

    case_ids = cases_on_every_partition(2)
    emergencies = set(case_ids[::3])
    ctx = context(jurisdiction=JURISDICTION)
    produce_events(kafka_bootstrap, topics.CASE_TRIAGED, [
        triaged(case_id, urgency="emergency" if case_id in emergencies else "soon",
                emergency=case_id in emergencies, ctx=ctx)
        for case_id in case_ids])

    outcomes = {}
    for case_id in case_ids:
        events = case_events(kafka_bootstrap, case_id, lambda es: any(
            isinstance(e, AssignmentOffered | EmergencyAssigned | CaseEscalated) for e in es),
            timeout=180)
        outcomes[case_id] = {type(e).__name__ for e in events}
    escalated = sorted(c for c, kinds in outcomes.items() if "CaseEscalated" in kinds)
    unpaged = sorted(c for c in emergencies if "EmergencyAssigned" not in outcomes[c])
    unoffered = sorted(c for c in set(case_ids) - emergencies
                       if "AssignmentOffered" not in outcomes[c])
    assert (escalated, unpaged, unoffered) == ([], [], [])
    # Both workers decided cases: neither was idle, so the directory reached both.
    deciders = [sum(case_id in w.log_text() for case_id in case_ids) for w in workers]
    assert all(n > 0 for n in deciders), deciders

    # Either worker answers for any case: the one not owning it relays to the owner.
    for case_id in case_ids:
        answers = [httpx.get(f"{w.url}/cases/{case_id}/routing", headers=OPS, timeout=30)
                   for w in workers]
        assert [a.status_code for a in answers] == [200, 200], (case_id, answers[0].text)
        assert answers[0].json()["case_id"] == answers[1].json()["case_id"] == case_id
    # A specialist's offers span both workers' cases: either worker lists them all.
    offered = [c for c in case_ids if c not in emergencies]
    holders = {}
    for case_id in offered:
        holders[case_id] = next(e.specialist_id for e in case_events(  # type: ignore[attr-defined]
            kafka_bootstrap, case_id, lambda es: True) if isinstance(e, AssignmentOffered))
    # The reviewer's case view and the report reads too, for the offer holder and for ops.
    for case_id, holder in holders.items():
        for who in (auth("specialist", holder), OPS):
            views = [httpx.get(f"{w.url}/cases/{case_id}/review", headers=who, timeout=30)
                     for w in workers]
            assert [v.status_code for v in views] == [200, 200], (case_id, views[0].text)
            assert views[0].json() == views[1].json()
            assert views[0].json()["case_id"] == case_id
        reports = [httpx.get(f"{w.url}/cases/{case_id}/reports", headers=OPS, timeout=30)
                   for w in workers]
        assert [r.status_code for r in reports] == [200, 200], (case_id, reports[0].text)
        assert reports[0].json() == reports[1].json()
    for specialist_id in set(holders.values()):
        expected = sorted(c for c, s in holders.items() if s == specialist_id)
        for w in workers:
            listed = httpx.get(f"{w.url}/me/offers", headers=auth("specialist", specialist_id),
                               timeout=30)
            assert listed.status_code == 200, listed.text
            assert sorted(o["case_id"] for o in listed.json()) == expected
    # A specialist's accept, sent to both workers for cases of both, is decided by the owner.
    for i, case_id in enumerate(offered[:4]):
        holder = next(e.specialist_id for e in case_events(  # type: ignore[attr-defined]
            kafka_bootstrap, case_id, lambda es: True) if isinstance(e, AssignmentOffered))
        entry = workers[i % 2]
        answer = httpx.post(f"{entry.url}/offers/{case_id}/spine_surgery/accept",
                            headers=auth("specialist", holder), timeout=30)
        assert answer.status_code == 200 and answer.json()["status"] == "ok", answer.text
