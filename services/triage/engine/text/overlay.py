"""Turn what the text says into the structured fields it stands for, raising only.

A text red flag sets the same field a referrer would have coded, so the brief's rules fire on it
exactly as on the structured flag, combinations included (fever in one sentence and a weeping
wound in another make RF5). Text never lowers a field; where the referrer recorded a section and
left the flag off while the text says yes, the safer (text) reading is used and the discordance
is listed. Imaging findings overlay the current-imaging summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from schemas.referral import Comorbidities, NeuroExam, RedFlags, Referral
from schemas.triage import Discordance, SetAsideMention, TextEvidence, TextFinding
from services.triage.engine.rule_table import Thresholds
from services.triage.engine.text.lexicon import FIELD_ORDERS, Concept, Lexicon
from services.triage.engine.text.reading import Mention, Reading
from services.triage.engine.trusted import trusted

MAX_FINDINGS = 50
MAX_SET_ASIDE = 50
MAX_SURGERIES = 30  # the referral's own cap on its list (schemas/referral.py)
FAHRENHEIT_FROM = 90.0  # a temperature above this is Fahrenheit
# A fall in weight this large (kg, two weights in the text) is weight loss: scales and clothes
# move a kilogram from day to day (a heuristic, like the brief's own thresholds).
WEIGHT_DROP_KG = 2.0
TEMPERATURE_RANGE_C = (30.0, 45.0)
WEEKS_PER = {"week": 1.0, "wk": 1.0, "month": 52 / 12, "year": 52.0}
PER_DECILITRE = re.compile(r"mg\s*/\s*dl\b", re.IGNORECASE)
UNIT_RE = re.compile(r"\b(week|wk|month|year)s?\b", re.IGNORECASE)
# Grades the urgency rules treat alike: a suspected nonunion is incomplete or absent to
# MOD_suspected_nonunion, and which of the two a coded study says is the referrer's to keep (the
# cause model weighs them apart): text raises a coded "none" or "solid" to either, never a coded
# one to the other. Between the text's own readings the worse wins, whatever their order.
SAME_TO_THE_RULES = {"imaging.fusion_status": frozenset({"incomplete", "absent"})}
# An optional section text can fill in, with what its required fields hold when the text alone
# names it (this copy feeds the rules only; missing_data still reads the referral as sent).
SECTION_PLACEHOLDERS: dict[str, dict[str, Any]] = {
    "proposed_surgery": {"procedure": "named in free text"},
}
SECTION_DEFAULTS = {
    "red_flags": RedFlags(), "neuro_exam": NeuroExam(), "comorbidities": Comorbidities(),
}


@dataclass
class TextOutcome:
    referral: Referral
    imaging: dict[str, Any] = field(default_factory=dict)  # ImagingSummary attr -> value
    fires: list[tuple[str, str, str]] = field(default_factory=list)  # (rule, level, finding id)
    findings: list[dict[str, Any]] = field(default_factory=list)
    finding_concepts: dict[str, Concept] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)  # ids of findings that raised a field
    set_aside: list[SetAsideMention] = field(default_factory=list)
    discordances: list[Discordance] = field(default_factory=list)
    evidence: list[TextEvidence] = field(default_factory=list)
    newer_operation: bool = False  # the text added an operation (free_text.py keeps both readings)


def _worse(path: str, new: Any, old: Any) -> bool:
    order = FIELD_ORDERS[path]
    if order is not None:
        return order.index(str(new)) > order.index(str(old if old is not None else order[0]))
    if isinstance(new, bool):
        return bool(new) and not old
    return old is None or float(new) > float(old)


def _value(concept: Concept, default: Any, m: Mention, t: Thresholds) -> tuple[Any, str | None]:
    """The value a mention sets, or a set-aside reason (a temperature or volume below the
    threshold)."""
    if concept.value is None:
        return default, None
    if m.number is None:  # "fever", "periscrew haloing": the concept's own value
        return (default, None) if concept.value in ("temperature", "length_mm") else (None, None)
    if concept.value == "temperature":
        celsius = m.number if m.number < FAHRENHEIT_FROM else (m.number - 32) * 5 / 9
        if not TEMPERATURE_RANGE_C[0] <= celsius <= TEMPERATURE_RANGE_C[1]:
            return None, None
        celsius = round(celsius, 1)
        return (celsius, None) if celsius >= t.fever_c else (None, "below_threshold")
    if concept.value == "volume_ml":  # the concept's field value, if the volume reaches it
        return (default, None) if m.number >= t.post_void_residual_ml else (None,
                                                                           "below_threshold")
    if concept.value == "weight_drop_kg":  # a weight that fell, by the threshold or more
        return (default, None) if m.number >= WEIGHT_DROP_KG else (None, "below_threshold")
    if concept.value == "crp_mg_l":  # mg/dL (US) is ten times mg/L
        return (m.number * 10 if PER_DECILITRE.search(m.span) else m.number), None
    if concept.value == "duration_weeks":
        unit = UNIT_RE.search(m.span)
        return (round(m.number * WEEKS_PER[unit.group(1).lower()], 1) if unit else None), None
    return m.number, None


def _recorded(referral: Referral, section: str) -> bool:
    default = SECTION_DEFAULTS.get(section)
    return default is not None and getattr(referral, section) != default


class _Builder:
    def __init__(self, referral: Referral, imaging: Any, lex: Lexicon, t: Thresholds) -> None:
        self.base, self.base_imaging, self.lex, self.t = referral, imaging, lex, t
        self.data = referral.model_dump()
        self.out = TextOutcome(referral)
        self.seen: set[tuple[str, str, int, int]] = set()

    def quote(self, ref: str, m: Mention) -> None:
        self.out.evidence.append(trusted(
            TextEvidence, ref=ref, source=m.source, span=m.span, sentence=m.sentence,
        ))

    def set_aside(self, m: Mention, reason: str) -> None:
        key = (m.concept, reason, m.text_index, m.sentence_start)
        if key in self.seen or len(self.out.set_aside) >= MAX_SET_ASIDE:
            return
        self.seen.add(key)
        ref = f"sa{len(self.out.set_aside) + 1}"
        self.out.set_aside.append(trusted(
            SetAsideMention, id=ref, concept=m.concept, source=m.source, reason=reason,
        ))
        self.quote(ref, m)

    def finding(self, m: Mention) -> None:
        concept = self.lex.concepts[m.concept]
        key = (m.concept, "", m.text_index, m.sentence_start)
        if key in self.seen or len(self.out.findings) >= MAX_FINDINGS:
            return
        ref = f"tf{len(self.out.findings) + 1}"
        applied: list[tuple[str, Any]] = []
        for path, default in concept.sets:
            value, reason = _value(concept, default, m, self.t)
            if reason is not None:
                self.set_aside(m, reason)
                return
            if value is not None and m.uncertain and "equivocal" in (FIELD_ORDERS[path] or ()):
                value = "equivocal"  # "cannot be excluded" is the equivocal grade
            if value is not None and self.apply(path, value, concept, ref):
                applied.append((path, value))
        if concept.sets and not applied:
            return  # it agrees with what was coded (or has no usable value): nothing to confirm
        self.seen.add(key)
        if concept.fires is not None:
            self.out.fires.append((concept.fires[0], concept.fires[1], ref))
            self.out.changed.add(ref)
        field_path, value = applied[0] if applied else (None, None)
        self.out.findings.append({
            "id": ref, "concept": m.concept, "field": field_path, "value": value,
            "source": m.source,
            "uncertain": m.uncertain,
        })
        self.out.finding_concepts[ref] = concept
        self.quote(ref, m)

    def apply(self, path: str, value: Any, concept: Concept, ref: str) -> bool:
        """Raise one field; True when the text changed it."""
        section, name = path.split(".", 1)
        if section == "surgeries":
            return self.newer_operation(float(value), ref)
        if section == "imaging":
            coded = name not in self.out.imaging
            old = self.out.imaging.get(name, getattr(self.base_imaging, name))
            if coded and {value, old} <= SAME_TO_THE_RULES.get(path, frozenset()):
                return False
            if not _worse(path, value, old):
                return False
            self.out.imaging[name] = value
            self.out.changed.add(ref)
            return True
        node = self.data[section]
        if node is None:  # a section the referral left out: "surgery is next week", no procedure
            node = self.data[section] = dict(SECTION_PLACEHOLDERS[section])
        old = node.get(name)
        if concept.only_if_absent:
            if isinstance(old, list):
                if old:  # the referrer coded this list: text does not add to it
                    return False
                node[name] = [value]
            elif old is not None:
                return False
            else:
                node[name] = value
            self.out.changed.add(ref)
            return True
        if not _worse(path, value, old):
            return False
        if _recorded(self.base, section) and getattr(getattr(self.base, section), name) == old:
            self.out.discordances.append(trusted(
                Discordance, field=path, structured_value=old, text_value=value,
                finding_id=ref, resolution="safer reading (free text) used",
            ))
        node[name] = value
        self.out.changed.add(ref)
        return True

    def newer_operation(self, weeks: float, ref: str) -> bool:
        """An operation the text dates after every coded one ("a revision two weeks ago") joins
        the list as the same kind as the latest coded one: the early post-operative rules count
        from it. Only after a coded operation (a pre-surgery referral has none to be newer than)."""
        surgeries = self.data["surgeries"]
        if not surgeries:
            return False
        latest = min(surgeries, key=lambda s: s["weeks_before_referral"])
        if weeks >= latest["weeks_before_referral"] or len(surgeries) >= MAX_SURGERIES:
            return False
        surgeries.append({"procedure": latest["procedure"], "levels": latest["levels"],
                          "instrumented": latest["instrumented"], "weeks_before_referral": weeks})
        self.out.discordances.append(trusted(
            Discordance, field="surgeries.weeks_before_referral",
            structured_value=latest["weeks_before_referral"], text_value=weeks, finding_id=ref,
            resolution="newer operation in free text counted; rules without it still stand",
        ))
        self.out.newer_operation = True
        self.out.changed.add(ref)
        return True


def apply_reading(
    referral: Referral, imaging: Any, reading: Reading, lex: Lexicon, t: Thresholds
) -> TextOutcome:
    """The referral with text findings applied, and what was found, set aside and discordant."""
    builder = _Builder(referral, imaging, lex, t)
    for m in reading.mentions:
        if m.reason is not None:
            builder.set_aside(m, m.reason)
        else:
            builder.finding(m)
    out = builder.out
    if out.changed:
        out.referral = Referral.model_validate(builder.data)
    return out


def text_finding(raw: dict[str, Any], rules: list[str]) -> TextFinding:
    """The output model of one finding, with the rules it raised."""
    return trusted(TextFinding, **raw, rules=rules, status="from free text — confirm")
