"""The corpus as citation lookup sees it: each report folded once for quote finding (``ReportView``), and a span of
a report turned into what a reader needs to check it (``Located``: place, neighbouring paragraphs, original file).
"""

from __future__ import annotations

import bisect
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from functools import cached_property

import numpy as np

from reportrag.answers.citations.spans import PLAIN, spans_in, spans_of
from reportrag.answers.quotes import anchor as make_anchor
from reportrag.answers.quotes import normalize, normalized
from reportrag.core.errors import ReportragError
from reportrag.core.records import ALSO_SHOWN, Document, Paragraph, Passage, Place, places_line
from reportrag.ingest.textmap import to_source

CONTEXT_PARAGRAPHS = 1  # paragraphs shown before and after a citation
MAX_PLACES = 100  # a very short quote ("the") stands everywhere: list the first ones only
_WORD = re.compile(r"\w+")
# Folded reports kept in memory (a few MiB each). A corpus of at most this many reports is folded whole, once;
# a larger one folds a report only when a lookup needs all of it (an anchor's sentences, the closest text to a
# quote): folding one takes 40–80 ms, every report of a thousand about a minute. Where a text stands verbatim is
# found without folding (``spans_in``).
FOLDED_KEPT = 64
LIKELY_REPORTS = 32  # past FOLDED_KEPT reports, those searched for the closest text to a quote found nowhere …
LIKELY_PASSAGES = 16  # … or, with the search index's keyword scores, the reports of this many best-scoring passages

# what an anchor hashes: one sentence, a paragraph, a passage, or two sentences quoted together
SENTENCE, PARAGRAPH, PASSAGE, TWO_SENTENCES = 0, 1, 2, 3


class UnknownCitation(ReportragError):
    """An id, anchor or reference that matches nothing in the index."""


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class ContextParagraph:
    number: int
    start: int
    end: int
    text: str
    quoted: bool  # holds (part of) the cited text

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SourcePlace:
    """Where a canonical span stands in the report as loaded (``document.source_text``). Cleaning drops marks and
    joins broken lines, so one span may map to several source spans; ``line`` is 1-based."""

    file: str  # the original file's name
    spans: tuple[tuple[int, int], ...]
    line: int | None
    end_line: int | None

    @property
    def start(self) -> int | None:
        return self.spans[0][0] if self.spans else None

    @property
    def end(self) -> int | None:
        return self.spans[-1][1] if self.spans else None

    def to_json(self) -> dict:
        return {"file": self.file, "start": self.start, "end": self.end, "line": self.line,
                "end_line": self.end_line, "spans": [list(s) for s in self.spans]}


@dataclass(frozen=True)
class Located:
    """A cited text at its exact place, with what a reader needs to check it."""

    kind: str  # "anchor", "passage" or "quote"
    ident: str  # what was looked up
    text: str
    place: Place
    verified: bool  # document.text[place.start:place.end] == text
    anchor: str
    context: tuple[ContextParagraph, ...]  # reading order; ``quoted`` marks the ones holding the text
    source: SourcePlace
    also_at: tuple[Place, ...] = ()  # other places the same text stands (sidebar copies)
    note: str = ""

    @property
    def breadcrumb(self) -> tuple[str, ...]:
        return (self.place.doc_title, *self.place.section)

    def also_at_line(self, label: Callable[[Place], str], more: str = "") -> str:
        """The other places, each ``label``-ed, as one line: the first ``ALSO_SHOWN`` named, the rest counted (then
        ``more``)."""
        return places_line([(p.doc_id, label(p)) for p in self.also_at], ALSO_SHOWN,
                           at_least=len(self.also_at) >= MAX_PLACES, more=more)

    def to_json(self) -> dict:
        return {"kind": self.kind, "ident": self.ident, "text": self.text, **self.place.to_json(),
                "verified": self.verified, "verbatim": self.verified, "anchor": self.anchor, "breadcrumb": list(self.breadcrumb),
                "context": [c.to_json() for c in self.context], "source": self.source.to_json(),
                "also_at": [p.to_json() for p in self.also_at], "note": self.note}


