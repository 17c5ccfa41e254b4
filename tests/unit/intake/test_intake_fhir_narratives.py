"""FHIR free text -> Referral.narratives, and triage raising urgency from it (issue 9).

The base bundle (facet-no-imaging) carries no structured red flag, so every emergency here was
found in a note, a reason text or an attached letter.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

from schemas.referral import Referral
from services.triage.engine import triage_referral
from tests.unit.intake.test_intake_fhir_mapping import fixture, mapped

CES_LETTER = ("Dear colleague, since Sunday she cannot feel the toilet paper when wiping and "
              "has been wetting herself. Yours sincerely.")


def bundle(*extra: dict[str, Any], **request: Any) -> dict[str, Any]:
    data = copy.deepcopy(fixture("facet-no-imaging.collection"))
    service_request = data["entry"][0]["resource"]
    service_request.update(request)
    for i, resource in enumerate(extra):
        data["entry"].append({"fullUrl": f"urn:uuid:00000000-0000-4000-8000-0000000009{i:02d}",
                              "resource": resource})
    return data


def referral_of(data: dict[str, Any]) -> Referral:
    result = mapped(data)
    assert result.referral is not None
    return result.referral


def letter(content_type: str, payload: bytes, **attachment: Any) -> dict[str, Any]:
    return {"resourceType": "DocumentReference", "status": "current",
            "content": [{"attachment": {"contentType": content_type,
                                        "data": base64.b64encode(payload).decode(),
                                        **attachment}}]}


def text_pdf(text: str) -> bytes:
    """A one-page PDF with a real text layer (Helvetica), offsets computed for the xref."""
    stream = f"BT /F1 11 Tf 40 700 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"\
        .encode()
    return bytes(out)


def test_the_base_bundle_is_routine() -> None:
    assert triage_referral(referral_of(bundle())).urgency == "routine"


def test_a_note_is_the_only_red_flag_and_triage_finds_it() -> None:
    referral = referral_of(bundle(note=[{"text": "Both legs painful since the weekend and new "
                                                 "difficulty starting to pee."}]))
    result = triage_referral(referral)
    assert result.urgency == "emergency" and result.emergency_pathway
    assert {f.source for f in result.text_findings} == {"clinical_question"}


def test_reason_text_and_priority_are_read() -> None:
    referral = referral_of(bundle(priority="stat",
                                  reasonCode=[{"text": "Saddle anaesthesia since this morning"}]))
    assert referral.referrer_priority == "stat"
    assert [n.source for n in referral.narratives] == ["ServiceRequest.reasonCode.text"]
    result = triage_referral(referral)
    assert result.urgency == "emergency"
    assert "REF_referrer_priority_floor" in {r.rule_id for r in result.fired_rules}


def test_an_attached_text_letter_is_read() -> None:
    referral = referral_of(bundle(letter("text/plain; charset=utf-8", CES_LETTER.encode())))
    assert referral.narratives[0].source == "DocumentReference"
    result = triage_referral(referral)
    assert result.urgency == "emergency"
    assert "RF1_CES_established" in {r.rule_id for r in result.fired_rules}


def test_a_letter_in_a_binary_named_by_url_is_read_as_html() -> None:
    html = f"<html><head><title>x</title></head><body><p>{CES_LETTER}</p></body></html>"
    binary = {"resourceType": "Binary", "id": "letter-1", "contentType": "text/html",
              "data": base64.b64encode(html.encode()).decode()}
    reference = {"resourceType": "DocumentReference", "status": "current",
                 "content": [{"attachment": {"contentType": "text/html",
                                             "url": "Binary/letter-1"}}]}
    result = mapped(bundle(reference, binary))
    assert result.referral is not None
    assert [n.text for n in result.referral.narratives] == [CES_LETTER]
    assert not any("Binary" in u for u in result.unmapped)
    assert triage_referral(result.referral).urgency == "emergency"


def test_a_pdf_letter_with_a_text_layer_is_read() -> None:
    pdf = text_pdf("Right foot now drags and slaps; she could lift it fine last week.")
    referral = referral_of(bundle(letter("application/pdf", pdf)))
    assert "foot now drags" in referral.narratives[0].text
    result = triage_referral(referral)
    assert result.urgency == "emergency"
    assert "RF3_progressive_or_severe_deficit" in {r.rule_id for r in result.fired_rules}


def test_an_unreadable_attachment_is_listed_as_unmapped_not_dropped() -> None:
    result = mapped(bundle(letter("application/pdf", b"%PDF-1.4 this is not a pdf"),
                           letter("image/jpeg", b"\xff\xd8\xff")))
    assert result.referral is not None and result.referral.narratives == []
    unread = [u for u in result.unmapped if "not read by triage" in u]
    assert len(unread) == 2


def test_condition_and_observation_text_is_read_unless_resolved_or_refuted() -> None:
    condition = {"resourceType": "Condition", "code": {"text": "Cauda equina syndrome"},
                 "subject": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000203"}}
    resolved = copy.deepcopy(condition)
    resolved["clinicalStatus"] = {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "resolved"}]}
    observation = {"resourceType": "Observation", "status": "final",
                   "code": {"text": "GP comment"}, "valueString": "Temperature 39.1 today",
                   "note": [{"text": "The wound is weeping."}]}
    assert triage_referral(referral_of(bundle(resolved))).urgency == "routine"
    referral = referral_of(bundle(condition, observation))
    assert [n.source for n in referral.narratives] == [
        "Condition.code.text", "Observation.valueString", "Observation.note"]
    result = triage_referral(referral)
    assert result.urgency == "emergency"
    assert {"RF1_CES_established", "RF5_postop_infection_systemic"} <= {
        r.rule_id for r in result.fired_rules}
