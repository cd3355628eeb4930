"""Checks several test modules make of the same records."""

from __future__ import annotations

import json
from pathlib import Path

from reportrag.answers.quotes import anchor, parse_anchor


def read_questions(path: Path) -> list[dict]:
    """A question file (eval/questions.jsonl, eval/questions_holdout.jsonl), one JSON object a line, as written."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def check_citations(searcher, result) -> None:
    """Every citation of an answer: numbered from 1, verbatim at its offsets, inside its paragraph, with an anchor
    that resolves to its report and a label that starts with the report's short title."""
    for n, c in enumerate(result.citations, 1):
        document = searcher.documents[c.place.doc_id]
        assert c.n == n and c.verified
        assert document.text[c.place.start : c.place.end] == c.quote
        paragraph = next(p for p in document.paragraphs if p.number == c.place.paragraph)
        assert paragraph.start <= c.place.start < paragraph.end
        assert c.anchor == anchor(c.place.doc_id, c.place.paragraph, c.quote) and parse_anchor(c.anchor)[0] == c.place.doc_id
        assert c.place.label.startswith(document.info.short_title)
