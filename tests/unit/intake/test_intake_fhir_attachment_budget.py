"""Reading attached letters is bounded before and during the work (review 19).

A PDF of a few KB could ask for minutes of parsing: one content stream inflating to tens of MB of
operators that print nothing, shared by 30 pages, cost ~7 s of CPU per page, and two such bundles
held both FHIR parse slots for every referrer. These tests build such PDFs (smaller) and assert
on what was read and on the budget's counters; one asserts a CPU ceiling far above a normal read.
"""

from __future__ import annotations

import json
import time
import zlib

from services.intake.fhir.attachments import (
    MAX_ATTACHMENTS,
    MAX_PAGE_BYTES,
    MAX_PAGE_FONTS,
    ReadBudget,
    Reading,
    decode,
)
from services.intake.fhir.bundle import load_bundle
from services.intake.fhir.draft import Draft
from services.intake.fhir.mapping import referral_request
from services.intake.fhir.narratives import MAX_NARRATIVES, map_narratives
from tests.unit.intake.test_intake_fhir_mapping import mapped
from tests.unit.intake.test_intake_fhir_narratives import CES_LETTER, bundle, letter, text_pdf

HELVETICA = b"/F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
NO_TEXT = b"BT /F1 12 Tf ET\n"  # a text object that prints nothing


def stream(data: bytes, extra: bytes = b"") -> bytes:
    packed = zlib.compress(data, 9)
    return (b"<< /Length %d /Filter /FlateDecode %s >>\nstream\n" % (len(packed), extra)
            + packed + b"\nendstream")


def pdf(contents: list[int], objects: list[bytes], resources: bytes | None = None) -> bytes:
    """Pages whose /Contents are objects 3 + contents[i]; objects follow the page tree. Without
    `resources` each page has its own Helvetica; with it, every page refers to that object."""
    first_page = 3 + len(objects) + (resources is not None)
    shared = b"%d 0 R" % (first_page - 1)
    pages = [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
             b"/Resources %s >>" % (3 + c, shared if resources else b"<< /Font << "
                                    + HELVETICA + b" >> >>") for c in contents]
    kids = b" ".join(b"%d 0 R" % (first_page + i) for i in range(len(pages)))
    body = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)),
            *objects, *([resources] if resources else []), *pages]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, obj in enumerate(body, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(body) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(body) + 1, xref)
    return bytes(out)


def said(text: str) -> bytes:
    return b"BT /F1 11 Tf 40 700 Td (%s) Tj ET\n" % text.encode()


def read(data: bytes, budget: ReadBudget) -> Reading:
    return decode("application/pdf", data, budget)


def test_a_normal_letter_is_read_whole() -> None:
    budget = ReadBudget()
    reading = read(pdf([0, 1], [stream(said("Page one.")), stream(said("Page two."))]), budget)
    assert reading == Reading("Page one.\nPage two.", whole=True)
    assert (budget.attachments, budget.pages) == (1, 2)


