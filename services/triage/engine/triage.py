"""The triage pipeline: derived picture -> urgency -> instruments -> causes -> teams -> result."""

from __future__ import annotations

from schemas.referral import Referral
from schemas.triage import Team, TriageResult
from services.triage.engine.causes import likely_causes
from services.triage.engine.features import fired_features
from services.triage.engine.instruments import score_instruments
from services.triage.engine.picture import build_picture
from services.triage.engine.rule_table import RuleTable, rule_table
from services.triage.engine.urgency import final_urgency, fire_urgency_rules

EMERGENCY_TEAMS: tuple[Team, ...] = ("emergency_department", "spine_surgery")


def triage_referral(referral: Referral, table: RuleTable | None = None) -> TriageResult:
    """Triage one referral: pure and deterministic (same referral, same result)."""
    table = table or rule_table()
    picture = build_picture(referral, table.thresholds)
    fired = fire_urgency_rules(picture, table.thresholds)
    urgency = final_urgency(fired)
    scores = score_instruments(referral.instruments, referral.symptoms)
    features = fired_features(picture, scores, table.thresholds)
    causes, _ = likely_causes(features, picture.surgery_class, table)
    emergency = urgency == "emergency"
    return TriageResult(
        urgency=urgency,
        fired_rules=fired,
        instruments=scores,
        likely_causes=causes,
        required_teams=list(EMERGENCY_TEAMS) if emergency else ["spine_surgery"],
        emergency_pathway=emergency,
        rule_table_version=table.version,
        surgery_class=picture.surgery_class,
        weeks_since_last_surgery=picture.weeks_since_surgery,
    )
