"""Forms' tick boxes and short answers, read as a label's answer (text/forms.py)."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.referral import Referral
from services.triage.engine import triage_referral
from services.triage.engine.text.forms import MAX_ANSWERS, form_answers
from tests.unit.triage.text.test_text_narratives import BASE, urgency_received


def written(text: str) -> str:
    for start, end, words in reversed(form_answers(text)):
        text = text[:start] + words + text[end:]
    return text


@pytest.mark.parametrize(("text", "expected"), [
    ("Saddle anaesthesia  ☐ Y  ☑ N", "Saddle anaesthesia  : no"),
    ("Retention: Yes [ ] No [x]", "Retention: : no"),
    ("Wound ooze: Y[x] N[ ]", "Wound ooze: : yes"),
    ("Trauma since surgery?  ☑ Yes  ☐ No", "Trauma since surgery?  : yes"),
    ("Bladder change? ☐ Yes ☐ No", "Bladder change? : not answered"),
    ("saddle (-) retention (-) | SLR (+)", "saddle: no retention: no | SLR: yes"),
    ("Saddle anaes -ve | bilat +ve", "Saddle anaes: no | bilat: yes"),
    ("Saddle anaesthesia N, Bladder N, Bowel Y", "Saddle anaesthesia: no, Bladder: no, Bowel: yes"),
    ("Sphincter problems: ☐ | Saddle numbness ☑ |",
     "Sphincter problems: no | Saddle numbness: yes |"),
    ("saddle ✘ | bilat ✔", "saddle: no | bilat: yes"),
    ("☐ Night pain ☑ Fever", " | no Night pain ; Fever"),
])
def test_answers_are_written_after_their_label(text: str, expected: str) -> None:
    assert written(text) == expected


@pytest.mark.parametrize("text", [
    "Power 4/5 in L5, N/A",  # nothing ticked, no answer letter closing a field
    "| Symptom | Yes | No | | Saddle anaesthesia | | X |",  # columns: left as written
    "Seen by Dr N at the clinic",  # a capital letter not closing a field
])
def test_what_is_not_an_answer_is_left_as_written(text: str) -> None:
    assert form_answers(text) == []


def urgency(text: str) -> str:
    fields: dict[str, Any] = {**BASE, "clinical_question": text}
    return triage_referral(Referral.model_validate(fields)).urgency


@pytest.mark.parametrize(("text", "expected"), [
    # answered no, every glyph: no red flag
    ("NEUROSURGERY PROFORMA | Sphincter disturbance:  ☐ Y  ☑ N | Saddle anaesthesia:  ☐ Y  ☑ N "
     "| Bilateral symptoms:  ☐ Y  ☑ N | Pain: back 4/10", "routine"),
    ("GP e-ref red flags: Saddle anaesthesia N, Bladder N, Bowel N, Bilat leg sx N, Weakness N.",
     "routine"),
    ("Telephone triage: Saddle anaes -ve | retention -ve | incont -ve | bowel -ve", "routine"),
    ("Web form | Saddle numbness / bladder / bowel change? ☐ Yes ☑ No | Pain: back 4, leg 2",
     "routine"),
    ("Red flags (please tick): saddle anaesthesia / urinary retention / faecal incontinence",
     "routine"),
    ("Saddle anaesthesia — absent | Urinary retention — absent", "routine"),
    # answered yes, or ticked: the red flag stands
    ("Web form | Saddle numbness / bladder / bowel change? ☑ Yes ☐ No", "emergency"),
    ("Sphincter screen | Retention: Y[x] N[ ] | Saddle: Y[ ] N[x]", "emergency"),
    ("Continence:  ☐ normal  ☑ altered  — new urinary incontinence overnight twice this week",
     "emergency"),
    ("Mechanism:  ☐ low energy (fall from standing height)  ☑ high energy — came off his "
     "motorbike at about 40 mph 5 days ago", "emergency"),
    ("Trauma since surgery?  ☑ Yes  ☐ No   If yes, mechanism: driver in RTC 4 days ago, car hit "
     "side-on at approx 50 mph, airbags deployed", "emergency"),
    ("Bladder dysfunction: No — but says she has been leaking since Tuesday, never happened "
     "before, now wearing pads", "emergency"),
])
def test_forms_answered_no_are_routine_and_answered_yes_are_not(text: str, expected: str) -> None:
    assert urgency(text) == expected


def test_only_the_first_answers_of_a_text_are_written() -> None:
    # the words are longer than the boxes: hostile text must not grow past the reading limit
    assert len(form_answers("☐ x " * (MAX_ANSWERS + 50))) == MAX_ANSWERS


@pytest.mark.parametrize(("text", "expected"), [
    ("Night pain? No. Weight loss? No.", "Night pain: no. Weight loss: no."),
    ("Cancer? Yes - breast 2010. Fever? Nil", "Cancer: yes - breast 2010. Fever: no"),
    ("Saddle? N | Bladder? Y", "Saddle: no | Bladder: yes"),
    ("?CES - saddle numbness", "?CES - saddle numbness"),  # a query before a term stays
    ("Could this be infection? No idea.", "Could this be infection? No idea."),  # not an answer
])
def test_a_screens_question_and_one_word_answer(text: str, expected: str) -> None:
    assert written(text) == expected


def test_a_red_flag_screen_answered_no_fires_nothing_but_the_cancer_history() -> None:
    """blind_malignancy.txt: every "? No" read as a yes made this RF8."""
    result = triage_referral(Referral.model_validate({**BASE, "clinical_question": (
        "Red flag screen: Night pain? No. Weight loss? No. Cancer? Yes - breast 2010. "
        "Fever? No. Saddle? No. Bladder/bowel? Normal.")}))
    assert result.urgency == "routine"
    assert [f.concept for f in result.text_findings] == ["cancer_history"]


# A field answered with the finding itself: the label names the organ, the answer is what is
# wrong with it ("Bowels: no control"). ": no" there is the finding, not the field's denial.
FIELD_FINDINGS = [
    ("I have no control of my bowels since Monday", "emergency"),
    ("Bowels: no control since Monday.", "emergency"),
    ("Bowels - no control", "emergency"),
    ("Bowels: accidents x3 since Sunday", "emergency"),
    ("PR: lax tone", "emergency"),
    ("Bladder: can't tell when it's full since Monday", "emergency"),
    ("Bladder: no feeling of needing to go since Monday", "emergency"),
    ("Bladder: not emptying fully since Monday", "emergency"),
    ("Waterworks: can't feel when I go since Tuesday", "emergency"),
    ("Wee: can't feel it coming out", "emergency"),
    ("Pee: won't come since last night", "emergency"),
    ("Stream: poor, new since Monday", "emergency"),
    ("Saddle: no feeling since Monday", "emergency"),
    ("Perineum: reduced sensation", "emergency"),
    ("Bottom: numb", "emergency"),
    ("Erections: none since Tuesday, new", "emergency"),
    ("Sexual function: lost since Tuesday", "emergency"),
    ("Legs: both numb since Sunday", "emergency"),
    ("Sensation: reduced both legs since Sunday, getting worse", "emergency"),
    # the same labels answered with a denial or a normal finding
    ("Bowels: no control issues", "routine"),
    ("Bowels: no accidents", "routine"),
    ("Bladder: doesn't feel any different", "routine"),
    ("Bladder: no feeling of incomplete emptying", "routine"),
    ("Bladder: no sensation changes", "routine"),
    ("Saddle: normal", "routine"),
    ("PR: normal tone", "routine"),
    ("Perineum: normal sensation", "routine"),
    ("Bottom: not numb", "routine"),
    ("Erections: normal", "routine"),
    ("Legs: both fine", "routine"),
    ("Stream: good", "routine"),
    ("Pee: no problems", "routine"),
    ("Legs: both numb for 3 years, unchanged", "routine"),
]


@pytest.mark.parametrize(("text", "expected"), FIELD_FINDINGS)
def test_a_field_answered_with_its_finding(text: str, expected: str) -> None:
    assert urgency_received(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # a turn's short answer goes after the question it answers
    ("Dr: Any weakness, numbness down below, bladder? | Pt: none.",
     "Dr: Any weakness, numbness down below, bladder?: no |."),
    ("Nurse: Any weakness? | Interpreter: She says no.", "Nurse: Any weakness?: no |."),
    ("[Surgery 08:20] Any numbness? | [Daughter 08:21] not really",
     "[Surgery 08:20] Any numbness?: no |"),
    ("Q: Any accidents? A: God no, the opposite!", "Q: Any accidents?: no |, the opposite!"),
    ("Nurse: Pain in both legs? | Interpreter: Only the right.",
     "Nurse: Pain in both legs?: no |."),
    ("Clinic: Any wound problems, fever, sweats? | Me: no none of those | Clinic: Thanks",
     "Clinic: Any wound problems, fever, sweats?: no | | Clinic: Thanks"),
    # one answer to every question of the turn
    ("Dr: Numbness in the saddle area? Bladder? | Pt: no.",
     "Dr: Numbness in the saddle area, Bladder?: no |."),
    # a "no" taken back is the answer's correction
    ("Q: Any weight loss? A: No. Well, actually, yes, down 6 kilos.",
     "Q: Any weight loss?: yes |. Well, actually, yes, down 6 kilos."),
    # a value goes on the question's line
    ("Handler: Temperature? | Caller: 38.0, I did it twice",
     "Handler: Temperature: 38.0, I did it twice"),
    # left as written: a question with its own negation, a field's label, an answer that says
    # something ("no control")
    ("Dr: No fever then? | Pt: 38.5 last night", "Dr: No fever then? | Pt: 38.5 last night"),
    ("Fever? | Bladder: no", "Fever? | Bladder: no"),
    ("Dr: How's the bladder? | Pt: no control since Monday",
     "Dr: How's the bladder? | Pt: no control since Monday"),
])
def test_a_conversations_answer_is_written_after_its_question(text: str, expected: str) -> None:
    assert written(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Video consult. Dr: Any weakness, numbness down below, bladder? | Pt: none. | Dr: OK.",
     "routine"),
    ("Dr: Numbness down below? | Pt: yes, since Tuesday", "emergency"),
    # the answer's "no" keeps to its question: the turn's own words and the turn before count
    ("Dr: Any numbness down below? | Pt: no, but I can't feel it when I wipe since Monday",
     "emergency"),
    ("Pt: my left foot is weak since Monday, 3/5. | Dr: Any numbness down below? | Pt: no.",
     "emergency"),
    ("Handler: Have you taken your temperature? | Caller: 38.0, I did it twice | Handler: "
     "Anything with the wound? | Caller: there's redness round the top of the scar", "emergency"),
])
def test_a_conversation_is_read_by_its_answers(text: str, expected: str) -> None:
    assert urgency_received(text) == expected
