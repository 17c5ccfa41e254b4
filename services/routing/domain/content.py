"""Routing's bounded copy of what a reviewer reads: the latest referral revision and triage result.

Kept per case from `ReferralReceived` (referral.events.v1) and `CaseTriaged`; dropped on erasure.
It holds patient data: served only through the case view's checks, never logged.

The row is capped (MAX_CONTENT_BYTES): the contract lets a referral under the 1 MiB HTTP limit
carry ~1.4 million characters of free text, and a row past the producer's limit
(schemas.topics.MAX_RECORD_BYTES) is refused when written behind, which crashes the worker on
every redelivery. Over the cap, free text is cut where reviewers lose least, and every cut is
recorded in `cuts` so the case view can say what it does not show whole.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from schemas.cases import CaseTriaged, ReferralReceived
from schemas.envelope import Event
from schemas.referral import Referral
from schemas.triage import TriageResult

# As routing's case rows (domain/state.MAX_STATE_BYTES): about half the producer's limit.
MAX_CONTENT_BYTES = 512 * 1024
# Marks the place of a cut inside a text; ASCII, so each of its characters is one byte in JSON.
CUT_MARK = " [...] "


class Cut(BaseModel):
    """A part of the referral or triage the row does not keep whole."""

    field: str  # e.g. imaging[3].report_text, narratives[0].text, triage.text_evidence, referral
    original_chars: int  # its length before any cut (a dropped part: characters of its JSON)
    kept_chars: int  # what the row keeps (0: dropped)


class CaseContent(BaseModel):
    """One case's referral and triage, as the case view needs them."""

    model_config = ConfigDict(extra="ignore")

    case_id: str
    revision: int = 0
    referral: Referral | None = None
    missing_records: list[str] = Field(default_factory=list)
    triage_revision: int = 0
    triage: TriageResult | None = None
    cuts: list[Cut] = Field(default_factory=list)  # empty unless the row hit its cap


def fold_content(current: CaseContent | None, event: Event, *,
                 limit: int = MAX_CONTENT_BYTES) -> CaseContent | None:
    """The content after `event`, capped at `limit` bytes of JSON, or None when it changes
    nothing (older revisions lose)."""
    base = current or CaseContent(case_id=event.case_id)
    if isinstance(event, ReferralReceived) and event.revision >= base.revision:
        return capped(base.model_copy(update={
            "revision": event.revision, "referral": event.referral,
            "missing_records": list(event.missing_records),
            "cuts": [c for c in base.cuts if _of_triage(c)]}), limit)
    if isinstance(event, CaseTriaged) and event.revision >= base.triage_revision:
        return capped(base.model_copy(update={
            "triage_revision": event.revision, "triage": event.triage,
            "cuts": [c for c in base.cuts if not _of_triage(c)]}), limit)
    return None


def row_size(content: CaseContent) -> int:
    """Bytes of the table row."""
    return len(content.model_dump_json().encode())


def capped(content: CaseContent, limit: int = MAX_CONTENT_BYTES) -> CaseContent:
    """`content` if its row fits `limit`; else cut, least needed first, until it fits.

    Order: narratives (the case view does not show them; triage has read them, and its
    `text_evidence` quotes what mattered), then imaging report texts (the longest first, each
    keeping its opening and its closing impression), then the clinical question; as a last
    resort (a contract-valid referral whose structured fields alone are this large), triage's
    quotes, the referral, the triage result. Each step leaves the texts valid for the contract.
    """
    steps: tuple[Callable[[CaseContent, int], CaseContent], ...] = (
        _cut_narratives, _cut_reports, _cut_question, _drop_evidence, _drop_referral,
        _drop_triage)
    size = row_size(content)
    for step in steps:
        # Again while it helps: a first pass cannot count the `cuts` entries it adds.
        for _ in range(3):
            if size <= limit:
                return content
            smaller = step(content, size - limit)
            smaller_size = row_size(smaller)
            if smaller_size >= size:
                break
            content, size = smaller, smaller_size
    return content


