"""Text of an attached letter: text/plain, text/html, or a PDF's text layer (pypdf), bounded.

Every read is bounded before and during work, because a PDF of a few KB can ask for minutes of
parsing (review 19: one content stream inflating to 63 MB of operators that print nothing, shared
by 30 pages). Attachments over MAX_BYTES are not opened; a PDF is read for at most MAX_PDF_PAGES
pages and its text cut at MAX_CHARS (the Narrative contract's limit). One ReadBudget is shared by
every attachment of a bundle: at most MAX_ATTACHMENTS opened, MAX_BUNDLE_PAGES pages,
MAX_BUNDLE_BYTES of decoded streams and MAX_BUNDLE_CPU seconds of the parsing thread's CPU. A page
is weighed before it is read (its decoded content, the ToUnicode maps of its fonts and its forms,
each counted every time a page uses it, as pypdf parses them again each time) and skipped above
MAX_PAGE_BYTES or MAX_PAGE_FONTS; pypdf's own limits cap each stream's decoded size and its parse.
A reading cut short says so (Reading.whole), and the caller lists the attachment as unmapped; so
does a PDF without a text layer (a scan), an encrypted or a broken one (text None): a human knows
a letter was not read, or not all of it.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

MAX_BYTES = 2_000_000
MAX_PDF_PAGES = 30
MAX_CHARS = 20_000
MAX_ATTACHMENTS = 20  # as many as can become narratives
MAX_BUNDLE_PAGES = 60
MAX_BUNDLE_BYTES = 10_000_000
MAX_BUNDLE_CPU = 2.0  # a typed letter's page costs 5-50 ms
MAX_PAGE_BYTES = 1_000_000  # a typed letter's page decodes to 2-50 KB
MAX_PAGE_FONTS = 20
MAX_PAGE_FORMS = 20
MAX_FORM_DEPTH = 3
MAX_STREAM_TOKENS = 100_000  # ~0.4 s of pypdf's parsing; a dense letter page has a few thousand
TEXT_TYPES = ("text/plain", "text/html", "application/pdf", "application/xhtml+xml")
_SKIPPED_TAGS = frozenset({"script", "style", "head", "title"})
_BLOCK_TAGS = frozenset({"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "td", "section"})
# pypdf's defaults allow 75 MB per decoded stream and 2,000,000 tokens per parse.
_PYPDF_LIMITS = {
    "zlib_maximum_output_length": MAX_PAGE_BYTES,
    "lzw_maximum_output_length": MAX_PAGE_BYTES,
    "run_length_maximum_output_length": MAX_PAGE_BYTES,
    "brotli_maximum_output_length": MAX_PAGE_BYTES,
    "array_based_stream_maximum_output_length": MAX_PAGE_BYTES,
    "stream_decoding_work_maximum_length": 4 * MAX_PAGE_BYTES,
    "stream_parsing_work_maximum_count": MAX_STREAM_TOKENS,
    "page_tree_maximum_entries": 10_000,
}


@dataclass(frozen=True)
class Reading:
    text: str | None
    whole: bool = True  # False: the budget or a page's weight stopped the reading short


@dataclass
class ReadBudget:
    """What reading one bundle's attachments may cost; `clock` is the parsing thread's CPU."""

    clock: Callable[[], float] = time.thread_time
    max_attachments: int = MAX_ATTACHMENTS
    max_pages: int = MAX_BUNDLE_PAGES
    max_bytes: int = MAX_BUNDLE_BYTES
    max_cpu: float = MAX_BUNDLE_CPU
    attachments: int = 0  # opened
    pages: int = 0  # weighed (read or skipped)
    bytes: int = 0  # decoded bytes of the pages read
    exhausted: bool = False
    started: float | None = None

    def spent(self) -> bool:
        if self.started is None:
            self.started = self.clock()
        if self.clock() - self.started > self.max_cpu:
            self.exhausted = True
        return self.exhausted

    def check(self, *_: Any) -> None:
        """pypdf's visitor, called before every operator of a page and of its forms."""
        if self.spent():
            raise _OverBudget


class _OverBudget(BaseException):
    """A BaseException: pypdf catches Exception around forms and would read on."""


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS and self.skipping:
            self.skipping -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_text(markup: str) -> str:
    """Visible text of an HTML letter, block elements on their own lines."""
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _key(value: Any) -> Any:
    """What a page shares with another page: the same object, or the same indirect object."""
    if isinstance(value, list):
        return tuple(_key(item) for item in value)
    number = getattr(value, "idnum", None)
    return ("obj", number, getattr(value, "generation", 0)) if number is not None else id(value)


def _get(table: Any, key: str) -> Any:
    """table[key] resolved (dict.get, which pypdf does not override, returns the reference)."""
    value = table.get(key) if isinstance(table, dict) else None
    return value.get_object() if value is not None else None


def _stream_bytes(stream: Any) -> int:
    return len(stream.get_data()) if hasattr(stream, "get_data") else 0


