"""Read a report file into a :class:`SourceText`: the raw text later stages clean and cite.

``load(path)`` picks a reader by suffix (case-insensitive):

* ``.txt`` – the file decoded as UTF-8; a leading BOM is dropped and CRLF/CR line ends become LF.
* ``.md``/``.markdown`` – the same text, plus the spans of ATX/setext heading titles (markdown-it-py).
* ``.docx`` – one line per paragraph (table cell paragraphs in document order), headings from
  "Title" (level 0) and "Heading N" (level N) paragraph styles, a form feed where the author turned the page
  (python-docx: ``docx_reader``).
* ``.pdf`` – each page's ``extract_text()`` (pypdf), pages joined by a line holding a form feed (a blank line to
  cleaning; to a citation, where its page turns: ``Document.page_at``).
* ``.html``/``.htm`` – visible ``<body>`` text, one block element per paragraph, paragraphs
  separated by a blank line, h1–h6 as headings (BeautifulSoup).

The text is a pure function of the file's bytes, so offsets cited against it stay valid.
Every failure is one of our exceptions with a one-line message naming the file and what to do;
library exceptions are chained with ``from`` but never escape.
"""

from __future__ import annotations

import codecs
import importlib.util
import io
import re
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

from reportrag.ingest.docx_reader import read_docx

from reportrag.core.errors import EmptyDocument, UnreadableFile, UnsupportedFile
from reportrag.core.records import SourceText

Headings = tuple[tuple[int, int, int], ...]

_BOM = codecs.BOM_UTF8
# C0 controls other than tab, LF, FF, CR (and DEL): plentiful in binary data, absent from real text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


# between PDF pages: whitespace to cleaning, a page turn to citations (records.Document.page_at counts them); a
# DOCX has the form feed alone, inside its line (docx_reader says why)
PAGE_BREAK = "\n\f\n"


def load(path: str | Path, *, max_bytes: int = 50 * 1024 * 1024) -> SourceText:
    """Read ``path`` and return its text; raise ``UnreadableFile``/``UnsupportedFile``/``EmptyDocument``."""
    p = Path(path)
    name = p.name or str(p)
    try:
        if not p.exists():
            raise UnreadableFile(f"{name}: no such file; check the path and add it again")
        if not p.is_file():
            raise UnreadableFile(f"{name}: is a directory, not a file; add the report files inside it instead")
        if p.suffix.lower() not in _READERS:
            kind = f"'{p.suffix}' files are" if p.suffix else "files without an extension are"
            supported = ", ".join(_READERS)
            raise UnsupportedFile(f"{name}: {kind} not supported; save it as one of {supported} and add it again")
        size = p.stat().st_size
        if size > max_bytes:
            raise UnreadableFile(
                f"{name}: the file is {size:,} bytes, over the {max_bytes:,} byte limit; split it or raise the limit (REPORTRAG_MAX_FILE_BYTES)"
            )
        data = p.read_bytes()
    except OSError as e:
        raise UnreadableFile(f"{name}: cannot be read ({e.strerror or type(e).__name__}); check its permissions") from e
    if not data:
        raise EmptyDocument(f"{name}: the file is empty; add a copy that contains the report text")
    fmt, reader = _READERS[p.suffix.lower()]
    text, headings = reader(data, name)
    if not text.strip():
        raise EmptyDocument(
            f"{name}: no text found in the {fmt} file; check it is the right file and add a copy with text"
        )
    return SourceText(text=text, source_format=fmt, path=str(p), headings=headings)


# --- plain text and Markdown -------------------------------------------------------------------


