"""Contexts that must not fire (negated, hypothetical, historical, family, ruled out...),
structured-versus-text discordance, the referrer's priority floor and bounded text."""

from __future__ import annotations

import pytest

from services.triage.engine.text.lexicon import lexicon
from tests.unit.triage.builders import fired, triage

SET_ASIDE = [
    ("Denies saddle numbness.", "saddle_anaesthesia", "negated"),
    ("No urinary incontinence or retention.", "urinary_retention_or_incontinence", "negated"),
    ("Return if saddle numbness develops.", "saddle_anaesthesia", "hypothetical"),
    ("Advised to attend A&E should she develop urinary retention.",
     "urinary_retention_or_incontinence", "hypothetical"),
    ("CES safety netting advice given.", "cauda_equina_named", "hypothetical"),
    ("Retention after a catheter in 2019, resolved.", "urinary_retention_or_incontinence",
     "historical"),
    ("Car crash 10 years ago.", "trauma_high_energy", "historical"),
    ("Father had bowel cancer.", "cancer_history", "family"),
    ("Family history of myeloma.", "cancer_history", "family"),
    ("Cauda equina was excluded on MRI.", "cauda_equina_named", "ruled_out"),
    ("MRI excluded cauda equina compression last month.", "imaging_cauda_equina_compression",
     "ruled_out"),
    ("Long-standing stress incontinence since childbirth.", "urinary_retention_or_incontinence",
     "longstanding_or_stable"),
    ("Chronic stable bilateral leg pain on walking for years.", "bilateral_radicular",
     "longstanding_or_stable"),
    ("Weight loss was intentional, she has been dieting.", "weight_loss", "explained"),
    ("No fever, apyrexial throughout.", "fever", "negated"),
    ("Her husband is recovering from prostate surgery and is incontinent of urine.",
     "urinary_retention_or_incontinence", "family"),
    ("She asked about the warning signs (saddle numbness, change in bladder function) and she "
     "has none of them.", "saddle_anaesthesia", "negated"),
    ("Denys any saddle anaesthesia.", "saddle_anaesthesia", "negated"),
    ("The claimant's colleague fell from a ladder at work last month.", "trauma_high_energy",
     "family"),
    ("Written safety-netting advice regarding cauda equina syndrome given.",
     "cauda_equina_named", "hypothetical"),
    ("Physio CES screen: all normal.", "cauda_equina_named", "hypothetical"),
    ("She asked whether retention of urine can run in families.",
     "urinary_retention_or_incontinence", "hypothetical"),
    ("Explained that any fever over 38 would need urgent review.", "fever", "hypothetical"),
    ("Post-anaesthetic retention on the evening of her discectomy, normal since.",
     "urinary_retention_or_incontinence", "historical"),
]


@pytest.mark.parametrize("text", [
    "Her mother says she has been incontinent since Monday.",
    "Mum has noticed she is wetting herself.",
    "Her husband has noticed that she cannot feel the toilet paper since Friday.",
    "She developed saddle numbness last week; she had none of these before.",
    "Dear colleague, Mr Khan fell from a ladder yesterday.",  # a salutation, no relative
    # the episode dated in words fills current_episode_days: a severe deficit within 14 days
    "Six days ago she bent to pick up a box. Examination: right ankle dorsiflexion 2/5.",
    "Ten days ago, while gardening, she developed pain down the leg. Knee extension 3/5.",
    "I examined the perineum and found absent pinprick sensation over the perianal skin.",
    "I don't get the feeling that I need to go for a wee any more.",
    "Twice in the last week she has found herself soaked with urine.",
    "Over nine days she has had complete loss of sexual sensation and arousal, which is new.",
    "The CRP you checked last week was 74 mg/L. Temperature in clinic 38.2 degrees C.",
])
def test_red_flags_written_this_way_are_emergencies(text: str) -> None:
    # a relative telling of the patient (the patient named between them:
    # reading._patient_between), dated episodes, long letters' wordings
    assert triage(clinical_question=text).urgency == "emergency"


