"""The concluding-observations tracker: every paragraph of the Committee's concluding observations the reports
respond to, with the paragraphs that respond (the block ingest attributes to it: ``Paragraph.addresses``) and the
status the report states for it ("Thus, paragraph 14 (b) … is being fulfilled"), quoted verbatim with its offsets,
never inferred. When the concluding observations themselves are in the index, the Committee's words stand beside.

Pure over the corpus (documents and passages, as the ``Searcher`` or the document store holds them): no model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reportrag.answers.citations import snippet
from reportrag.answers.committee_text import CommitteeText, committee_texts
from reportrag.answers.quotes import anchor
from reportrag.core.records import Document, Paragraph, Passage
from reportrag.ingest.structure import concluding_observations as refs_named_in

SNIPPET_CHARS = 240
# "is being fulfilled", "have been fulfilled", "has been partially fulfilled", "work is under way with regard to …":
# the report's own words for where it stands; "in fulfilment of paragraph 42 (a)" states none
STATUS = re.compile(r"\b(?:is|are|has|have)\s+(?:been\s+)?(?:being\s+)?(?:partially\s+|fully\s+|largely\s+)?fulfilled\b"
                    r"|\bwork\s+is\s+under\s+way\b", re.I)


@dataclass(frozen=True, slots=True)
class Response:
    """One paragraph of the report's response: where it stands, its passage (for a ``?cite=`` link), its start."""

    paragraph: int
    section_label: str
    start: int
    end: int
    passage_id: str
    snippet: str

    def to_json(self) -> dict:
        return {"paragraph": self.paragraph, "section_label": self.section_label, "start": self.start,
                "end": self.end, "passage_id": self.passage_id, "snippet": self.snippet}


@dataclass(frozen=True, slots=True)
class Status:
    """The sentence in which the report states where it stands on the paragraph: ``document.text[start:end] ==
    quote``; ``phrase`` is the status words in it ("is being fulfilled"); ``anchor`` cites it."""

    quote: str
    phrase: str
    paragraph: int
    start: int
    end: int
    anchor: str

    def to_json(self) -> dict:
        return {"quote": self.quote, "phrase": self.phrase, "paragraph": self.paragraph, "start": self.start,
                "end": self.end, "anchor": self.anchor}


@dataclass(frozen=True, slots=True)
class TrackedObservation:
    """A paragraph of the concluding observations ("26(a)") and one report's response to it."""

    reference: str
    doc_id: str
    responses: tuple[Response, ...]
    status: tuple[Status, ...] = ()
    committee: CommitteeText | None = None  # the Committee's words, when its document is in the index

    @property
    def paragraphs(self) -> tuple[int, ...]:
        return tuple(r.paragraph for r in self.responses)

    @property
    def paragraph_label(self) -> str:
        """"¶165–167" for a run, "¶62, 64" otherwise."""
        return paragraph_label(self.paragraphs)

    @property
    def sections(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.section_label for r in self.responses if r.section_label))

    def to_json(self) -> dict:
        return {"reference": self.reference, "doc_id": self.doc_id, "paragraphs": list(self.paragraphs),
                "sections": list(self.sections), "responses": [r.to_json() for r in self.responses],
                "status": [s.to_json() for s in self.status],
                "committee": self.committee.to_json() if self.committee else None}


def tracker(corpus) -> list[TrackedObservation]:
    """Every concluding-observations paragraph the reports respond to, by paragraph number then item, then
    report. ``corpus``: anything with ``documents`` (doc id → ``Document``) and ``passages`` (a ``Searcher``, a
    ``Corpus``)."""
    return track(corpus.documents, corpus.passages)


def track(documents: Mapping[str, Document], passages: Iterable[Passage]) -> list[TrackedObservation]:
    """``tracker`` over documents and passages as loaded."""
    passage_of = _passage_of_paragraph(passages)
    committee = committee_texts(d for d in documents.values() if not _responds(d))
    out = []
    for doc_id, document in documents.items():
        blocks: dict[str, list[Paragraph]] = {}
        for p in document.paragraphs:
            if p.duplicate_of is None:
                for ref in p.addresses:
                    blocks.setdefault(ref, []).append(p)
        for ref, paragraphs in blocks.items():
            responses = tuple(_response(p, passage_of.get((doc_id, p.number), "")) for p in paragraphs)
            out.append(TrackedObservation(ref, doc_id, responses, _status(document, ref, paragraphs),
                                          committee.get(ref)))
    return sorted(out, key=lambda t: (*reference_order(t.reference), t.doc_id))


def references_named(documents: Mapping[str, Document]) -> list[tuple[str, str, int]]:
    """Every reference as the reports write it: (doc id, "26(a)", ¶), one per label a paragraph names (66 in
    the CEDAW report: 65 paragraphs, one of them named twice)."""
    return [(d.doc_id, ref, p.number) for d in documents.values() for p in d.paragraphs
            if p.duplicate_of is None for ref in p.concluding_observations]


def reference_order(ref: str) -> tuple[int, str]:
    """"26(a)" → (26, "(a)"): paragraph number, then item."""
    number = re.match(r"\d+", ref)
    return (int(number.group()), ref[number.end():]) if number else (0, ref)


def paragraph_label(numbers: Iterable[int]) -> str:
    """"¶165–167" for a run of paragraphs, "¶62, 64–65" otherwise; "" for none."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return "¶" + ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs) if runs else ""


def _responds(document: Document) -> bool:
    return any(p.addresses for p in document.paragraphs)


def _passage_of_paragraph(passages: Iterable[Passage]) -> dict[tuple[str, int], str]:
    """(doc id, ¶) → the first passage holding it (never a sidebar copy)."""
    out: dict[tuple[str, int], str] = {}
    for p in passages:
        if not p.duplicate_of:
            for n in p.paragraphs:
                out.setdefault((p.doc_id, n), p.passage_id)
    return out


def _response(p: Paragraph, passage_id: str) -> Response:
    return Response(p.number, p.section_label, p.start, p.end, passage_id, snippet(p.text, SNIPPET_CHARS))


def _status(document: Document, ref: str, paragraphs: list[Paragraph]) -> tuple[Status, ...]:
    """The sentences of the block that name ``ref`` and state a status, as they stand in the report."""
    out = []
    for p in paragraphs:
        if ref not in p.concluding_observations:
            continue
        for start, end in _sentences(p):
            text = document.text[start:end]
            phrase = STATUS.search(text)
            if phrase and ref in refs_named_in(text):
                out.append(Status(text, phrase.group(0), p.number, start, end, anchor(document.doc_id, p.number, text)))
    return tuple(out)


_SENTENCE_END = re.compile(r"(?<=[.!?;])[”’\"')\]]*\s+(?=[A-Z“\"(])")


def _sentences(p: Paragraph) -> list[tuple[int, int]]:
    """A paragraph's sentences as absolute offsets (a status sentence is short and plain: "Thus, paragraph …
    is being fulfilled."), whitespace trimmed."""
    spans, at = [], 0
    for m in [*_SENTENCE_END.finditer(p.text), None]:
        end = m.start() if m else len(p.text)
        piece = p.text[at:end]
        lead = len(piece) - len(piece.lstrip())
        if piece.strip():
            spans.append((p.start + at + lead, p.start + at + len(piece.rstrip())))
        at = m.end() if m else at
    return spans

