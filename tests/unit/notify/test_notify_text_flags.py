"""The referrer is told which of their sentences raised an urgent or emergency flag (issue 9)."""

from __future__ import annotations

from schemas.cases import CaseContext, CaseErased, CaseTriaged
from schemas.referral import Referral
from services.triage.engine import triage_referral
from tests.unit.notify.notify_builders import T0, CaseFlow, Harness

SENTENCE = "Both legs painful since the weekend and new difficulty starting to pee."


def triaged_from(flow: CaseFlow, text: str | None) -> CaseTriaged:
    referral = Referral.model_validate({
        "referral_id": "r-1", "referral_type": "post_surgery", "region": "lumbar", "age": 50,
        "sex": "F", "surgeries": [{"procedure": "discectomy", "weeks_before_referral": 30}],
        "clinical_question": text,
    })
    return CaseTriaged(event_id="e-triaged", case_id=flow.case_id, occurred_at=T0,
                       context=CaseContext(referrer_id=flow.referrer_id, region="lumbar"),
                       triage=triage_referral(referral))


def status_triaged(h: Harness) -> dict[str, object]:
    return next(n.data for n in h.state.outbox if n.kind == "status_triaged")


def test_text_derived_emergency_names_the_sentence_to_the_referrer() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(T0))
    h.apply(triaged_from(flow, SENTENCE))
    data = status_triaged(h)
    assert data["urgency"] == "emergency"
    flags = data["confirm_from_text"]
    assert isinstance(flags, list)
    assert {f["rule_id"] for f in flags} == {"RF1_CES_established", "RF2_CES_suspected_bilateral"}
    assert all(f["sentence"] == SENTENCE and f["status"] == "from free text — confirm"
               for f in flags)


def test_structured_only_triage_sends_nothing_to_confirm() -> None:
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(T0))
    h.apply(triaged_from(flow, "Is a revision indicated? Denies saddle numbness."))
    assert status_triaged(h)["confirm_from_text"] == []


def test_erasure_drops_the_referrers_sentence_from_the_case_row() -> None:
    """Issue 10 item 5: an undelivered status_triaged (its webhook failing at erasure time) must
    not keep the sentence in the row, whose latest value compaction keeps on the changelog."""
    h, flow = Harness(), CaseFlow()
    h.apply(flow.received(T0))
    h.apply(triaged_from(flow, SENTENCE))
    assert SENTENCE in h.state.model_dump_json()
    h.apply(CaseErased(event_id="e-erased", case_id=flow.case_id, occurred_at=T0,
                       referrer_id=flow.referrer_id, requested_by="ops-1"))
    assert SENTENCE not in h.state.model_dump_json()