def _font_bytes(font: Any) -> int:
    """The map pypdf parses for a font each time a page or a form uses it."""
    if "/ToUnicode" in font:
        return _stream_bytes(_get(font, "/ToUnicode"))
    descriptor = _get(font, "/FontDescriptor")
    if _get(font, "/Subtype") != "/Type1" or not isinstance(descriptor, dict):
        return 0
    return sum(_stream_bytes(_get(descriptor, key)) for key in ("/FontFile", "/FontFile3"))


def _page_weight(page: Any) -> int | None:
    """Decoded bytes text extraction parses for this page, or None if over the page bounds."""
    contents = page.get_contents()
    weight = len(contents.get_data()) if contents is not None else 0
    fonts = forms = 0
    pending = [(_get(page, "/Resources"), 0)]
    while pending:
        resources, depth = pending.pop()
        font_table, xobjects = _get(resources, "/Font"), _get(resources, "/XObject")
        for name in font_table if isinstance(font_table, dict) else ():
            font, fonts = _get(font_table, name), fonts + 1
            weight += _font_bytes(font) if isinstance(font, dict) else 0
            if fonts > MAX_PAGE_FONTS or weight > MAX_PAGE_BYTES:
                return None
        for name in xobjects if isinstance(xobjects, dict) else ():
            form = _get(xobjects, name)
            if isinstance(form, dict) and _get(form, "/Subtype") == "/Form":
                forms, weight = forms + 1, weight + _stream_bytes(form)
                if depth >= MAX_FORM_DEPTH or forms > MAX_PAGE_FORMS or weight > MAX_PAGE_BYTES:
                    return None
                pending.append((_get(form, "/Resources"), depth + 1))
    return weight if weight <= MAX_PAGE_BYTES else None


def _page_text(page: Any, budget: ReadBudget) -> str | None:
    """The page's text, or None if it was not read (over the page bounds or the budget)."""
    from pypdf.errors import LimitReachedError

    budget.pages += 1
    try:
        weight = _page_weight(page)
        if weight is None:
            return None
        if budget.bytes + weight > budget.max_bytes:
            budget.exhausted = True
            return None
        budget.bytes += weight
        return page.extract_text(visitor_operand_before=budget.check) or ""
    except LimitReachedError:  # a stream over _PYPDF_LIMITS
        return None


def pdf_text(data: bytes, budget: ReadBudget) -> Reading:
    """The text layer of at most MAX_PDF_PAGES pages; text None for a scan, encrypted, broken."""
    from pypdf import PdfReader, apply_configuration, get_configuration
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings may quote content
    texts: list[str] = []
    whole, seen = True, set()
    try:
        with apply_configuration(get_configuration().with_overwrites(**_PYPDF_LIMITS)):
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                return Reading(None)
            for page in reader.pages[:MAX_PDF_PAGES]:
                if budget.spent() or budget.pages >= budget.max_pages:
                    whole = False
                    break
                key = (_key(page.raw_get("/Contents") if "/Contents" in page else None),
                       _key(page.raw_get("/Resources") if "/Resources" in page else None))
                if key in seen:  # the same content and resources print the same text again
                    continue
                seen.add(key)
                text = _page_text(page, budget)
                if text is None:
                    whole = False
                    continue
                texts.append(text)
                if sum(len(t) for t in texts) >= MAX_CHARS:
                    break
    except _OverBudget:
        whole = False
    except (PyPdfError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            RecursionError, OSError):
        return Reading(None)
    text = "\n".join(t.strip() for t in texts if t.strip())
    return Reading(text or None, whole)


def decode(content_type: str, data: bytes, budget: ReadBudget | None = None) -> Reading:
    """Text of raw attachment bytes of a readable type, cut at MAX_CHARS; else text None."""
    kind = content_type.split(";")[0].strip().lower()
    if kind not in TEXT_TYPES or len(data) > MAX_BYTES:
        return Reading(None)
    budget = budget if budget is not None else ReadBudget()
    if budget.spent() or budget.attachments >= budget.max_attachments:
        return Reading(None, whole=False)
    budget.attachments += 1
    if kind == "application/pdf":
        reading = pdf_text(data, budget)
    else:
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError:
            raw = data.decode("latin-1")
        reading = Reading(raw if kind == "text/plain" else html_text(raw))
    text = (reading.text or "").strip()
    return Reading(text[:MAX_CHARS] or None, reading.whole)


def inline_bytes(data: Any) -> bytes | None:
    """Attachment.data as bytes (the R4B model may have base64-decoded it already)."""
    if not data:
        return None
    if isinstance(data, bytes):
        return data
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None


def attachment_text(
    attachment: Any, binary: Any = None, *, budget: ReadBudget | None = None
) -> Reading:
    """Text of an Attachment's inline data, or of the Binary resource its url names."""
    source = binary if binary is not None and not attachment.data else attachment
    content_type = str(source.contentType or attachment.contentType or "")
    data = inline_bytes(source.data)
    return decode(content_type, data, budget) if data is not None else Reading(None)