def cut_text(text: str, keep: int) -> str:
    """`text` in at most `keep` characters: its start and its end around CUT_MARK."""
    if len(text) <= keep:
        return text
    room = max(0, keep - len(CUT_MARK))
    head = room * 2 // 3
    return text[:head] + CUT_MARK + text[len(text) - (room - head):] if room else CUT_MARK


def _level(lengths: list[int], excess: int) -> int:
    """The longest length L such that cutting every text to L characters saves `excess`
    characters (each saves at least a byte); 0 if even that does not."""
    low, high = 0, max(lengths, default=0)
    if sum(lengths) < excess:
        return 0
    while low < high:  # largest L with sum(max(0, n - L)) >= excess
        mid = (low + high + 1) // 2
        if sum(max(0, n - mid) for n in lengths) >= excess:
            low = mid
        else:
            high = mid - 1
    return max(low, len(CUT_MARK))


def _cut_all(content: CaseContent, texts: dict[str, str], excess: int) -> dict[str, str]:
    """The texts (field -> text) to write back, each cut to the common level; records cuts."""
    level = _level([len(t) for t in texts.values()], excess)
    changed = {f: cut_text(t, level) for f, t in texts.items() if len(t) > level}
    known = {c.field: c for c in content.cuts}
    for field, text in changed.items():
        first = known.get(field)
        known[field] = Cut(field=field, kept_chars=len(text),
                           original_chars=first.original_chars if first else len(texts[field]))
    content.cuts = list(known.values())
    return changed


def _cut_items(content: CaseContent, excess: int, *, items: str, field: str) -> CaseContent:
    """Cut the `field` text of every entry of the referral's `items` list to a common level."""
    referral = content.referral
    if referral is None:
        return content
    content = content.model_copy()
    entries = getattr(referral, items)
    texts = {f"{items}[{i}].{field}": getattr(e, field)
             for i, e in enumerate(entries) if getattr(e, field)}
    changed = _cut_all(content, texts, excess)
    content.referral = referral.model_copy(update={items: [
        e.model_copy(update={field: changed.get(f"{items}[{i}].{field}", getattr(e, field))})
        for i, e in enumerate(entries)]})
    return content


def _cut_narratives(content: CaseContent, excess: int) -> CaseContent:
    return _cut_items(content, excess, items="narratives", field="text")


def _cut_reports(content: CaseContent, excess: int) -> CaseContent:
    return _cut_items(content, excess, items="imaging", field="report_text")


def _cut_question(content: CaseContent, excess: int) -> CaseContent:
    referral = content.referral
    if referral is None or not referral.clinical_question:
        return content
    content = content.model_copy()
    changed = _cut_all(content, {"clinical_question": referral.clinical_question}, excess)
    if changed:
        content.referral = referral.model_copy(update=changed)
    return content


def _drop_evidence(content: CaseContent, excess: int) -> CaseContent:
    if content.triage is None or not content.triage.text_evidence:
        return content
    dropped = sum(len(e.model_dump_json()) + 1 for e in content.triage.text_evidence)
    return _dropped(content, "triage.text_evidence", dropped,
                    triage=content.triage.model_copy(update={"text_evidence": []}))


def _drop_referral(content: CaseContent, excess: int) -> CaseContent:
    if content.referral is None:
        return content
    return _dropped(content, "referral", len(content.referral.model_dump_json()), referral=None)


def _drop_triage(content: CaseContent, excess: int) -> CaseContent:
    if content.triage is None:
        return content
    return _dropped(content, "triage", len(content.triage.model_dump_json()), triage=None)


def _dropped(content: CaseContent, field: str, chars: int, **update: object) -> CaseContent:
    cuts = [c for c in content.cuts if c.field != field]
    return content.model_copy(update={
        **update, "cuts": [*cuts, Cut(field=field, original_chars=chars, kept_chars=0)]})


def _of_triage(cut: Cut) -> bool:
    return cut.field == "triage" or cut.field.startswith("triage.")
