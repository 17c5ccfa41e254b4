"""A conversation's short answers, written after the question they answer.

Telephone triage, video consultations, chatbots and message threads reach us as turns: "Dr: Any
weakness, numbness down below, bladder? | Pt: none." The red flags are in the question and the
answer is in the next turn, a sentence away, so the question read as found. The reading already
understands a screen's "night pain? no" (forms.py: "?: no" reaches back over the question and
"?: yes" affirms it), so an answer that opens the next speaker's turn is written that way:
"bladder?: no |" then the rest of the turn as said. The "|" keeps the answer's "no" off the
turn's own words ("Pt: no, but I can't feel it when I wipe" still reads the wiping).

Only a short answer that closes on itself counts ("no", "none of them", "not really", "all
fine", "yes", "a bit"): "Pt: no control since Monday" answers nothing, it says something. A turn
opens with a speaker's role ("Pt:", "Caller:", "A:", "[Daughter 08:21]") or a first name
("| Sue:"), never a field's label ("| Bladder: no" is the bladder's own answer).
"""

from __future__ import annotations

import re

NEG_UNIT = (r"(?:none\s+of\s+(?:them|these|those|that|the\s+above)|nothing\s+like\s+that"
            r"|not\s+really|not\s+now|not\s+that\s+i(?:'ve|\s+have)\s+noticed"
            r"|not\s+that\s+i\s+know\s+of|(?:i\s+)?don'?t\s+think\s+so|(?:all\s+)?(?:fine|normal)"
            r"|(?:only|just)\s+(?:the\s+)?(?:right|left)(?:\s+(?:one|leg|side))?"
            r"|no|nope|nah|none|nil|nothing|negative|denies|never)")
NEGATIVE = re.compile(NEG_UNIT + r"(?:[,!.]?\s+" + NEG_UNIT + r")*\b", re.IGNORECASE)
POSITIVE = re.compile(r"(?:yes|yeah|yep|yup|a\s+(?:little\s+)?bit|a\s+little|slightly|sort\s+of"
                      r"|kind\s+of)\b", re.IGNORECASE)
# the answer closes on itself: a separator, the end, or words that go on about it
CLOSES = re.compile(r"\s*(?:[|,;.!)\-\u2013\u2014\"'\u201d\u2019]|$)"
                    r"|\s+(?:i|i'm|im|she|he|it|it's|its|that|that's"
                    r"|thats|just|only|thank|thanks|all|everything|fine|normal|nothing|not|never"
                    r"|really|the|my|her|his|as|same|usual|like|since|god)\b", re.IGNORECASE)
# "No. Well, actually, yes, ...": the answer is the correction
CORRECTED = re.compile(r"[\s.,!\u2026]*(?:well[\s.,!\u2026]*)?"
                       r"(?:actually|wait|hang\s+on|come\s+to\s+think"
                       r"|now\s+(?:that\s+)?you\s+mention)\b", re.IGNORECASE)
# an answer that is a value or a course goes on the question's line as a field's answer:
# "Temperature? | Pt: 38.9" is "Temperature: 38.9", "Leg pain score? | Pt: Eight" is "Leg pain
# score: Eight", "How's the weakness? | Pt: worse" is "How's the weakness: worse"
VALUE = re.compile(r"(?:\d|(?:one|two|three|four|five|six|seven|eight|nine|ten|about|around"
                   r"|maybe|roughly|worse|better|same|getting|much|(?:she|he|i)\s+measured)\b)",
                   re.IGNORECASE)
# a question with its own negation keeps its answer apart ("No fever then? | Pt: 38.5": the
# "no" would reach the answer)
NEGATION = re.compile(r"\b(?:no|not|never|without|denies|nothing|none)\b|n't\b", re.IGNORECASE)
# who speaks: a role, or a name (checked against FIELDS), with an optional time
SPEAKER = (r"(?:\[(?P<bracket>[A-Za-z][A-Za-z .'\u2019]{0,24}?)(?:\s+\d{1,2}[:.]\d{2})?\]"
           r"|(?P<label>[A-Za-z][A-Za-z.'\u2019]{0,20}(?:\s[A-Za-z][A-Za-z.'\u2019]{0,20}){0,2})\s*:)")
TURN = re.compile(
    r"(?<=[A-Za-z)])\s*\?[\"'\u201d\u2019]?\s*(?P<pipe>\|\s*)?" + SPEAKER
    + r"\s*[\"'\u201c\u2018]?(?i:(?:she|he|they)\s+says?[,:]?\s+)?"
    r"(?i:(?:god|oh|well|um|erm|er|ah|uh|hmm)[,.!\u2026\s]+)*")
# a question turn asking several at once: "Dr: Numbness in the saddle area? Bladder? | Pt: no"
ASKED = re.compile(r"\s*(?:[A-Za-z][A-Za-z .'\u2019]{0,24}:)?[^:|]{1,200}")
# As forms.MAX_ANSWERS: past this many answers the rest of a text is read as written.
MAX_TURNS = 200
ROLES = frozenset({
    "pt", "patient", "caller", "a", "ans", "answer", "user", "me", "interpreter", "client",
    "mum", "mom", "dad", "father", "mother", "husband", "wife", "daughter", "son", "partner",
    "carer", "sister", "brother", "friend", "relative", "parent", "resp", "response", "reply",
    "spouse", "she", "he", "they", "pt says", "patient says"})