@pytest.mark.parametrize("text", [
    "She has normal sensation in the saddle area.",  # "sensation" alone is no loss
    "SLR 45 degrees right, 80 degrees left.",  # an angle, no temperature
    "The wound is healed and non-tender.",
    "Occasional aching into both buttocks but no leg pain.",  # buttocks alone are no sciatica
    "For about two years she has had aching in both thighs after walking 300 metres.",
    "On the first post-operative day she was unable to pass urine; normal since.",
    "She has been checking herself every day for cauda equina symptoms.",
    "She read about cauda equina syndrome online and asked whether she has it.",
    "Her GP did blood tests including the myeloma test, all normal.",
])
def test_what_reads_like_a_red_flag_but_is_none(text: str) -> None:
    result = triage(clinical_question=text)
    assert result.urgency in ("routine", "soon"), [r.rule_id for r in result.fired_rules]


def test_a_visit_ten_days_ago_dates_no_episode() -> None:
    # a severe deficit of unknown duration is urgent; "I saw her ten days ago" is no onset
    result = triage(clinical_question="I saw her ten days ago. Examination: right ankle "
                                      "dorsiflexion 2/5.")
    assert result.urgency == "urgent"


@pytest.mark.parametrize(("text", "concept", "reason"), SET_ASIDE)
def test_context_sets_the_mention_aside_with_its_reason(
    text: str, concept: str, reason: str
) -> None:
    result = triage(clinical_question=text)
    assert result.urgency == "routine", [r.rule_id for r in result.fired_rules]
    assert (concept, reason) in [(s.concept, s.reason) for s in result.set_aside]
    assert not result.text_findings or all(f.rules == [] for f in result.text_findings)


def test_history_of_cancer_counts_as_cancer_history_but_a_relatives_does_not() -> None:
    own = triage(clinical_question="History of prostate cancer. Pain wakes him at night.")
    relative = triage(clinical_question="Father had prostate cancer. Pain wakes him at night.")
    assert fired(own) == {"RF8_malignancy_suspected": "urgent"}
    assert "RF8_malignancy_suspected" not in fired(relative)


def test_a_later_affirmed_mention_fires_though_an_earlier_one_was_negated() -> None:
    result = triage(clinical_question="No saddle numbness on Monday. Now has saddle numbness.")
    assert result.urgency == "emergency"
    assert [s.reason for s in result.set_aside] == ["negated"]


def test_structured_no_and_text_yes_uses_the_text_and_shows_the_discordance() -> None:
    result = triage(
        clinical_question="She has been wetting herself since yesterday.",
        red_flags={"fever_c": 37.0, "bladder_change": "none"},
    )
    assert result.urgency == "emergency"
    [discordance] = result.discordances
    assert discordance.field == "red_flags.bladder_change"
    assert discordance.structured_value == "none"
    assert discordance.text_value == "retention_or_incontinence"
    assert discordance.finding_id == result.text_findings[0].id


def test_no_discordance_when_the_section_was_not_recorded() -> None:
    result = triage(clinical_question="She has been wetting herself since yesterday.")
    assert result.urgency == "emergency" and result.discordances == []


def test_narratives_from_every_source_are_read_with_their_source() -> None:
    result = triage(narratives=[
        {"source": "ServiceRequest.reasonCode.text", "text": "Back pain."},
        {"source": "DocumentReference[0]", "text": "Today she could not pass urine."},
    ])
    assert result.urgency == "emergency"
    assert result.text_findings[0].source == "DocumentReference[0]"


@pytest.mark.parametrize(("priority", "urgency"), [
    ("stat", "emergency"), ("asap", "urgent"), ("urgent", "urgent"), ("routine", "routine"),
])
def test_referrer_priority_is_a_floor(priority: str, urgency: str) -> None:
    result = triage(referrer_priority=priority)
    assert result.urgency == urgency
    if priority != "routine":
        [rule] = result.fired_rules
        assert rule.rule_id == "REF_referrer_priority_floor" and priority in rule.reason


def test_referrer_priority_never_lowers_a_red_flag() -> None:
    result = triage(referrer_priority="urgent", red_flags={"saddle_anaesthesia": True})
    assert result.urgency == "emergency"


def test_text_beyond_the_reading_limit_is_reported_not_silently_dropped() -> None:
    limit = lexicon().max_text_chars
    filler = "Back pain. " * (limit // 11 + 10)
    result = triage(narratives=[{"source": f"letter{i}", "text": filler[:20_000]}
                                for i in range(4)])
    assert any(item.startswith("free text:") for item in result.missing_data)
