"""Text of an attached letter: text/plain, text/html, or a PDF's text layer (pypdf), bounded.

Every read is bounded before work: attachments over MAX_BYTES are not opened, PDFs are read for
at most MAX_PDF_PAGES pages, and the text is cut at MAX_CHARS (the Narrative contract's limit).
A PDF without a text layer (a scan), an encrypted or a broken one gives None: the caller lists
it as unmapped, so a human knows a letter was not read.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
from html.parser import HTMLParser
from typing import Any

MAX_BYTES = 2_000_000
MAX_PDF_PAGES = 30
MAX_CHARS = 20_000
TEXT_TYPES = ("text/plain", "text/html", "application/pdf", "application/xhtml+xml")
_SKIPPED_TAGS = frozenset({"script", "style", "head", "title"})
_BLOCK_TAGS = frozenset({"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "td", "section"})


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


def pdf_text(data: bytes) -> str | None:
    """The text layer of at most MAX_PDF_PAGES pages, or None (scan, encrypted, broken)."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings may quote content
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            return None
        texts = []
        for page in reader.pages[:MAX_PDF_PAGES]:
            texts.append(page.extract_text() or "")
            if sum(len(t) for t in texts) >= MAX_CHARS:
                break
    except (PyPdfError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            RecursionError, OSError):
        return None
    text = "\n".join(t.strip() for t in texts if t.strip())
    return text or None


def decode(content_type: str, data: bytes) -> str | None:
    """Text of raw attachment bytes of a readable type, cut at MAX_CHARS; else None."""
    kind = content_type.split(";")[0].strip().lower()
    if kind not in TEXT_TYPES or len(data) > MAX_BYTES:
        return None
    if kind == "application/pdf":
        text = pdf_text(data)
    else:
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError:
            raw = data.decode("latin-1")
        text = raw if kind == "text/plain" else html_text(raw)
    text = (text or "").strip()
    return text[:MAX_CHARS] or None


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


def attachment_text(attachment: Any, binary: Any = None) -> str | None:
    """Text of an Attachment's inline data, or of the Binary resource its url names."""
    source = binary if binary is not None and not attachment.data else attachment
    content_type = str(source.contentType or attachment.contentType or "")
    data = inline_bytes(source.data)
    return decode(content_type, data) if data is not None else None
