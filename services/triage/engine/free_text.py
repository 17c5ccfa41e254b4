"""Free text and the referrer's priority in triage (issue 9; issue 11 item 8).

Text findings raise urgency exactly as the structured flags would (the same rules run on the
referral with the text's fields applied) and never lower anything. A rule that fires only
because of the text names the findings that raised it, marked "from free text — confirm"; the
quoted sentences travel in `TriageResult.text_evidence` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from schemas.referral import Referral
from schemas.triage import (
    FROM_FREE_TEXT,
    Discordance,
    FiredRule,
    SetAsideMention,
    TextEvidence,
    TextFinding,
    Urgency,
)
from services.triage.engine.picture import ClinicalPicture, build_picture, with_imaging
from services.triage.engine.rule_table import Thresholds
from services.triage.engine.text.dates import writes_month_first
from services.triage.engine.text.lexicon import Lexicon, lexicon
from services.triage.engine.text.overlay import apply_reading, text_finding
from services.triage.engine.text.reading import Reading, read_texts
from services.triage.engine.trusted import trusted
from services.triage.engine.urgency import URGENCY_RANK, fire_urgency_rules

# FHIR ServiceRequest.priority (routine < urgent < asap < stat) -> the least urgency it allows.
# stat means "emergency" in FHIR's own definition; asap and urgent both mean review within days:
# a case the referrer called urgent is never left in a 2-week queue on our say-so.
PRIORITY_FLOOR: dict[str, Urgency] = {"stat": "emergency", "asap": "urgent", "urgent": "urgent"}
PRIORITY_RULE_ID = "REF_referrer_priority_floor"


@dataclass
class TextStep:
    picture: ClinicalPicture  # with the text's fields applied (the base one without text)
    fired: list[FiredRule]
    findings: list[TextFinding] = field(default_factory=list)
    set_aside: list[SetAsideMention] = field(default_factory=list)
    discordances: list[Discordance] = field(default_factory=list)
    evidence: list[TextEvidence] = field(default_factory=list)
    chars_skipped: int = 0


def narrative_texts(referral: Referral, picture: ClinicalPicture) -> list[tuple[str, str]]:
    """Every free text triage reads, with its source: question, narratives, current reports."""
    texts = []
    if referral.clinical_question:
        texts.append(("clinical_question", referral.clinical_question))
    texts.extend((n.source, n.text) for n in referral.narratives)
    for study in picture.studies:
        if study.report_text:
            position = next(i for i, s in enumerate(referral.imaging) if s is study)
            texts.append((f"imaging[{position}].report_text", study.report_text))
    return texts


def priority_floor(referral: Referral) -> FiredRule | None:
    """The referrer's stat/asap/urgent as a fired rule: a floor, never a ceiling."""
    floor = PRIORITY_FLOOR.get(referral.referrer_priority or "")
    if floor is None:
        return None
    return trusted(
        FiredRule, rule_id=PRIORITY_RULE_ID, level=floor,
        reason=f"referrer priority {referral.referrer_priority}: at least {floor} (never lowers)",
    )


def _mark_text_rules(
    fired: list[FiredRule], base: list[FiredRule], step_findings: dict[str, list[str]],
    concepts_rules: dict[str, tuple[str, ...]], changed: set[str],
) -> list[FiredRule]:
    base_level = {r.rule_id: URGENCY_RANK[r.level] for r in base}
    marked = []
    for rule in fired:
        if URGENCY_RANK[rule.level] <= base_level.get(rule.rule_id, -1):
            marked.append(rule)
            continue
        ids = [ref for ref in changed if rule.rule_id in concepts_rules[ref]] or sorted(changed)
        ids.sort(key=lambda ref: int(ref[2:]))
        for ref in ids:
            step_findings[ref].append(rule.rule_id)
        marked.append(trusted(
            FiredRule, rule_id=rule.rule_id, level=rule.level,
            reason=f"{rule.reason} [{FROM_FREE_TEXT}: {', '.join(ids)}]",
        ))
    return marked


def _with_fires(fired: list[FiredRule], fires: list[tuple[str, str, str]]) -> list[FiredRule]:
    """Add rules the lexicon fires directly (no structured field), unless already as high."""
    by_id = {r.rule_id: r for r in fired}
    for rule_id, level, ref in fires:
        current = by_id.get(rule_id)
        if current is not None and URGENCY_RANK[current.level] >= URGENCY_RANK[level]:  # type: ignore[index]
            continue
        by_id[rule_id] = trusted(
            FiredRule, rule_id=rule_id, level=level, reason=f"named in free text ({ref})"
        )
    order = [r.rule_id for r in fired] + [f[0] for f in fires]
    return [by_id[rule_id] for rule_id in dict.fromkeys(order)]


def _higher(fired: list[FiredRule], other: list[FiredRule]) -> list[FiredRule]:
    """Both readings' rules, each at the higher of its two levels."""
    by_id = {r.rule_id: r for r in fired}
    for rule in other:
        current = by_id.get(rule.rule_id)
        if current is None or URGENCY_RANK[rule.level] > URGENCY_RANK[current.level]:
            by_id[rule.rule_id] = rule
    return list(by_id.values())


def _for_region(reading: Reading, lex: Lexicon, region: str) -> Reading:
    """The reading without mentions of concepts that belong to other regions' referrals."""
    mentions = tuple(m for m in reading.mentions
                     if not lex.concepts[m.concept].regions
                     or region in lex.concepts[m.concept].regions)
    if len(mentions) == len(reading.mentions):
        return reading
    return Reading(mentions, reading.chars_read, reading.chars_skipped)


def read_free_text(
    referral: Referral, base: ClinicalPicture, t: Thresholds, as_of: date | None = None
) -> TextStep:
    """Urgency rules on the referral as its free text describes it (raising only)."""
    fired_base = fire_urgency_rules(base, t)
    texts = narrative_texts(referral, base)
    if not texts:
        return TextStep(base, fired_base)
    lex = lexicon()
    reading = _for_region(
        read_texts(texts, lex, as_of, writes_month_first(referral.patient.jurisdiction)), lex,
        referral.region)
    outcome = apply_reading(referral, base.imaging, reading, lex, t)
    picture = base
    fired = fired_base
    rules_by_ref = {ref: c.rules for ref, c in outcome.finding_concepts.items()}
    found_rules: dict[str, list[str]] = {f["id"]: [] for f in outcome.findings}
    if outcome.changed:
        picture = with_imaging(build_picture(outcome.referral, t), outcome.imaging)
        fired = fire_urgency_rules(picture, t)
        if outcome.newer_operation:  # counting from it must not lower a rule (CRP's early limit)
            coded = outcome.referral.model_copy(update={"surgeries": referral.surgeries})
            fired = _higher(fired, fire_urgency_rules(
                with_imaging(build_picture(coded, t), outcome.imaging), t))
        fired = _with_fires(fired, outcome.fires)
        fired = _mark_text_rules(fired, fired_base, found_rules, rules_by_ref, outcome.changed)
    findings = [text_finding(f, found_rules[f["id"]]) for f in outcome.findings]
    return TextStep(
        picture=picture, fired=fired, findings=findings, set_aside=outcome.set_aside,
        discordances=outcome.discordances, evidence=outcome.evidence,
        chars_skipped=reading.chars_skipped,
    )
