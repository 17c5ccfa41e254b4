"""The whole path on the real broker: four service processes, referrals POSTed over HTTP, and the
signed webhooks a fake specialist and referrer endpoint receive for each case."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas import topics
from schemas.cases import CaseTriaged
from scripts.webhook_inbox import ReceivedCall, WebhookReceiver
from services.common.auth import mint_token
from services.notify.delivery.signing import derive_secret, verify
from tests.e2e.conftest import referrer_subscribed
from tests.support.directory import put_specialists
from tests.support.kafka_io import wait_for_events

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

MASTER = "e2e-master-secret"
# This run's own jurisdiction: specialists other tests left in the shared directory (licensed
# for GB-ENG, some with less load) are not eligible for these cases.
JURISDICTION = f"ZZ-{uuid.uuid4().hex[:8]}"
REFERRER = "ref-e2e"
# Patient-identifying values planted in every referral; none may appear in any service log.
PLANTED = {
    "name": "Jane Planted", "birth_date": "1961-07-23", "identifier": "943-476-5919",
    "question": "Zebracorn question text", "report": "Quokkaform report phrase",
    # Free text triage reads (PyRuSH would log it token by token if it were not silenced).
    "free_text": "Quillbottom cannot feel the toilet paper when wiping and has wet herself twice",
    "letter": "Dear Dr Vexworthy, both legs painful since the weekend",
}
ALWAYS = {"starts_at": "2000-01-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}
ANY_TIME = {"weekdays": [0, 1, 2, 3, 4, 5, 6], "start": "00:00:00", "end": "23:59:59"}


def _lag_sampled(url: str, service: str, within_seconds: float = 60.0) -> bool:
    sample = f'spine_consumer_lag_messages{{partition="0",service="{service}"'
    deadline = time.monotonic() + within_seconds
    while time.monotonic() < deadline:
        if sample in httpx.get(f"{url}/metrics", timeout=5).text:
            return True
        time.sleep(1)
    return False


def _specialist(sid: str, role: str, inbox: WebhookReceiver, **extra: Any) -> dict[str, Any]:
    return {
        "specialist_id": sid, "name": f"Dr {sid}", "role": role,
        "licences": [{"jurisdiction": JURISDICTION, "expires_on": "2099-01-01"}],
        "working_hours": ANY_TIME, "webhook_url": f"{inbox.base_url}/hooks/{sid}",
        "capacity": {"max_open_cases": 50, "max_new_per_day": 50}, **extra,
    }


def _referral(kind: str) -> dict[str, Any]:
    base: dict[str, Any] = {
        "referral_id": f"{kind}-{uuid.uuid4().hex[:10]}", "referral_type": "post_surgery",
        "region": "lumbar", "age": 47, "sex": "M",
        "referrer": {"id": "whatever-the-body-says"},
        "patient": {"pseudonym": f"p-{kind}", "jurisdiction": JURISDICTION, "name": PLANTED["name"],
                    "birth_date": PLANTED["birth_date"], "preferred_language": "en",
                    "identifiers": [{"system": "https://fhir.nhs.uk/Id/nhs-number",
                                     "value": PLANTED["identifier"]}]},
        "clinical_question": PLANTED["question"],
        "surgeries": [{"procedure": "microdiscectomy", "levels": ["L5-S1"],
                       "weeks_before_referral": 40, "surgeon_id": "surgeon-original",
                       "institution_id": "inst-original"}],
        "imaging": [{"modality": "mri", "weeks_ago": 2, "report_text": PLANTED["report"]}],
    }
    if kind == "ces":
        base["red_flags"] = {"saddle_anaesthesia": True,
                             "bladder_change": "retention_or_incontinence"}
        base["timeline"] = {"current_episode_days": 2, "trajectory": "worsening_rapid"}
    elif kind == "ces_text":  # the same emergency, written only in the referrer's words
        base["clinical_question"] = PLANTED["free_text"] + "."
        base["narratives"] = [{"source": "letter", "text": PLANTED["letter"] + "."}]
    else:  # facet-type axial pain: pain medicine and physiotherapy, routine
        base["symptoms"] = {"pain_distribution": "axial", "dominant": "back", "nrs_back": 6,
                            "nrs_limb": 0, "aggravators": ["extension_rotation"]}
        base["timeline"] = {"pain_free_interval_weeks": 30, "onset_weeks_after_last_surgery": 35,
                            "trajectory": "stable", "current_episode_days": 120}
        base["neuro_exam"] = {"facet_loading_positive": True}
        base["diagnostic_blocks"] = [{"type": "medial_branch", "level": "L4-5", "relief_pct": 80}]
    return base


def _body(call: ReceivedCall) -> dict[str, Any]:
    return call.json() if call.body.startswith(b"{") else {}


def _for_case(calls: list[ReceivedCall], case_id: str) -> list[ReceivedCall]:
    return [c for c in calls if _body(c).get("case_id") == case_id]


@pytest.fixture
def inbox() -> Any:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def test_referrals_flow_from_intake_to_specialist_webhooks(
    kafka_bootstrap: str, start_system: Any, inbox: WebhookReceiver, tmp_path: Path
) -> None:
    system = start_system(extra_env=referrer_subscribed(
        tmp_path, inbox, REFERRER, NOTIFY_WEBHOOK_MASTER_SECRET=MASTER))
    ops = {"Authorization": "Bearer " + mint_token(subject="ops-e2e", role="ops")}
    people = [
        _specialist("oncall-1", "emergency_on_call", inbox, on_call=[ALWAYS]),
        _specialist("pain-1", "pain_medicine", inbox),
        _specialist("physio-1", "physiotherapy", inbox),
        # Same institution as the original surgeon: must never be offered these cases.
        _specialist("pain-conflicted", "pain_medicine", inbox, institution_id="inst-original",
                    capacity={"max_open_cases": 500, "max_new_per_day": 500}),
    ]
    routing = system["routing"].url
    # The directory API: changes take effect without a restart.
    put_specialists(routing, people, ops)

    token = mint_token(subject=REFERRER, role="referrer")
    case_ids = {}
    for kind in ("ces", "ces_text", "facet"):
        r = httpx.post(f"{system['intake'].url}/referrals", json=_referral(kind),
                       headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert r.status_code == 202, r.text
        case_ids[kind] = r.json()["case_id"]

    def complete(calls: list[ReceivedCall]) -> bool:
        kinds = {(_body(c).get("case_id"), _body(c).get("kind")) for c in calls}
        # Pain medicine's own offer: the facet plan offers physiotherapy in parallel, and that
        # webhook alone could end the wait a moment before pain-1's arrives.
        return {(case_ids["ces"], "emergency_page"), (case_ids["ces_text"], "emergency_page"),
                (case_ids["ces_text"], "status_triaged")} <= kinds and any(
            c.path == "/hooks/pain-1" and _body(c).get("case_id") == case_ids["facet"]
            and _body(c).get("kind") == "assignment_offered" for c in calls)

    calls = inbox.wait_for(complete, timeout=90)

    ces = _for_case(calls, case_ids["ces"])
    pages = [c for c in ces if _body(c)["kind"] == "emergency_page"]
    assert [c.path for c in pages] == ["/hooks/oncall-1"]
    assert not [c for c in ces if _body(c)["kind"] == "assignment_offered"], "no offer round"

    # A text-only cauda equina referral pages the on-call surgeon too, and the referrer is told
    # which of their sentences raised it.
    ces_text = _for_case(calls, case_ids["ces_text"])
    assert [c.path for c in ces_text if _body(c)["kind"] == "emergency_page"] == [
        "/hooks/oncall-1"]
    [status] = [_body(c) for c in ces_text if _body(c)["kind"] == "status_triaged"]
    confirm = status["data"]["confirm_from_text"]
    assert "RF1_CES_established" in {f["rule_id"] for f in confirm}
    assert any(PLANTED["free_text"] in f["sentence"] for f in confirm)

    facet = _for_case(calls, case_ids["facet"])
    offered = {c.path for c in facet if _body(c)["kind"] == "assignment_offered"}
    assert "/hooks/pain-1" in offered
    assert not [c for c in calls if c.path == "/hooks/pain-conflicted"]

    for call in pages + [c for c in facet if c.path.startswith("/hooks/pain-")]:
        body = _body(call)
        secret = derive_secret(MASTER, body["audience"], body["subscriber_id"])
        assert verify(secret, call.headers["x-timestamp"], call.body,
                      call.headers["x-signature"], now=time.time())
        assert call.headers["idempotency-key"] == body["notification_id"]

    # Triage's verdicts travel on the topic, keyed by case id, with the authenticated referrer.
    triaged = wait_for_events(
        kafka_bootstrap, topics.CASE_TRIAGED,
        lambda es: set(case_ids.values()) <= {e.case_id for e in es},
    )
    by_case = {e.case_id: e for e in triaged if isinstance(e, CaseTriaged)}
    assert by_case[case_ids["ces"]].triage.urgency == "emergency"
    assert by_case[case_ids["ces"]].triage.emergency_pathway
    assert by_case[case_ids["ces_text"]].triage.urgency == "emergency"
    assert {f.source for f in by_case[case_ids["ces_text"]].triage.text_findings} == {
        "clinical_question", "letter"}
    assert by_case[case_ids["facet"]].triage.urgency in ("routine", "soon")
    assert by_case[case_ids["facet"]].context.referrer_id == REFERRER

    # Every service exports Prometheus metrics; none carries a case id or patient data.
    for service in ("intake", "triage", "routing", "notify"):
        metrics = httpx.get(f"{system[service].url}/metrics", timeout=5)
        assert metrics.status_code == 200
        assert "# TYPE" in metrics.text
        for case_id in case_ids.values():
            assert case_id not in metrics.text, f"case id in {service} metrics"
        assert PLANTED["name"] not in metrics.text
        if service != "intake":
            assert 'spine_events_processed_total{' in metrics.text, service
    # Every consuming service samples its consumer lag (routing once had no probe at all); the
    # probe runs every 15 s, so wait for its first round rather than race it.
    for service in ("triage", "routing", "notify"):
        assert _lag_sampled(system[service].url, service), f"no consumer-lag samples: {service}"

    # Patient-identifying data planted in the referrals appears in no service's log.
    for service, text in system.logs().items():
        assert text, f"{service} wrote no log at all: the scan would prove nothing"
        for what, value in PLANTED.items():
            assert value not in text, f"patient {what} leaked into the {service} log"