# ---------------------------------------------------------------- one report, folded once


@dataclass(eq=False)
class ReportView:
    """One report as the quote finder and the anchor resolver read it. Folding a report costs a few tenths of a
    second in pure Python, so it is done once, when the corpus view is built."""

    document: Document
    passages: list[Passage]  # reading order
    normalized: str  # quotes.normalize of the whole text …
    offsets: list[int]  # … and the canonical offset of each of its characters
    words: list[frozenset[str]]  # per paragraph, for the cheap first pass of fuzzy matching
    units: list[tuple[int, int, int, int]]  # what anchors hash: (start, end, ¶, SENTENCE … TWO_SENTENCES)

    @classmethod
    def build(cls, document: Document, passages: list[Passage]) -> ReportView:
        passages = sorted(passages, key=lambda p: p.start)
        text, offsets = normalize(document.text)
        units = [(s.start, s.end, SENTENCE) for p in passages for s in p.sentences]
        # an answer quotes two sentences together when the second carries the figure asked about
        units += [(a.start, b.end, TWO_SENTENCES) for p in passages for a, b in zip(p.sentences, p.sentences[1:])]
        units += [(p.start, p.end, PARAGRAPH) for p in document.paragraphs]
        units += [(p.start, p.end, PASSAGE) for p in passages]
        numbered = [(a, b, paragraph_at(document, a).number, kind) for a, b, kind in units]
        words = [frozenset(words_of(p.text)) for p in document.paragraphs]
        return cls(document, passages, text, offsets, words, numbered)

    def normalized_slice(self, start: int, end: int) -> str:
        """``normalized(document.text[start:end])`` read off the whole report's normalization (whitespace runs and
        folded characters keep the offset of their first character, so the slice is the same once its ends are
        stripped)."""
        lo, hi = bisect.bisect_left(self.offsets, start), bisect.bisect_left(self.offsets, end)
        return self.normalized[lo:hi].strip(" ")

    def canonical(self, lo: int, hi: int) -> tuple[int, int]:
        """Canonical (start, end) of normalized characters ``[lo, hi)``."""
        return self.offsets[lo], self.offsets[hi - 1] + 1

    def find(self, needle: str) -> list[tuple[int, int]]:
        """Every canonical span where ``needle`` (normalized) stands in the folded report, overlapping ones too."""
        return spans_of(needle, self.normalized, self.offsets)

    def place(self, start: int, end: int) -> Place:
        return place_in(self.document, self.passages, start, end)


# ---------------------------------------------------------------- the whole corpus