def test_a_content_stream_over_the_page_bound_is_not_parsed_and_the_letter_is_flagged() -> None:
    bomb = NO_TEXT * (MAX_PAGE_BYTES // len(NO_TEXT) + 1_000)  # 1 MB and a bit, ~2 KB packed
    budget = ReadBudget()
    reading = read(pdf([0] * 30, [stream(bomb)]), budget)
    assert reading == Reading(None, whole=False)
    assert budget.pages == 30 and budget.bytes == 0  # each page weighed, none parsed


def test_pages_sharing_content_and_resources_are_read_once() -> None:
    budget = ReadBudget()
    data = pdf([0] * 30, [stream(said("Same words."))], resources=b"<< /Font << " + HELVETICA
               + b" >> >>")
    assert read(data, budget) == Reading("Same words.", whole=True)
    assert budget.pages == 1


def test_fonts_are_weighed_each_time_a_page_uses_them() -> None:
    # pypdf parses a font's ToUnicode map again for every font entry and every page that uses it
    pairs = b"<0041> <0042>\n" * (MAX_PAGE_BYTES // 14 // 4)
    cmap = stream(b"begincmap\n100 beginbfchar\n" + pairs + b"endbfchar\nendcmap\n")
    fonts = b" ".join(b"/F%d << /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                      b"/ToUnicode 4 0 R >>" % i for i in range(5))  # 5 x 250 KB
    budget = ReadBudget()
    data = pdf([0], [stream(said("hello")), cmap], resources=b"<< /Font << " + fonts + b" >> >>")
    assert read(data, budget) == Reading(None, whole=False)
    assert budget.bytes == 0
    many = b" ".join(b"/F%d %s" % (i, HELVETICA[4:]) for i in range(MAX_PAGE_FONTS + 1))
    data = pdf([0], [stream(said("hello"))], resources=b"<< /Font << " + many + b" >> >>")
    assert read(data, ReadBudget()) == Reading(None, whole=False)


def test_forms_are_weighed_with_the_page() -> None:
    form = stream(NO_TEXT * (MAX_PAGE_BYTES // len(NO_TEXT) // 2),
                  b"/Type /XObject /Subtype /Form /BBox [0 0 10 10]")
    page = b"/X0 Do\n/X1 Do\n"
    resources = b"<< /Font << " + HELVETICA + b" >> /XObject << /X0 4 0 R /X1 4 0 R >> >>"
    budget = ReadBudget()
    assert read(pdf([0], [stream(page), form], resources), budget) == Reading(None, whole=False)
    assert budget.bytes == 0


def test_the_bundle_budget_of_decoded_bytes_stops_the_reading_and_says_so() -> None:
    texts = [f"Page {n}." for n in range(1, 6)]
    data = pdf(list(range(5)), [stream(said(t)) for t in texts])
    budget = ReadBudget(max_bytes=3 * len(said(texts[0])))
    assert read(data, budget) == Reading("Page 1.\nPage 2.\nPage 3.", whole=False)
    assert budget.exhausted
    assert read(text_pdf("another letter"), budget) == Reading(None, whole=False)
    assert budget.attachments == 1


def test_the_bundle_budget_of_pages_stops_the_reading() -> None:
    data = pdf(list(range(3)), [stream(said(f"Page {n}.")) for n in range(1, 4)])
    budget = ReadBudget(max_pages=2)
    assert read(data, budget) == Reading("Page 1.\nPage 2.", whole=False)
    assert read(text_pdf("another letter"), budget).text is None


def test_the_cpu_deadline_stops_a_page_part_way() -> None:
    ticks = iter(range(1_000_000))  # the clock moves one second each time it is read
    budget = ReadBudget(clock=lambda: float(next(ticks)), max_cpu=500)
    costly = b"BT /F1 12 Tf " + b"() Tj " * 5_000 + b"ET\n"  # prints nothing, 5,000 operators
    reading = read(pdf([0, 1], [stream(said("Page one.")), stream(costly)]), budget)
    assert reading == Reading("Page one.", whole=False)
    assert budget.exhausted
    assert read(text_pdf("another letter"), budget) == Reading(None, whole=False)


def test_the_review_bomb_costs_little_cpu() -> None:
    # review 19's PDF: 4.5 million no-text operators (63 MB inflated, ~140 KB) on 30 pages;
    # 7 s of CPU a page before, a few ms now. The ceiling is far from both.
    bomb = pdf([0] * 30, [stream(b"BT /F1 12 Tf ET\n" * 4_500_000)])
    started = time.thread_time()
    assert read(bomb, ReadBudget()) == Reading(None, whole=False)
    assert time.thread_time() - started < 1.5


def test_an_unread_letter_is_listed_as_unmapped() -> None:
    bomb = pdf([0] * 30, [stream(NO_TEXT * (MAX_PAGE_BYTES // len(NO_TEXT) + 1_000))])
    result = mapped(bundle(letter("application/pdf", bomb)))
    assert result.referral is not None and result.referral.narratives == []
    assert [u for u in result.unmapped if "attachment" in u] == [
        "Bundle.entry[9].resource.content[0].attachment (attachment not read: over the reading "
        "budget; not read by triage)"]


def test_a_letter_read_in_part_is_a_narrative_and_listed_as_unmapped() -> None:
    costly = NO_TEXT * (MAX_PAGE_BYTES // len(NO_TEXT) + 1_000)
    data = pdf([0, 1], [stream(said(CES_LETTER)), stream(costly)])
    result = mapped(bundle(letter("application/pdf", data)))
    assert result.referral is not None
    assert [n.text for n in result.referral.narratives] == [CES_LETTER]
    assert any("attachment read in part: over the reading budget" in u for u in result.unmapped)


def test_attachments_past_the_narrative_cap_are_not_decoded() -> None:
    letters = [letter("text/plain", f"Letter {n}.".encode()) for n in range(MAX_NARRATIVES)]
    binary = {"resourceType": "Binary", "contentType": "text/plain", "data": "c3RpbGwgaGVyZQ=="}
    data = bundle(*letters, letter("application/pdf", text_pdf("one too many")), binary)
    index = load_bundle(json.dumps(data).encode())
    draft, budget = Draft(), ReadBudget()
    map_narratives(draft, index, referral_request(index), budget=budget)
    assert budget.attachments == MAX_NARRATIVES
    assert len(draft.data["narratives"]) == MAX_NARRATIVES
    full = [u for u in draft.unmapped if f"more than {MAX_NARRATIVES} free texts" in u]
    assert len(full) == 2  # the PDF letter and the Binary, listed without being opened


def test_imaging_reports_and_letters_share_the_bundle_budget() -> None:
    pdf_data = letter("application/pdf", text_pdf("No compression."))["content"][0]["attachment"]
    modality = {"system": "https://spine-router.example/fhir/CodeSystem/imaging-modality",
                "code": "mri"}
    report = {"resourceType": "DiagnosticReport", "status": "final",
              "code": {"coding": [modality]}, "presentedForm": [pdf_data]}
    result = mapped(bundle(*[report] * MAX_ATTACHMENTS, letter("text/plain", CES_LETTER.encode())))
    assert result.referral is not None and result.referral.narratives == []
    assert [s.report_text for s in result.referral.imaging] == ["No compression."] * MAX_ATTACHMENTS
    assert any("attachment not read: over the reading budget" in u for u in result.unmapped)
