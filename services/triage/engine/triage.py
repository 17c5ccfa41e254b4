"""The triage pipeline: derived picture -> urgency -> instruments -> causes -> teams -> result."""

from __future__ import annotations

from datetime import date

from schemas.referral import Referral
from schemas.triage import InstrumentScores, TriageResult
from services.triage.engine.causes import likely_causes
from services.triage.engine.features import fired_features
from services.triage.engine.free_text import priority_floor, read_free_text
from services.triage.engine.instruments import score_instruments
from services.triage.engine.missing import missing_data
from services.triage.engine.picture import build_picture
from services.triage.engine.rule_table import RuleTable, rule_table
from services.triage.engine.second_read import second_read
from services.triage.engine.teams import considered_causes, must_exclude, plan_teams
from services.triage.engine.trusted import trusted
from services.triage.engine.urgency import final_urgency


def psychosocial_flags(scores: InstrumentScores) -> bool:
    """STarT Back high risk or significant Waddell signs: a distress marker, not a diagnosis."""
    high_risk = scores.start_back is not None and scores.start_back.band == "high"
    return high_risk or (scores.waddell is not None and scores.waddell.significant)


def text_missing(chars_skipped: int) -> list[str]:
    """A note when free text was too long to read in full: a human must read the rest."""
    if not chars_skipped:
        return []
    return [f"free text: {chars_skipped} characters beyond the reading limit were not read; "
            "red flags in them cannot be excluded"]


def triage_referral(
    referral: Referral, table: RuleTable | None = None, *, as_of: date | None = None
) -> TriageResult:
    """Triage one referral: pure and deterministic (same referral and day, same result).

    `as_of` is the day the referral was received: the letter's calendar dates count from it
    (text/dates.py); without it they are not read."""
    table = table or rule_table()
    t = table.thresholds
    base = build_picture(referral, t)
    # Free text can only add findings: the picture below is the referral as its text describes it.
    text = read_free_text(referral, base, t, as_of)
    picture, fired = text.picture, text.fired
    floor = priority_floor(referral)
    if floor is not None:
        fired = [*fired, floor]
    # Red flags first: nothing below may lower this urgency.
    urgency = final_urgency(fired)
    scores = score_instruments(referral.instruments, referral.symptoms)
    features = fired_features(picture, scores, t)
    causes, post = likely_causes(features, picture.surgery_class, table)
    excluded = must_exclude(fired, table)
    read = second_read(picture, urgency, t)
    teams = plan_teams(
        urgency=urgency,
        causes=considered_causes(post, excluded, table),
        psychosocial_flags=psychosocial_flags(scores),
        second_read_recommended=read.recommendation in ("priority_24h", "standard_24_72h"),
        table=table,
    )
    return trusted(
        TriageResult,
        urgency=urgency,
        fired_rules=fired,
        instruments=scores,
        likely_causes=causes,
        must_exclude=excluded,
        required_teams=teams.required,
        optional_teams=teams.optional,
        emergency_pathway=teams.emergency_pathway,
        second_read=read,
        missing_data=missing_data(base, scores) + text_missing(text.chars_skipped),
        rule_table_version=table.version,
        surgery_class=picture.surgery_class,
        weeks_since_last_surgery=picture.weeks_since_surgery,
        text_findings=text.findings,
        set_aside=text.set_aside,
        discordances=text.discordances,
        text_evidence=text.evidence,
    )
