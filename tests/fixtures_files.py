"""Builders for real test documents (DOCX, PDF, HTML, Markdown, text) written into a tmp dir."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# --- DOCX -------------------------------------------------------------------------------------

DOCX_LINES = [
    "Sixth periodic report",  # Title
    "Article 1. Definition",  # Heading 1
    "The State party reports progress.",
    "Cell A1",
    "Cell B1",
    "Cell A2",
    "Cell B2",
    "Measures taken",  # Heading 2
    "Closing paragraph after the table.",
]


def write_docx(path: Path) -> Path:
    """Title, Heading 1, a body paragraph, a 2×2 table, Heading 2, a closing paragraph."""
    import docx

    doc = docx.Document()
    doc.add_heading(DOCX_LINES[0], level=0)
    doc.add_heading(DOCX_LINES[1], level=1)
    doc.add_paragraph(DOCX_LINES[2])
    table = doc.add_table(rows=2, cols=2)
    for r in range(2):
        for c in range(2):
            table.cell(r, c).text = f"Cell {'AB'[c]}{r + 1}"
    doc.add_heading(DOCX_LINES[7], level=2)
    doc.add_paragraph(DOCX_LINES[8])
    doc.save(str(path))
    return path


def write_junk_zip(path: Path) -> Path:
    """A valid zip archive that is not a Word document."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("notes.txt", "just some notes")
    return write_bytes(path, buf.getvalue())


# --- PDF --------------------------------------------------------------------------------------


def _pdf_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_bytes(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF by hand: one page per item, each line drawn in Helvetica 12pt."""
    n = len(pages)
    font_id, first_page = 3, 4  # objects: 1 catalog, 2 pages, 3 font, then (page, content) pairs
    page_ids = [first_page + 2 * i for i in range(n)]
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: f"<< /Type /Pages /Kids [{' '.join(f'{p} 0 R' for p in page_ids)}] /Count {n} >>".encode(),
        font_id: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    }
    for pid, lines in zip(page_ids, pages, strict=True):
        shown = [f"({_pdf_escape(line)}) Tj" for line in lines]
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td", "\nT*\n".join(shown), "ET"]
        stream = "\n".join(ops).encode("latin-1")
        objects[pid] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> /Contents {pid + 1} 0 R >>"
        ).encode()
        objects[pid + 1] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for oid in sorted(objects):
        offsets[oid] = len(out)
        out += b"%d 0 obj\n" % oid + objects[oid] + b"\nendobj\n"
    xref = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for oid in range(1, size):
        out += b"%010d 00000 n \n" % offsets[oid]
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def write_pdf(path: Path, pages: list[list[str]]) -> Path:
    return write_bytes(path, pdf_bytes(pages))


def write_encrypted_pdf(path: Path, pages: list[list[str]], user_password: str = "secret") -> Path:
    """The text PDF re-saved through pypdf with a user (open) password ("" = owner password only)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(pages))))
    writer.encrypt(user_password=user_password, owner_password="owner-secret")
    buf = io.BytesIO()
    writer.write(buf)
    return write_bytes(path, buf.getvalue())


def write_blank_pdf(path: Path) -> Path:
    """A valid PDF whose only page has no text, like a scan without OCR."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    buf = io.BytesIO()
    writer.write(buf)
    return write_bytes(path, buf.getvalue())


def write_truncated_pdf(path: Path, pages: list[list[str]]) -> Path:
    """The first half of a valid PDF's bytes, as from an interrupted download."""
    data = pdf_bytes(pages)
    return write_bytes(path, data[: len(data) // 2])


# --- HTML and Markdown ------------------------------------------------------------------------

HTML_PAGE = """<!DOCTYPE html>
<html>
<head><title>Page title (not body)</title><style>p { color: red; }</style></head>
<body>
  <script>var secret = "SCRIPT-CONTENT";</script>
  <h1>Annual   review</h1>
  <p>First paragraph with <b>bold</b> and
     <a href="#">a link</a>.</p>
  <!-- a comment that must not show -->
  <div>A div block<br>with a line break</div>
  <noscript>Enable JavaScript</noscript>
  <h2>Section &amp; more</h2>
  <ul><li>Item one</li><li>Item two</li></ul>
  <table><tr><td>Cell 1</td><td>Cell 2</td></tr></table>
  <template><p>TEMPLATE-CONTENT</p></template>
  <p hidden>HIDDEN-CONTENT</p>
  <p>Caf\u00e9 last</p>
</body>
</html>
"""

HTML_TEXT = (
    "Annual review\n\n"
    "First paragraph with bold and a link.\n\n"
    "A div block\nwith a line break\n\n"
    "Section & more\n\n"
    "Item one\n\n"
    "Item two\n\n"
    "Cell 1 Cell 2\n\n"
    "Caf\u00e9 last"
)

MARKDOWN = """# Report title

Intro paragraph.

## Article 11 ##

Body text.

Setext heading
==============

More text.

Second level setext
-------------------

```
# not a heading (code)
```

   ### Indented ATX
"""

MARKDOWN_HEADINGS = [
    ("Report title", 1),
    ("Article 11", 2),
    ("Setext heading", 1),
    ("Second level setext", 2),
    ("Indented ATX", 3),
]


# --- concluding observations -------------------------------------------------------------------

# A tiny document of the Committee's concluding observations: numbered paragraphs, lettered items
CO_TEXT = """# Concluding observations on the fifth periodic report of Kazakhstan

10. The Committee recommends that the State party give the Convention precedence over domestic law.

14. The Committee recommends that the State party:
(a) Adopt a comprehensive definition of discrimination against women;
(b) Provide capacity-building to judges on the Convention.

26. Recalling its general recommendation No. 35, the Committee recommends that the State party:
(a) Amend the Criminal Code to criminalize domestic violence;
(b) Encourage women to report incidents of domestic violence.
"""
