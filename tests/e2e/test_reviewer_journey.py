"""A reviewer's journey on the real broker, four service processes: the offer webhook carries a
summary and the case link (no identifiers); the specialist reads the case pseudonymised, accepts,
reads it identified, is refused an empty completion (422) and a second one (409), completes with
a report, adds an addendum; the referrer reads the report and sees each team's state, who
accepted and when the report is due - the deadline routing offered. No patient data in any log."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.webhook_inbox import ReceivedCall, WebhookReceiver
from services.common.auth import mint_token
from tests.e2e.conftest import referrer_subscribed
from tests.support.directory import put_specialists
from tests.support.polling import wait_until as _wait

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

RUN = uuid.uuid4().hex[:6]
REFERRER_ID = f"ref-{RUN}"
PAIN, PHYSIO = f"{RUN}-pain", f"{RUN}-physio"
NAME, NHS = "Wilhelmina Plantedname", "485 777 3456"
ALWAYS = {"weekdays": [0, 1, 2, 3, 4, 5, 6], "start": "00:00:00", "end": "23:59:59"}
REPORT = {"conclusion": "agrees", "opinion": "Facet-mediated pain; no surgery indicated.",
          "recommendations": ["Radiofrequency denervation L4-5"],
          "attachments": [{"reference": "pacs://study/9.8.7", "title": "MRI key images"}]}


def auth(subject: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(subject=subject, role=role)}"}  # type: ignore[arg-type]


def _referral() -> dict[str, Any]:
    return {
        "referral_id": f"rev-{RUN}", "referral_type": "post_surgery", "region": "lumbar",
        "age": 52, "sex": "F", "clinical_question": "Would a further operation help?",
        "patient": {"pseudonym": f"pseud-{RUN}", "jurisdiction": "GB-ENG", "name": NAME,
                    "birth_date": "1974-05-06", "preferred_language": "en",
                    "identifiers": [{"system": "https://fhir.nhs.uk/Id/nhs-number",
                                     "value": NHS}]},
        "surgeries": [{"procedure": "microdiscectomy", "levels": ["L5-S1"],
                       "weeks_before_referral": 40}],
        "symptoms": {"pain_distribution": "axial", "dominant": "back", "nrs_back": 6,
                     "nrs_limb": 0, "aggravators": ["extension_rotation"]},
        "timeline": {"pain_free_interval_weeks": 30, "onset_weeks_after_last_surgery": 35,
                     "trajectory": "stable", "current_episode_days": 120},
        "neuro_exam": {"facet_loading_positive": True},
        "diagnostic_blocks": [{"type": "medial_branch", "level": "L4-5", "relief_pct": 80}],
        "imaging": [{"modality": "mri", "weeks_ago": 2, "study_uid": "9.8.7",
                     "report_text": "Facet arthropathy L4-5, no recurrent disc."}],
    }


@pytest.fixture
def inbox() -> Any:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def test_a_specialist_reads_accepts_and_reports_and_the_referrer_reads_it(
    start_system: Any, inbox: WebhookReceiver, tmp_path: Path
) -> None:
    system = start_system(extra_env=referrer_subscribed(tmp_path, inbox, REFERRER_ID))
    routing, notify = system["routing"].url, system["notify"].url
    ops = auth("ops-e2e", "ops")
    put_specialists(routing, [
        {"specialist_id": sid, "name": f"Dr {sid}", "role": role,
         "licences": [{"jurisdiction": "GB-ENG", "expires_on": "2099-01-01"}],
         "working_hours": ALWAYS, "webhook_url": f"{inbox.base_url}/hooks/{sid}",
         "capacity": {"max_open_cases": 50, "max_new_per_day": 50}}
        for sid, role in ((PAIN, "pain_medicine"), (PHYSIO, "physiotherapy"))], ops)

    referrer = auth(REFERRER_ID, "referrer")
    posted = httpx.post(f"{system['intake'].url}/referrals", json=_referral(), headers=referrer,
                        timeout=30)
    assert posted.status_code == 202, posted.text
    case_id = posted.json()["case_id"]

    def offer_hook(calls: list[ReceivedCall]) -> bool:
        return any(c.path == f"/hooks/{PAIN}" and c.json().get("kind") == "assignment_offered"
                   for c in calls if c.body.startswith(b"{"))

    calls = inbox.wait_for(offer_hook, timeout=120)
    hook = next(c.json() for c in calls if c.path == f"/hooks/{PAIN}")
    data = hook["data"]
    assert data["summary"]["question"] and data["case_view"].endswith(f"/cases/{case_id}/review")
    assert NAME not in json.dumps(hook) and NHS not in json.dumps(hook)

    pain = auth(PAIN, "specialist")
    before = httpx.get(data["case_view"], headers=pain, timeout=10)
    assert before.status_code == 200, before.text
    view = before.json()
    assert view["patient"] == {**view["patient"], "pseudonym": f"pseud-{RUN}", "identified": False,
                               "name": None, "identifiers": []}
    assert NAME not in before.text and NHS not in before.text
    assert view["clinical_question"] == "Would a further operation help?"
    assert view["imaging"][0]["study_uid"] == "9.8.7" and view["triage"]["fired_rules"] is not None
    assert view["triage"]["instruments"] is not None
    step = next(s for s in view["steps"] if s["yours"] == "offer")
    assert httpx.get(f"{routing}/cases/{case_id}/review", headers=auth(PHYSIO + "-x", "specialist"),
                     timeout=10).status_code == 404

    accepted = httpx.post(f"{routing}/offers/{case_id}/{step['step_id']}/accept", headers=pain,
                          timeout=30)
    assert accepted.status_code == 200, accepted.text
    after = httpx.get(data["case_view"], headers=pain, timeout=10).json()
    assert after["patient"]["identified"] and after["patient"]["name"] == NAME
    assert after["patient"]["identifiers"][0]["value"] == NHS

    complete = f"{routing}/assignments/{case_id}/{step['step_id']}/complete"
    empty = httpx.post(complete, headers=pain, json={}, timeout=30)
    assert empty.status_code == 422
    assert {e["path"] for e in empty.json()["errors"]} == {"conclusion", "opinion"}
    done = httpx.post(complete, headers=pain, json=REPORT, timeout=30)
    assert done.status_code == 200, done.text
    again = httpx.post(complete, headers=pain, json=REPORT, timeout=30)
    assert again.status_code == 409, again.text
    added = httpx.post(f"{routing}/assignments/{case_id}/{step['step_id']}/addenda",
                       headers=pain, json={"text": "Reviewed the block response: agrees."},
                       timeout=30)
    assert added.status_code == 200 and added.json()["detail"] == "report version 2"

    report = httpx.get(f"{routing}/cases/{case_id}/reports/{step['step_id']}", headers=referrer,
                       timeout=10)
    assert report.status_code == 200, report.text
    assert report.json()["report"]["opinion"] == REPORT["opinion"]
    assert report.json()["version"] == 2
    other = auth(f"other-{RUN}", "referrer")
    assert httpx.get(f"{routing}/cases/{case_id}/reports/{step['step_id']}", headers=other,
                     timeout=10).status_code == 404

    def status() -> dict[str, Any] | None:
        r = httpx.get(f"{notify}/api/referrals/{case_id}/status", headers=referrer, timeout=10)
        if r.status_code != 200:
            return None
        teams = {t["team"]: t for t in r.json()["team_states"]}
        return teams if teams.get("pain_medicine", {}).get("state") == "completed" else None

    teams = _wait("referrer status shows the completed review", status)
    assert teams["pain_medicine"]["accepted_by"] == PAIN
    # One deadline: what routing offered is what the referrer is told to expect.
    due = teams["pain_medicine"]["report_due"]
    assert due and datetime.fromisoformat(due) == datetime.fromisoformat(step["deadline"])

    for service, text in system.logs().items():
        for value in (NAME, NHS, REPORT["opinion"], "Would a further operation help?"):
            assert value not in text, f"patient data in the {service} log"