# labels a form or a note gives its fields: never a speaker ("Fever? | Bladder: no")
FIELDS = frozenset({
    "bladder", "bowels", "bowel", "saddle", "fever", "temp", "temperature", "urine", "wound",
    "pain", "legs", "leg", "power", "sensation", "weakness", "numbness", "trauma", "fall",
    "weight", "cancer", "night", "crp", "mri", "ct", "imaging", "impression", "plan",
    "assessment", "hpi", "ros", "pe", "exam", "obs", "dx", "diagnosis", "history", "sx", "stream",
    "waterworks", "sexual", "erections", "pr", "perineum", "bottom", "sphincter", "reflexes",
    "gait", "tone", "note", "notes", "re", "subject", "cc", "bloods", "labs", "meds",
    "medication", "allergies", "findings", "outcome", "disposition", "action", "advice", "sn",
    "safety", "red", "flags", "screen", "symptoms", "back", "neuro", "sleep", "appetite",
    "walking", "mobility", "function", "dressing", "scar", "incision", "drain", "catheter",
    "q", "question", "dr", "doctor", "nurse", "gp", "bot", "handler", "physio", "clinic"})


def _speaks(m: re.Match[str]) -> bool:
    """Whether the turn's label names someone answering (a role or a first name)."""
    who = (m.group("bracket") or m.group("label") or "").strip().rstrip(".").lower()
    if who in ROLES or who.split()[-1] in ROLES:
        return True
    name = (m.group("bracket") or m.group("label") or "").strip()
    # a first name after a turn break ("| Sue:", "[Jenny 08:21]"): one capitalised word
    return (bool(m.group("pipe")) or bool(m.group("bracket"))) and " " not in name \
        and name[:1].isupper() and name.lower() not in FIELDS


def _question(text: str, end: int) -> tuple[int, str]:
    """Where the question's turn starts (after the last "|", at most 200 characters back)."""
    # (the search is bounded too: a hostile text of a thousand questions and no "|" is linear)
    start = max(text.rfind("|", max(0, end - 200), end) + 1, end - 200, 0)
    return start, text[start:end]


def dialogue_answers(text: str) -> list[tuple[int, int, str]]:
    """(start, end, words) for each answer opening the turn after a question."""
    found: list[tuple[int, int, str]] = []
    for m in TURN.finditer(text):
        if len(found) >= MAX_TURNS:
            break
        if not _speaks(m):
            continue
        rest = text[m.end():m.end() + 120]
        said = NEGATIVE.match(rest) or POSITIVE.match(rest)
        if said and CLOSES.match(rest, said.end()):
            yes = said.re is POSITIVE or CORRECTED.match(rest, said.end()) is not None
            found.append((m.start(), m.end() + said.end(), "?: yes |" if yes else "?: no |"))
            start, asked = _question(text, m.start())
            if ASKED.fullmatch(asked):  # one answer to every question of the turn
                found.extend((start + q.start(), start + q.end(), ",")
                             for q in re.finditer(r"\?(?=\s)", asked))
        elif VALUE.match(rest) and not NEGATION.search(_question(text, m.start())[1]):
            found.append((m.start(), m.end(), ": "))
    return found


# A son or daughter writing about the patient calls the patient "Mum" or "Dad": "[Daughter 08:12]
# Mum's had an accident with her bowels this morning", "Message from patient's daughter: Mum had
# an accident with her bowels on Wednesday" (blind calls and pain-clinic tables) is the patient's
# own story, not a family history.
BY_CHILD = re.compile(
    r"\b(?:from|by)\s+(?:the\s+)?(?:patient'?s?|pt'?s?|her|his|their)\s+(?:daughter|son)\b"
    r"|\[\s*(?:daughter|son)\b|(?:^|\|)\s*(?:daughter|son)\s*(?:\([^)]{0,30}\))?\s*:"
    r"|\bi(?:\s+am|'m|\s+m)\s+(?:her|his|the\s+patient'?s)\s+(?:daughter|son)\b"
    r"|(?:^|\|)\s*(?:daughter|son)\s+(?:reports|says|writes|phoned|rang|called|asks)\b"
    # "Son's email to the spinal secretary:", "Daughter's text:" (blind care-home table)
    r"|(?:^|\|)\s*(?:daughter|son)'?s\s+(?:e-?mail|text|message|letter|call|note|voicemail)\b",
    re.IGNORECASE)
# ... or speaks of "Mum" (no "my") and of her operation: "Mum phoned me in tears tonight ... She had
# her neck op in September", "Hi, Mom's temp at home was 101.3 ... She had the fusion in September"
# (blind older neck table); a patient writes "my mum"
BARE_PARENT = re.compile(r"(?<![Mm]y )(?<![Hh]er )(?<![Hh]is )(?<![Yy]our )\b(?:Mum|Mom|Mam|Dad)\b")
PARENTS_OPERATION = re.compile(
    r"\b(?:she|he)\s+(?:had|has\s+had)\s+(?:her|his|the)\s+(?:neck\s+|back\s+|spinal\s+|spine\s+"
    r"|lumbar\s+)?(?:op|operation|surgery|fusion|discectomy|decompression|laminectomy)\b",
    re.IGNORECASE)
PARENT_WORDS = frozenset({"mum", "mom", "mam", "mother", "mummy", "mommy", "dad", "father",
                          "daddy"})


def written_by_child(text: str) -> bool:
    """Whether the patient's son or daughter writes (or speaks in) the text."""
    return BY_CHILD.search(text) is not None or (
        BARE_PARENT.search(text) is not None and PARENTS_OPERATION.search(text) is not None)
