"""A specialist's command id seen again (domain/idempotency.py): the same body replays the first
answer, another body under the same id is refused and leaves nothing; digests are capped, gone
with erasure, and absent from rows that never had one."""

from __future__ import annotations

from datetime import timedelta

from schemas.cases import CaseErased
from schemas.routing import AmendReport, DeclineOffer, RequestTeam
from services.routing.domain.idempotency import REUSED, body_digest
from services.routing.domain.state import MAX_OUTCOMES, CaseRouting
from tests.unit.routing.builders import (
    NOW,
    REPORT,
    Routing,
    accept,
    complete,
    specialist,
    triaged,
)

TEXT = "Operative note read: unchanged."


def amend(text: str = TEXT, event_id: str = "amend-k1", minutes: int = 0) -> AmendReport:
    return AmendReport(event_id=event_id, case_id="case-1",
                       occurred_at=NOW + timedelta(minutes=minutes),
                       step_id="spine_surgery", specialist_id="surg", text=text)


def request_team(reason: str, event_id: str = "team-k1") -> RequestTeam:
    return RequestTeam(event_id=event_id, case_id="case-1", occurred_at=NOW,
                       step_id="spine_surgery", specialist_id="surg", team="spine_radiology",
                       reason=reason)


def completed() -> Routing:
    r = Routing(specialist("surg"), specialist("rad", role="neuroradiologist"))
    r.send(triaged())
    r.send(accept("case-1", "spine_surgery", "surg"))
    r.send(complete("case-1", "spine_surgery", "surg"))
    assert r.state().status == "completed"
    return r


def test_the_digest_is_the_body_not_the_envelope() -> None:
    assert body_digest(amend()) == body_digest(amend(minutes=5))  # stamped per request
    assert body_digest(amend()) != body_digest(amend("Operative note read: worse."))
    assert body_digest(accept("case-1", "spine_surgery", "surg")) is None  # all id, no body
    decline = DeclineOffer(event_id="d", case_id="case-1", occurred_at=NOW,
                           step_id="spine_surgery", specialist_id="surg")
    empty, given = body_digest(decline), body_digest(decline.model_copy(update={"reason": "x"}))
    assert empty is not None and given is not None and empty != given  # "" is a body too
    first = complete("case-1", "spine_surgery", "surg")
    other = first.model_copy(update={"report": REPORT.model_copy(update={"opinion": "No."})})
    assert body_digest(first) != body_digest(other)


def test_the_same_id_with_the_same_body_replays_and_with_another_is_refused() -> None:
    r = completed()
    first = r.send(amend())
    assert first.outcome is not None and first.outcome.detail == "report version 2"
    assert len(first.report_writes) == 1 and len(first.events) == 1
    before = r.state().model_dump_json()
    retry = r.send(amend(minutes=1))
    assert retry.outcome == first.outcome
    assert retry.events == [] and retry.report_writes == [] and retry.load_deltas == []
    reused = r.send(amend("A different addendum the client thinks was filed", minutes=2))
    assert reused.outcome == REUSED and reused.outcome.status == "reused"
    assert reused.events == [] and reused.report_writes == []
    assert r.state().model_dump_json() == before  # not applied, not even recorded
    assert r.send(amend(minutes=3)).outcome == first.outcome  # the first body still replays
    fresh = r.send(amend("A different addendum", event_id="amend-k2"))
    assert fresh.outcome is not None and fresh.outcome.detail == "report version 3"


def test_a_refused_first_decision_is_not_replayed_for_another_body_either() -> None:
    r = Routing(specialist("surg"))
    r.send(triaged())
    r.send(accept("case-1", "spine_surgery", "surg"))
    early = r.send(amend())  # not completed yet: refused, and that refusal is the decision
    assert early.outcome is not None and early.outcome.status == "conflict"
    assert r.send(amend()).outcome == early.outcome
    assert r.send(amend("something else")).outcome == REUSED


def test_a_team_request_under_a_reused_key_adds_nothing() -> None:
    r = Routing(specialist("surg"), specialist("rad", role="neuroradiologist"))
    r.send(triaged())
    r.send(accept("case-1", "spine_surgery", "surg"))
    added = r.send(request_team("Second read of the contrast MRI"))
    assert added.outcome is not None and added.outcome.status == "ok"
    reused = r.send(request_team("A different reason"))
    assert reused.outcome == REUSED and reused.events == []
    assert r.state().steps["spine_radiology"].request_reason == "Second read of the contrast MRI"


def test_erasure_drops_the_digests_and_replays_are_refused_as_new_commands_are() -> None:
    r = completed()
    r.send(amend())
    assert r.state().body_digests
    r.send(CaseErased(event_id="erase-1", case_id="case-1", occurred_at=NOW,
                      referrer_id="ref-1", requested_by="ops-1"))
    assert r.state().body_digests == {}
    assert "body_digests" not in r.state().model_dump_json()
    for again in (amend(), amend("Patient Planted Patientname: new numbness")):
        result = r.send(again)
        assert result.outcome is not None and result.outcome.status == "conflict"
        assert result.events == [] and result.report_writes == []
    late = r.send(amend("Patient Planted Patientname: new numbness", event_id="amend-late"))
    assert late.outcome is not None and late.outcome.status == "conflict"
    assert r.state().body_digests == {}  # nothing derived from text sent after erasure either


def test_digests_are_capped_with_the_outcomes() -> None:
    r = completed()
    for n in range(MAX_OUTCOMES + 20):  # past MAX_ADDENDA each is refused, yet decided
        r.send(amend(f"note {n}", event_id=f"amend-{n}"))
    state = r.state()
    assert len(state.body_digests) == MAX_OUTCOMES
    assert "amend-0" not in state.body_digests  # the oldest go first
    assert f"amend-{MAX_OUTCOMES + 19}" in state.body_digests


def test_rows_without_digests_still_parse_and_replay_as_before() -> None:
    # None is written for a case without commands that have a body: those rows are unchanged.
    r = Routing(specialist("surg"))
    r.send(triaged())
    r.send(accept("case-1", "spine_surgery", "surg"))
    assert "body_digests" not in r.state().model_dump_json()
    r.send(complete("case-1", "spine_surgery", "surg"))
    r.send(amend())
    # A row the previous release wrote has none: it parses and replays the first answer.
    old_row = r.state().model_dump(mode="json")
    del old_row["body_digests"]
    r.states["case-1"] = CaseRouting.model_validate(old_row)
    legacy = r.send(amend("another body"))
    assert legacy.outcome is not None and legacy.outcome.detail == "report version 2"
    assert legacy.events == [] and legacy.report_writes == []  # still not applied
