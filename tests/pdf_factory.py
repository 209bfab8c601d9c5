"""Build small, real PDF files for tests (no binary fixtures in the repository).

`make_pdf` writes a valid PDF 1.4 file with the standard Helvetica fonts: each page is a list of
(text, font size) lines laid out top-down, or of (text, size, x, y) for explicit positions.
"""
from __future__ import annotations

from typing import Sequence, Union

Line = Union[tuple[str, float], tuple[str, float, float, float]]


def _pdf_string(text: str) -> bytes:
    data = text.encode("cp1252", errors="replace")
    return b"(" + data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _content(lines: Sequence[Line], *, bold_over: float) -> bytes:
    out: list[bytes] = []
    y = 740.0
    for line in lines:
        if len(line) == 4:
            text, size, x, y = line  # type: ignore[misc]
        else:
            text, size = line  # type: ignore[misc]
            x = 72.0
            y -= size * 1.5
        font = b"/F2" if size >= bold_over else b"/F1"
        out.append(b"BT %s %.1f Tf %.1f %.1f Td %s Tj ET" % (font, size, x, y, _pdf_string(text)))
    return b"\n".join(out)


def _drawing_only() -> bytes:
    """A page with graphics and no text (what a scanned page looks like to a text extractor)."""
    return b"0.5 g 72 72 468 648 re f 0 g 100 100 m 500 700 l S"


def make_pdf(
    pages: Sequence[Sequence[Line] | None],
    *,
    title: str | None = None,
    author: str | None = None,
    creation_date: str | None = None,
    bold_over: float = 14.0,
) -> bytes:
    """A PDF with one page per entry of `pages`; `None` makes a page without any text."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below
    page_tree = add(b"")
    regular = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    bold = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
    kids = []
    for page in pages:
        stream = _drawing_only() if page is None else _content(page, bold_over=bold_over)
        contents = add(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        kids.append(add(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R "
            b"/F2 %d 0 R >> >> /Contents %d 0 R >>" % (page_tree, regular, bold, contents)))
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % page_tree
    objects[page_tree - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    info_parts = []
    if title is not None:
        info_parts.append(b"/Title " + _pdf_string(title))
    if author is not None:
        info_parts.append(b"/Author " + _pdf_string(author))
    if creation_date is not None:
        info_parts.append(b"/CreationDate " + _pdf_string(creation_date))
    info = add(b"<< " + b" ".join(info_parts) + b" >>") if info_parts else None

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    trailer = b"/Size %d /Root %d 0 R" % (len(objects) + 1, catalog)
    if info:
        trailer += b" /Info %d 0 R" % info
    out += b"trailer\n<< %s >>\nstartxref\n%d\n%%%%EOF\n" % (trailer, xref)
    return bytes(out)


def paper_pdf(
    *,
    title: str = "Sparse Attention for Long Documents",
    authors: str = "Alice Johnson, Bob Lee and Carla Gómez",
    affiliation: str = "University of Somewhere, Department of Computing",
    abstract: Sequence[str] = (
        "We study sparse attention for long documents. Our method reduces memory",
        "use by an order of magnitude while keeping accuracy on summarisation and",
        "question answering benchmarks.",
    ),
    arxiv_stamp: str | None = "arXiv:2407.21783v2 [cs.CL] 31 Jul 2024",
    meta_title: str | None = None,
) -> bytes:
    """A two-page paper-shaped PDF: title in a large font, authors, abstract, introduction."""
    first: list[Line] = []
    if arxiv_stamp:
        first.append((arxiv_stamp, 8))
    first += [(title, 20), (authors, 11), (affiliation, 9), ("Abstract", 12)]
    first += [(line, 10) for line in abstract]
    first += [("1 Introduction", 12), ("Long documents are everywhere in science and law.", 10)]
    second: list[Line] = [("2 Related Work", 12), ("Prior work on efficient transformers is vast.", 10)]
    return make_pdf([first, second], title=meta_title)
