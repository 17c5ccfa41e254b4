"""Routing's copy of a case's referral and triage stays under its cap, whatever the contract lets
a referrer send, and says what it cut (services/routing/domain/content.py). Uncapped, the largest
referral made a 1,020,876-byte row that faust's producer refused on every redelivery."""

from __future__ import annotations

import json

from schemas.cases import CaseTriaged
from schemas.topics import MAX_RECORD_BYTES
from schemas.triage import TextEvidence
from services.routing.domain.content import (
    CUT_MARK,
    MAX_CONTENT_BYTES,
    CaseContent,
    fold_content,
    row_size,
)
from tests.support.big_referral import REPORT_END, REPORT_START, big_received
from tests.unit.routing.builders import triaged


def quoting_triage(case_id: str = "case-1") -> CaseTriaged:
    """A triage result as large as triage makes one: 100 quotes of the longest span and
    sentence (engine/text caps findings and set-aside mentions at 50 each)."""
    event = triaged(case_id)
    evidence = [TextEvidence(ref=f"tf{i}", source="clinical_question", span="s" * 500,
                             sentence="q" * 1_000) for i in range(100)]
    return event.model_copy(update={
        "triage": event.triage.model_copy(update={"text_evidence": evidence})})


def folded(*events: object) -> CaseContent:
    content = None
    for event in events:
        content = fold_content(content, event) or content  # type: ignore[arg-type]
    assert content is not None
    return content


def test_the_largest_referral_and_its_triage_fold_into_a_row_under_the_cap() -> None:
    received, triage = big_received(), quoting_triage()
    content = folded(received, triage)
    row = content.model_dump_json().encode()
    assert len(row) <= MAX_CONTENT_BYTES < MAX_RECORD_BYTES // 2 + 100_000
    again = CaseContent.model_validate_json(row)  # still a valid referral when read back
    assert again.triage == triage.triage  # the triage is kept whole
    assert again.referral is not None and again.referral.clinical_question == (
        received.referral.clinical_question)
    for study in again.referral.imaging:  # every report keeps its opening and its impression
        assert study.report_text is not None and CUT_MARK in study.report_text
        assert study.report_text.startswith(REPORT_START)
        assert study.report_text.endswith(REPORT_END)
    cuts = {c.field: c for c in again.cuts}
    assert set(cuts) == {f"imaging[{i}].report_text" for i in range(50)}
    assert {c.original_chars for c in cuts.values()} == {19_500}
    assert all(c.kept_chars == len(again.referral.imaging[0].report_text or "")
               for c in cuts.values())


def test_narratives_the_case_view_does_not_show_are_cut_before_imaging_reports() -> None:
    received = big_received(reports=10, report_chars=19_000, narratives=20)
    content = folded(received, quoting_triage())
    assert row_size(content) <= MAX_CONTENT_BYTES
    assert content.referral is not None
    assert content.referral.imaging == received.referral.imaging  # untouched
    assert {c.field for c in content.cuts} == {f"narratives[{i}].text" for i in range(20)}
    assert all(CUT_MARK in n.text for n in content.referral.narratives)


def test_a_new_revision_is_cut_afresh_and_a_small_one_is_kept_whole() -> None:
    content = folded(big_received(), quoting_triage())
    small = big_received(reports=1, report_chars=2_000).model_copy(update={"revision": 2})
    again = fold_content(content, small)
    assert again is not None and again.referral == small.referral
    assert again.cuts == [] and again.triage == content.triage


def test_a_referral_whose_structured_fields_alone_are_over_the_cap_is_dropped_and_said() -> None:
    # 30 surgeries of 30 levels, each a 200-character label of 4-byte characters: ~730 KB.
    surgery = {"procedure": "tlif", "weeks_before_referral": 10,
               "levels": ["\U0001F9B4" * 200] * 30}
    received = big_received(reports=0, surgeries=[surgery] * 30)
    content = folded(received, quoting_triage())
    assert row_size(content) <= MAX_CONTENT_BYTES
    assert content.referral is None and content.triage is not None
    dropped = json.loads(content.model_dump_json())["cuts"][-1]
    assert dropped["field"] == "referral" and dropped["kept_chars"] == 0