def _decode(data: bytes, name: str) -> str:
    """Strict UTF-8 (optional BOM) with LF line ends; we never guess another encoding."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFile(f"{name}: the text is UTF-16 encoded; re-save it as UTF-8 and add it again")
    if b"\x00" in data:
        raise UnreadableFile(f"{name}: contains binary data, not text; add the original document instead")
    bom = len(_BOM) if data.startswith(_BOM) else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as e:
        # Random bytes fail UTF-8 too; tell "binary" from "another encoding" by how much is garbage.
        sloppy = data.decode("utf-8", errors="replace")
        if (sloppy.count("\ufffd") + len(_CONTROL.findall(sloppy))) > 0.3 * len(sloppy):
            raise UnreadableFile(f"{name}: contains binary data, not text; add the original document instead") from e
        raise UnreadableFile(
            f"{name}: not valid UTF-8 (first bad byte at offset {e.start + bom}); re-save it as UTF-8 and add it again"
        ) from e
    if len(_CONTROL.findall(text)) > 0.1 * len(text):
        raise UnreadableFile(f"{name}: contains binary data, not text; add the original document instead")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_txt(data: bytes, name: str) -> tuple[str, Headings]:
    return _decode(data, name), ()


def _read_md(data: bytes, name: str) -> tuple[str, Headings]:
    from markdown_it import MarkdownIt

    text = _decode(data, name)
    lines = text.split("\n")
    line_starts = [0]
    for line in lines:
        line_starts.append(line_starts[-1] + len(line) + 1)
    tokens = MarkdownIt("commonmark").parse(text)
    headings = []
    for tok, inline in pairwise(tokens):
        if tok.type != "heading_open" or not tok.map or not inline.content:
            continue
        # The title's lines appear in order on the heading's source lines (the first ones for
        # setext); locate them there so the span skips '#'s, indentation and '>' markers.
        parts = inline.content.split("\n")
        first, last = tok.map[0], tok.map[0] + len(parts) - 1
        col_first = lines[first].find(parts[0].strip())
        col_last = lines[last].rfind(parts[-1].strip())
        if col_first < 0 or col_last < 0:
            continue
        start = line_starts[first] + col_first
        end = line_starts[last] + col_last + len(parts[-1].strip())
        headings.append((start, end, int(tok.tag[1:])))
    return text, tuple(headings)


# --- PDF --------------------------------------------------------------------------------------


def _read_pdf(data: bytes, name: str) -> tuple[str, Headings]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
    except Exception as e:  # pypdf's errors for malformed files are many and undocumented
        raise UnreadableFile(
            f"{name}: the PDF is damaged or truncated; download or export it again and add the new copy"
        ) from e
    if encrypted:
        # An owner-password-only PDF opens with the empty password, as in any viewer.
        try:
            opened = bool(reader.decrypt(""))
        except Exception:
            opened = False
        if not opened:
            raise UnreadableFile(
                f"{name}: the PDF is encrypted; decrypt it (or export an unprotected copy) and add it again"
            )
    try:
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as e:
        raise UnreadableFile(
            f"{name}: the PDF is damaged or truncated; download or export it again and add the new copy"
        ) from e
    text = PAGE_BREAK.join(pages)
    if not text.strip():
        raise EmptyDocument(f"{name}: the PDF has no extractable text (scanned? run OCR first, then add it again)")
    return text, ()


# --- HTML -------------------------------------------------------------------------------------

_DROP_TAGS = ["script", "style", "noscript", "template", "head"]
_BLOCK_TAGS = frozenset(
    "address article aside blockquote caption dd details dialog div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p section summary table tbody tfoot thead "
    "tr ul".split()
)
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")  # HTML whitespace; &nbsp; is content and stays
_HTML_PARSER = "lxml" if importlib.util.find_spec("lxml") else "html.parser"


def _html_str(data: bytes, name: str) -> str:
    """UTF-8 unless the page declares its charset (<meta charset>); never sniffed."""
    from bs4.dammit import EncodingDetector

    declared = None if data.startswith(_BOM) else EncodingDetector.find_declared_encoding(data, is_html=True)
    try:
        if not declared or codecs.lookup(declared).name == "utf-8":
            return _decode(data, name)
        return data.decode(declared).replace("\r\n", "\n").replace("\r", "\n")
    except (LookupError, UnicodeDecodeError) as e:
        raise UnreadableFile(
            f"{name}: cannot be decoded as its declared charset '{declared}'; re-save it as UTF-8 and add it again"
        ) from e


def _html_blocks(root) -> list[tuple[str, int]]:
    """(text, heading level or 0) per block element, walking the tree without recursion."""
    from bs4 import NavigableString, Tag

    blocks: list[tuple[str, int]] = []
    buf: list[str] = []

    def flush(level: int) -> None:
        text = re.sub(r" *\n *", "\n", re.sub(r" {2,}", " ", "".join(buf))).strip()
        buf.clear()
        if text:
            blocks.append((text, level))

    stack: list = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, int):  # end of a block element: its level
            flush(node)
        elif isinstance(node, NavigableString):
            if type(node) is NavigableString:  # skips comments, doctype, CDATA
                buf.append(_HTML_SPACE.sub(" ", str(node)))
        elif isinstance(node, Tag):
            if node.name == "br":
                buf.append("\n")
            elif node.name == "pre":  # keep its line breaks as written
                flush(0)
                pre = node.get_text().strip("\n")
                if pre.strip():
                    blocks.append((pre, 0))
            else:
                if node.name in ("td", "th"):
                    buf.append(" ")
                if node.name in _BLOCK_TAGS:
                    flush(0)
                    level = int(node.name[1]) if re.fullmatch(r"h[1-6]", node.name) else 0
                    stack.append(level)
                stack.extend(reversed(node.contents))
    flush(0)
    return blocks


def _read_html(data: bytes, name: str) -> tuple[str, Headings]:
    from bs4 import BeautifulSoup

    markup = _html_str(data, name)
    try:
        soup = BeautifulSoup(markup, _HTML_PARSER)
        for tag in soup.find_all(_DROP_TAGS):
            tag.decompose()
        for tag in soup.find_all(hidden=True):
            tag.decompose()
        blocks = _html_blocks(soup.body or soup)
    except Exception as e:
        raise UnreadableFile(f"{name}: the HTML cannot be parsed; save the page again and add the new copy") from e
    parts, headings, pos = [], [], 0
    for text, level in blocks:
        if parts:
            pos += 2
        if level:
            headings.append((pos, pos + len(text), level))
        parts.append(text)
        pos += len(text)
    return "\n\n".join(parts), tuple(headings)


_Reader = Callable[[bytes, str], tuple[str, Headings]]
# suffix -> (SourceText.source_format, reader); the order here is the order error messages list them.
_READERS: dict[str, tuple[str, _Reader]] = {
    ".txt": ("txt", _read_txt),
    ".md": ("md", _read_md),
    ".markdown": ("md", _read_md),
    ".docx": ("docx", read_docx),
    ".pdf": ("pdf", _read_pdf),
    ".html": ("html", _read_html),
    ".htm": ("html", _read_html),
}

SUPPORTED = tuple(_READERS)  # the file extensions a report may have
