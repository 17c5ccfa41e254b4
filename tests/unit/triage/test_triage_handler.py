"""Triage's handler: the event's derived id, and the day of receipt handed to the engine."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from schemas.cases import ReferralReceived
from schemas.referral import Referral
from schemas.triage import TriageResult
from services.triage.engine import triage_referral
from services.triage.handlers import triage_case

REFERRAL = Referral.model_validate({
    "referral_id": "h-1", "referral_type": "post_surgery", "region": "lumbar", "age": 50,
    "sex": "F", "surgeries": [{"procedure": "discectomy", "weeks_before_referral": 20}],
    "clinical_question": "Redo microdiscectomy on 16/11/2026. Since then EHL is 4/5 on the right.",
})


def received(at: datetime) -> ReferralReceived:
    return ReferralReceived(event_id="recv-1", case_id="case-1", occurred_at=at,
                            referrer_id="gp-1", revision=1, received_via="json",
                            referral=REFERRAL)


def test_the_engine_reads_dates_from_the_day_intake_received_the_revision() -> None:
    seen: list[date | None] = []

    def engine(referral: Referral, *, as_of: date | None = None) -> TriageResult:
        seen.append(as_of)
        return triage_referral(referral, as_of=as_of)

    # 00:30 in UTC+2 is still the 26th in UTC: the day is taken in UTC, as every other time
    late = datetime(2026, 11, 27, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    event = received(late)
    now = datetime(2027, 3, 1, tzinfo=UTC)  # a replay months later reads the dates as meant
    triaged = triage_case(event, now=now, engine=engine)
    assert seen == [date(2026, 11, 26)]
    assert "RF11_early_postop_new_deficit" in [r.rule_id for r in triaged.triage.fired_rules]
    assert triaged.occurred_at == now
    assert triaged.event_id == triage_case(event, now=now, engine=triage_referral).event_id
