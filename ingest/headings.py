"""Recognise the headings of the reports we know and of reports shaped like them.

Headings are recognised by shape, in a context: a lettered "I." in Part VII is section I, not Part I, because the
expected successor of section H is I and the expected successor of Part VII is VIII.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV"]
LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1)]

MAX_HEADING_CHARS = 250
_TERMINAL = re.compile(r"[.!?;:]['\"’”)\]]*$")

_PART = re.compile(r"^Part\s+(?P<num>[IVX]+)\.?\s+(?P<title>\S.*)$")
_ARTICLE = re.compile(r"^Article\s+(?P<num>\d{1,2})\.\s+(?P<title>\S.*)$")
_ROMAN = re.compile(r"^(?P<num>[IVX]{1,5})\.\s+(?P<title>[A-Z\"“'].*)$")
_LETTER = re.compile(r"^(?P<num>[A-Z])\.\s+(?P<title>[A-Z\"“'].*)$")
_NUMBERED = re.compile(r"^(?P<num>\d{1,2})\.\s+(?P<title>[A-Z].*)$")
_STANDALONE = {"introduction", "conclusion", "conclusions", "summary", "annex", "contents", "table of contents"}
# An inline sub-item opening a paragraph: "Article 11, paragraph 1 (d) Equal pay …", "Article 2 (a) The laws …".
ARTICLE_ITEM = re.compile(
    r"^Article\s+(?P<num>\d{1,2})(?:,\s+paragraph\s+(?P<para>\d+))?(?:\s+\((?P<item>[a-z])\))?(?=\s+[A-Z])"
)


@dataclass(frozen=True, slots=True)
class Heading:
    kind: str  # "part", "roman", "letter", "article", "numbered", "named", "minor", "markup"
    number: str  # "VII", "C", "11", "2", or "" for named/minor headings
    title: str
    level: int


@dataclass
class HeadingContext:
    """What has been seen so far, to tell an expected heading from a look-alike body line."""

    roman: str | None = None
    letter: str | None = None
    article: int | None = None
    numbered: int | None = None
    in_part: bool = False

    def see(self, heading: Heading) -> None:
        if heading.kind in ("part", "roman", "named"):
            self.roman = heading.number or self.roman
            self.letter = None
            self.article = None
            self.numbered = None
        elif heading.kind == "letter":
            self.letter = heading.number
        elif heading.kind == "article":
            self.article = int(heading.number)
        elif heading.kind == "numbered":
            self.numbered = int(heading.number)


def _successor(items: list[str], current: str | None) -> str:
    if current is None:
        return items[0]
    i = items.index(current) if current in items else -1
    return items[i + 1] if 0 <= i + 1 < len(items) else ""


def is_open(text: str) -> bool:
    """A paragraph that stops without closing punctuation (a heading, a fragment or a broken paragraph)."""
    return not _TERMINAL.search(text.rstrip())


def match_heading(text: str, context: HeadingContext) -> Heading | None:
    """The heading ``text`` is, given what came before, or None for a body paragraph."""
    line = text.strip()
    if not line or len(line) > MAX_HEADING_CHARS:
        return None
    if line.lower().rstrip(".:") in _STANDALONE or (line.isupper() and len(line) < 150):
        return Heading("named", "", line, 1)
    if m := _PART.match(line):
        return Heading("part", m["num"], line, 1)
    if (m := _ARTICLE.match(line)) and len(line) < 150 and is_open(line):
        return Heading("article", m["num"], line, 2)
    if not is_open(line):
        return None
    if m := _LETTER.match(line):
        if m["num"] == _successor(LETTERS, context.letter) and context.roman:
            return Heading("letter", m["num"], line, 2)
    if m := _ROMAN.match(line):
        if m["num"] == _successor(ROMAN, context.roman) or context.roman is None and m["num"] == "I":
            return Heading("roman", m["num"], line, 1)
    if (m := _NUMBERED.match(line)) and len(line) < 150:
        if int(m["num"]) > (context.numbered or 0) and context.roman is not None and context.article is None:
            return Heading("numbered", m["num"], line, 2)
    return None


def looks_like_minor_heading(text: str, next_text: str | None) -> bool:
    """A short title line ("Labour and employment") followed by a full paragraph."""
    line = text.strip()
    if not line or len(line) > 60 or not line[0].isupper() or "," in line or not is_open(line):
        return False
    if line.split()[-1].lower() in _FUNCTION_WORDS:
        return False
    return next_text is not None and len(next_text) >= 100 and next_text[:1].isupper()


_FUNCTION_WORDS = {
    "a", "an", "the", "of", "in", "on", "by", "to", "for", "with", "and", "or", "as", "at", "from", "that", "its",
}
