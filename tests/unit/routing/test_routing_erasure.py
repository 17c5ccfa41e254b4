"""Erasure in the routing domain: the case is marked erased for good, takes no command after
it (not even an addendum to a completed case) and keeps no reviewer's free text."""

from __future__ import annotations

from datetime import timedelta

from schemas.cases import CaseErased
from schemas.routing import AmendReport, RequestTeam
from services.routing.api.specialists.service import answered_here
from services.routing.domain.handlers import NOT_YOURS
from tests.unit.routing.builders import (
    NOW,
    Routing,
    accept,
    complete,
    decline,
    specialist,
    tick,
    triaged,
    types,
)

REASON = "Mrs Planted Patientname fell at home yesterday"


def erased() -> CaseErased:
    return CaseErased(event_id="erase-1", case_id="case-1", occurred_at=NOW,
                      referrer_id="ref-1", requested_by="ops-1")


def amend(text: str = "Patient Planted Patientname also reports new numbness") -> AmendReport:
    return AmendReport(event_id="amend-1", case_id="case-1", occurred_at=NOW,
                       step_id="spine_surgery", specialist_id="surg", text=text)


def request_team(n: int = 0) -> RequestTeam:
    return RequestTeam(event_id=f"req-{n}", case_id="case-1", occurred_at=NOW,
                       step_id="spine_surgery", specialist_id="surg", team="spine_radiology",
                       reason=REASON)


def test_a_completed_case_takes_no_addendum_once_erased() -> None:
    r = Routing(specialist("surg"))
    r.send(triaged())
    r.send(accept("case-1", "spine_surgery", "surg"))
    r.send(complete("case-1", "spine_surgery", "surg"))
    assert r.state().status == "completed"
    r.send(erased())
    assert r.state().erased and r.state().status == "completed"  # the review stays done
    for command in (amend(), request_team(),
                    complete("case-1", "spine_surgery", "surg")):
        result = r.send(command)
        assert result.outcome is not None and result.outcome.status == "conflict", command
        assert result.events == [] and result.report_writes == []
    assert r.state().steps["spine_surgery"].report_version == 1
    ticked = r.send(tick("case-1", NOW + timedelta(hours=1)))
    assert ticked.outcome is not None and ticked.outcome.status == "ok"


def test_a_late_triage_after_erasure_leaves_the_case_erased_and_silent() -> None:
    r = Routing(specialist("surg"))
    assert types(r.send(erased()).events) == ["RoutingStopped"]
    assert r.send(triaged()).events == []
    assert r.state().erased and r.state().status == "stopped" and r.state().steps == {}


def test_erasure_forgets_the_reviewers_team_request_reason() -> None:
    r = Routing(specialist("surg"), specialist("rad", role="neuroradiologist"))
    r.send(triaged())
    r.send(accept("case-1", "spine_surgery", "surg"))
    assert r.send(request_team()).outcome.status == "ok"  # type: ignore[union-attr]
    assert r.state().steps["spine_radiology"].request_reason == REASON
    r.send(erased())
    assert all(step.request_reason is None for step in r.state().steps.values())
    assert "Patientname" not in r.state().model_dump_json()
    assert r.state().steps["spine_radiology"].requested_by == "surg"  # who asked stays


def test_the_api_answers_commands_to_an_erased_case_as_the_agent_would() -> None:
    # The API answers these itself, so their text is never written to the commands topic
    # (api/specialists/service.answered_here): its answer must be the agent's, word for word.
    r = Routing(specialist("surg"), specialist("other"))
    r.send(triaged())
    r.send(accept("case-1", "spine_surgery", "surg"))
    r.send(erased())
    commands = [amend(), request_team(), complete("case-1", "spine_surgery", "surg"),
                decline("case-1", "spine_surgery", "surg"),
                accept("case-1", "spine_surgery", "surg"),
                complete("case-1", "spine_surgery", "other"),  # a stranger to the case
                accept("case-1", "spine_surgery", "other")]
    for command in commands:
        here = answered_here(r.state(), command)
        assert here is not None and here == r.send(command).outcome, command
    assert answered_here(None, accept("case-9", "spine_surgery", "surg")) == NOT_YOURS


async def test_the_commands_tombstone_is_a_kafka_tombstone_not_json_null() -> None:
    """faust serialises a None value as JSON (b"null"), which compaction would keep as the
    case's last record; the publisher must send it raw, i.e. as no value at all."""
    import faust

    from services.common.faust_app import bytes_topic
    from services.routing.kafka_gateway import KafkaPublisher

    topic = bytes_topic(faust.App("t-tombstone", broker="kafka://localhost:1"), "cmds")
    sent: list[tuple[bytes | None, object]] = []

    class Recording:
        async def send(self, *, key: bytes, value: object, value_serializer: str | None = None,
                       **_: object) -> None:
            sent.append((key, topic.prepare_value(value, value_serializer)[0]))

    publisher = KafkaPublisher(events=Recording(), load=Recording(),  # type: ignore[arg-type]
                               commands=Recording())  # type: ignore[arg-type]
    await publisher.forget_commands("case-1")
    assert sent == [(b"case-1", None)]
