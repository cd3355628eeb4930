"""A DOCX report's text for ``loaders``: one line per paragraph (table cell paragraphs in document order), heading
levels from the "Title" (0) and "Heading N" (N) paragraph styles, and a form feed where the author turned the page.

The form feed is the one a PDF's pages are joined by (``loaders.PAGE_BREAK``): ``Document.page_at`` counts them
before a quote to give the page it stands on. Here it stands in the line itself, where the page turns, with no
line of its own: cleaning reads it as a space, so a document with page breaks is cut into the same paragraphs as
the same document without them (an added line would count as a blank one when cleaning guesses how paragraphs are
separated).

Page turns the author made and Word always honours:

* ``<w:br w:type="page"/>`` in a run (Insert → Page break), where it stands;
* ``<w:pageBreakBefore/>`` on a body paragraph or its style, before that paragraph, unless its page is still empty;
* a section break that starts the next section on a new page (``w:type`` of the next section's properties:
  nextPage, the default, oddPage or evenPage), after the paragraph that ends the section. An odd- or even-page
  break may add a blank page we do not count.

``<w:lastRenderedPageBreak/>`` is not a page turn here: it records where Word's layout turned pages when the file
was last saved from Word, which depends on the printer, page size and fonts of that machine, goes stale when
another program edits the file, and is absent from files other programs write. It serves as evidence only: a
rendered turn that no hard break accounts for (or a page holding more text than any page can) means the text
overflowed its pages, so counting the hard breaks would print wrong page numbers; such a document gets none.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from itertools import pairwise

from reportrag.core.errors import UnreadableFile

PAGE_TURN = "\f"
# More characters than a page holds at any readable size (A4, 10 pt, narrow margins: about 100 × 60): a page
# written this full overflowed, whatever its breaks say.
MAX_PAGE_CHARS = 6000
_HEADING_STYLE = re.compile(r"heading\s*([1-9])", re.IGNORECASE)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# the run content python-docx reads as text (``Paragraph.text``), each as its str()
_TEXT_TAGS = frozenset(_W + t for t in ("br", "cr", "noBreakHyphen", "ptab", "t", "tab"))


def read_docx(data: bytes, name: str) -> tuple[str, tuple[tuple[int, int, int], ...]]:
    """The text (a form feed at each page turn, where pages can be told) and the heading spans (start, end, level)."""
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        pages = _PageTurns(_section_ends(document.element.body))
        paragraphs = [(para.text, pages.line(para), _level(para)) for para in _paragraphs(document)]
    except Exception as e:  # python-docx raises zip, XML and KeyError failures alike
        raise UnreadableFile(
            f"{name}: not a readable Word (.docx) document (corrupt, or another format renamed); "
            "re-save it from Word as .docx and add it again"
        ) from e
    marked = pages.countable()
    lines = [turned if marked and PAGE_TURN in turned else plain for plain, turned, _ in paragraphs]
    headings, pos = [], 0
    for line, (_, _, level) in zip(lines, paragraphs, strict=True):
        stripped = line.strip()
        if level is not None and stripped:
            start = pos + line.index(stripped)
            headings.append((start, start + len(stripped), level))
        pos += len(line) + 1
    return "\n".join(lines), tuple(headings)


def _paragraphs(container) -> Iterator:
    """Paragraphs in document order, descending into table cells (merged cells once)."""
    from docx.table import Table

    for block in container.iter_inner_content():
        if isinstance(block, Table):
            seen = set()  # holds the lxml elements themselves: ids of freed proxies get reused
            for row in block.rows:
                for cell in row.cells:
                    if cell._tc not in seen:  # a merged cell repeats across the grid
                        seen.add(cell._tc)
                        yield from _paragraphs(cell)
        else:
            yield block


def _level(paragraph) -> int | None:
    style = paragraph.style.name if paragraph.style is not None else ""
    if style == "Title":
        return 0
    m = _HEADING_STYLE.fullmatch(style or "")
    return int(m.group(1)) if m else None


def _section_ends(body) -> set:
    """The paragraphs (lxml elements) that end a section whose successor starts on a new page. A section's own
    properties say how it starts; they sit in its last paragraph, the last section's in the body itself."""
    marks = body.xpath("./w:p/w:pPr/w:sectPr | ./w:sectPr")
    return {end.getparent().getparent() for end, following in pairwise(marks)
            if (following.xpath("string(w:type/@w:val)") or "nextPage") not in ("continuous", "nextColumn")}


def _breaks_before(paragraph) -> bool:
    """``pageBreakBefore`` on the paragraph or the styles it inherits; body paragraphs only (in a table cell it is
    left to the table's layout)."""
    if paragraph._p.getparent().tag != _W + "body":
        return False
    value, style = paragraph.paragraph_format.page_break_before, paragraph.style
    while value is None and style is not None:
        value, style = style.paragraph_format.page_break_before, style.base_style
    return bool(value)


class _PageTurns:
    """Walks the paragraphs in order, writing each one's text with a form feed at each page turn, and notes whether
    the turns are all the pages there are (see the module's docstring)."""

    def __init__(self, section_ends: set) -> None:
        self.section_ends = section_ends
        self.page_chars = 0  # text on the current page so far
        self.unmatched = 0  # hard turns since the last text, each of which Word's layout may echo once
        self.overflowed = False

    def line(self, paragraph) -> str:
        out: list[str] = []
        if _breaks_before(paragraph) and self.page_chars:
            self._turn(out)
        for e in paragraph._p.xpath("w:r/* | w:hyperlink/w:r/*"):
            if e.tag == _W + "br" and e.get(_W + "type") == "page":
                self._turn(out)
            elif e.tag == _W + "lastRenderedPageBreak":
                self.overflowed |= not self.unmatched  # Word turned a page where no hard break does
                self.unmatched = max(self.unmatched - 1, 0)
            elif e.tag in _TEXT_TAGS:
                text = str(e)
                out.append(text)
                if text.strip():
                    self.page_chars += len(text)
                    self.unmatched = 0
        if paragraph._p in self.section_ends:
            self._turn(out)
        if not out or out[-1] != PAGE_TURN:  # the paragraph's mark: an empty paragraph is a line on its page too
            self.page_chars += 1
        return "".join(out)

    def _turn(self, out: list[str]) -> None:
        self.overflowed |= self.page_chars > MAX_PAGE_CHARS
        out.append(PAGE_TURN)
        self.page_chars, self.unmatched = 0, self.unmatched + 1

    def countable(self) -> bool:
        """True when counting the hard turns gives each paragraph's page."""
        return not self.overflowed and self.page_chars <= MAX_PAGE_CHARS
