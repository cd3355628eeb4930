"""The Committee's own words for a paragraph of its concluding observations, when a user has added that document:
numbered paragraphs ("26. The Committee recommends that the State party: (a) Adopt …; (b) …") read from the
canonical text, so each item's words keep their offsets whatever structure ingest gave the document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from reportrag.core.records import Document

# "26. The Committee …" at the start of a line; "(a) Adopt …" anywhere after a line start, a colon or a semicolon
_NUMBERED = re.compile(r"(?m)^[ \t]*(?P<num>\d{1,3})\.[ \t]+(?=\S)")
_ITEM = re.compile(r"(?:^|(?<=[:;.])|(?<=\n))[ \t]*\((?P<item>[a-z])\)[ \t]+", re.M)
_LOOKS_LIKE = re.compile(r"concluding\s+observations", re.I)
MIN_NUMBERED = 3  # numbered paragraphs a document needs to be read as concluding observations


@dataclass(frozen=True, slots=True)
class CommitteeText:
    """The Committee's words for "26(a)" (or all of paragraph "10"): ``document.text[start:end] == text``."""

    reference: str
    doc_id: str
    text: str
    start: int
    end: int

    def to_json(self) -> dict:
        return {"reference": self.reference, "doc_id": self.doc_id, "text": self.text, "start": self.start,
                "end": self.end}


def committee_texts(documents: Iterable[Document]) -> dict[str, CommitteeText]:
    """"26(a)" → the Committee's words, from the first document that reads as concluding observations (it says
    "concluding observations" and numbers at least ``MIN_NUMBERED`` paragraphs); empty when there is none."""
    out: dict[str, CommitteeText] = {}
    for document in documents:
        if _LOOKS_LIKE.search(document.text[:5000]):
            found = paragraphs_of(document)
            if len({r.split("(")[0] for r in found}) >= MIN_NUMBERED:
                for ref, text in found.items():
                    out.setdefault(ref, text)
    return out


def paragraphs_of(document: Document) -> dict[str, CommitteeText]:
    """Every numbered paragraph ("10") and each of its lettered items ("26(a)") with its offsets."""
    text, out = document.text, {}
    starts = list(_NUMBERED.finditer(text))
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        body_start = m.start("num")
        out[m["num"]] = _span(document, m["num"], body_start, end)
        items = [x for x in _ITEM.finditer(text, m.end(), end)]
        for j, item in enumerate(items):
            item_end = items[j + 1].start() if j + 1 < len(items) else end
            ref = f"{m['num']}({item['item']})"
            out.setdefault(ref, _span(document, ref, item.start("item") - 1, item_end))
    return out


def _span(document: Document, ref: str, start: int, end: int) -> CommitteeText:
    """Trimmed of whitespace, so the words are exactly ``text[start:end]``."""
    piece = document.text[start:end]
    start += len(piece) - len(piece.lstrip())
    end = start + len(piece.strip())
    return CommitteeText(ref, document.doc_id, document.text[start:end], start, end)