class CorpusView:
    """Every report of a corpus folded once. ``corpus`` is anything with ``documents`` ({doc_id: Document}),
    ``passages`` (a list) and ``row_of`` ({passage_id: index into passages}): a ``retrieval.Corpus``. ``keyword``
    scores every passage (in ``passages`` order) for a text, BM25 as the search index has it: with it a large
    corpus chooses where to look for the closest text to a quote by the index, not by reading every report."""

    def __init__(self, corpus, keyword: Callable[[str], np.ndarray] | None = None) -> None:
        self.corpus = corpus
        self.keyword = keyword
        self.documents: dict[str, Document] = corpus.documents
        self.passages: list[Passage] = corpus.passages
        self.row_of: dict[str, int] = corpus.row_of
        by_doc: dict[str, list[Passage]] = {doc_id: [] for doc_id in self.documents}
        for p in self.passages:
            by_doc[p.doc_id].append(p)
        for passages in by_doc.values():
            passages.sort(key=lambda p: p.start)
        self.by_doc = by_doc  # reading order
        self.reports = FoldedReports(self.documents, by_doc)
        self.small = len(self.documents) <= FOLDED_KEPT
        if self.small:
            for doc_id in self.documents:  # all of them now: no lookup waits for a fold
                self.reports[doc_id]

    def standing(self, needle: str, doc_id: str | None = None) -> list[tuple[str, int, int]]:
        """(doc id, start, end) of every place ``needle`` (normalized) stands verbatim, in corpus order (in
        ``doc_id`` alone when given). A folded report is searched whole; any other, only around the places its text
        holds the needle's words (``spans_in``), so a text standing in hundreds of reports (boilerplate) costs what
        its places cost, not hundreds of folds."""
        runs = PLAIN.findall(needle)
        key = max(runs, key=len) if runs else ""
        places = []
        for each in [doc_id] if doc_id else self.documents:
            document = self.documents[each]
            if key not in document.text:  # folding never changes letters and digits: no place here
                continue
            folded = self.reports.folded(each)
            spans = folded.find(needle) if folded is not None else spans_in(document.text, needle)
            places += [(each, a, b) for a, b in spans]
        return places

    def likely(self, text: str) -> list[ReportView]:
        """The reports worth searching for the text closest to ``text``, in corpus order: every one of a small
        corpus; in a large one, those holding the ``LIKELY_PASSAGES`` passages the keyword index scores best for it,
        else (no index given, or no passage scores) the ``LIKELY_REPORTS`` holding the most of its eight longest
        words. A report whose text an earlier one holds identically (the same report added twice) adds nothing and
        is left out: the places where the closest text stands are listed from every report (``standing``)."""
        words = sorted({w for w in PLAIN.findall(text) if len(w) > 2}, key=len, reverse=True)[:8]
        if self.small or not words:
            return [self.reports[doc_id] for doc_id in self._first_with_text.values()]
        ranked = self._by_keyword(text) if self.keyword is not None else []
        if ranked:
            best = set(self._standing_for(ranked))
        else:  # reading every report: a few hundred milliseconds at 500 reports
            held = {doc_id: sum(w in document.text for w in words) for doc_id, document in self.documents.items()}
            ranked = sorted((doc_id for doc_id in held if held[doc_id]), key=lambda d: -held[d])  # stable
            best = set(self._standing_for(ranked)[:LIKELY_REPORTS])
        return [self.reports[doc_id] for doc_id in self.documents if doc_id in best]

    @cached_property
    def _first_with_text(self) -> dict[str, str]:
        """Each distinct report text → the first report in corpus order with it (str hashes are cached: each text is
        hashed once)."""
        first: dict[str, str] = {}
        for doc_id, document in self.documents.items():
            first.setdefault(document.text, doc_id)
        return first

    def _standing_for(self, doc_ids: list[str]) -> list[str]:
        """``doc_ids`` in order, each replaced by the first report in corpus order with its very text, once: a
        report and its identical copies score alike, so one stands for them all."""
        return list(dict.fromkeys(self._first_with_text[self.documents[doc_id].text] for doc_id in doc_ids))

    def _by_keyword(self, text: str) -> list[str]:
        """The reports of the ``LIKELY_PASSAGES`` passages scoring best for ``text`` (above zero), best first."""
        scores = self.keyword(text)
        n = min(LIKELY_PASSAGES, len(scores))
        if n == 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return list(dict.fromkeys(self.passages[row].doc_id for row in top if scores[row] > 0))

    def place(self, doc_id: str, start: int, end: int) -> Place:
        return place_in(self.documents[doc_id], self.by_doc[doc_id], start, end)

    def known(self, doc_id: str, what: str) -> None:
        """A clear error unless the report ``what`` (the id, anchor or option the user typed) names is in the corpus;
        folds nothing."""
        if doc_id not in self.documents:
            raise UnknownCitation(f"cite: {what} names report {doc_id!r}, which is not in the index; "
                                  f"reports: {', '.join(self.documents) or 'none'} (`reportrag docs` lists them)")

    def report(self, doc_id: str, what: str) -> ReportView:
        """The report ``what`` names, folded, or a clear error (``known``)."""
        self.known(doc_id, what)
        return self.reports[doc_id]

    def located(self, doc_id: str, start: int, end: int, *, kind: str, ident: str,
                text: str | None = None, note: str = "", also: bool = True) -> Located:
        document = self.documents[doc_id]
        text = document.text[start:end] if text is None else text
        place = self.place(doc_id, start, end)
        also_at = self._also_at(text, document.doc_id, start) if also else ()
        return Located(kind=kind, ident=ident, text=text, place=place, verified=document.text[start:end] == text,
                       anchor=make_anchor(document.doc_id, place.paragraph, text),
                       context=context_around(document, start, end), source=source_place(document, start, end),
                       also_at=also_at, note=note)

    def _also_at(self, text: str, doc_id: str, start: int) -> tuple[Place, ...]:
        """The same text elsewhere: a sidebar repeat, or the other report quoting the same sentence."""
        needle = normalized(text)
        return tuple(self.place(d, a, b) for d, a, b in self.standing(needle) if (d, a) != (doc_id, start))[:MAX_PLACES]


class FoldedReports(Mapping):
    """doc id → ``ReportView``, folded on first use; the ``FOLDED_KEPT`` used last are kept."""

    def __init__(self, documents: dict[str, Document], passages: dict[str, list[Passage]]) -> None:
        self._documents, self._passages = documents, passages
        self._kept: OrderedDict[str, ReportView] = OrderedDict()
        self._lock = threading.Lock()  # lookups run in several server threads at once

    def __getitem__(self, doc_id: str) -> ReportView:
        with self._lock:
            view = self._kept.get(doc_id)
            if view is not None:
                self._kept.move_to_end(doc_id)
                return view
        view = ReportView.build(self._documents[doc_id], self._passages[doc_id])  # KeyError: not a report
        with self._lock:
            self._kept[doc_id] = view
            while len(self._kept) > FOLDED_KEPT:
                self._kept.popitem(last=False)
        return view

    def folded(self, doc_id: str) -> ReportView | None:
        """The report's folded view if it is in memory; never folds."""
        with self._lock:
            return self._kept.get(doc_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._documents)

    def __len__(self) -> int:
        return len(self._documents)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._documents


# ---------------------------------------------------------------- places in one document


def place_in(document: Document, passages: list[Passage], start: int, end: int) -> Place:
    """The place of ``document.text[start:end]``: its paragraph, and the passage (``passages`` in reading order)
    holding ``start``, else the next one."""
    paragraph = paragraph_at(document, start)
    passage = passage_at(passages, start)
    owner = passage or paragraph
    return document.place(owner.section, owner.section_label, paragraph.number, start, end,
                          passage.passage_id if passage else "")


def passage_at(passages: list[Passage], offset: int) -> Passage | None:
    i = bisect.bisect_right(passages, offset, key=lambda p: p.start) - 1
    if i >= 0 and offset < passages[i].end:
        return passages[i]
    if not passages:
        return None
    return passages[min(i + 1, len(passages) - 1)]


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def paragraph_at(document: Document, offset: int) -> Paragraph:
    """The paragraph holding ``offset``; in a heading between paragraphs, the paragraph the heading opens."""
    paragraphs = document.paragraphs
    i = bisect.bisect_right(paragraphs, offset, key=lambda p: p.start) - 1
    if i >= 0 and offset < paragraphs[i].end:
        return paragraphs[i]
    return paragraphs[min(i + 1, len(paragraphs) - 1)]


def context_around(document: Document, start: int, end: int) -> tuple[ContextParagraph, ...]:
    paragraphs = document.paragraphs
    first = paragraph_at(document, start).number - 1  # numbers are 1-based and consecutive
    last = max(first, paragraph_at(document, max(start, end - 1)).number - 1)
    window = paragraphs[max(0, first - CONTEXT_PARAGRAPHS) : last + 1 + CONTEXT_PARAGRAPHS]
    return tuple(ContextParagraph(p.number, p.start, p.end, p.text, p.start < end and start < p.end) for p in window)


def source_place(document: Document, start: int, end: int) -> SourcePlace:
    spans = tuple(to_source(list(document.segments), start, end))
    if not spans:
        return SourcePlace(document.info.original_file, (), None, None)
    line = document.source_text.count("\n", 0, spans[0][0]) + 1
    end_line = line + document.source_text.count("\n", spans[0][0], spans[-1][1] - 1)
    return SourcePlace(document.info.original_file, spans, line, end_line)
