"""Citation lookup: from a passage id, a citation anchor, a pasted quote or a reference as people type it
("CEDAW Article 11, paragraph 1 (d)", "concluding observations 36 (e)", "review VII.C") to the exact place in a
report: section, ¶ paragraph, canonical offsets, the paragraphs around it and the line in the original file.

Anchors ("cedaw-p296-<hash>") resolve by content, not position: the ¶ number they carry only says where to look
first, so an anchor survives re-numbering and re-chunking. Pasted quotes match exactly once quotes, dashes and
spacing are folded (``quotes.normalize``), else fuzzily (rapidfuzz) with a word diff, so a mis-typed figure
shows as exactly that figure. Similarities are on rapidfuzz's 0–100 scale throughout (100 = exact).
"""

from __future__ import annotations

import bisect
import difflib
import hashlib
import math
import re
import weakref
from collections import Counter
from dataclasses import asdict, dataclass

from rapidfuzz import fuzz, process

from reportrag.answers.quotes import anchor as make_anchor
from reportrag.answers.quotes import normalize, normalized, parse_anchor
from reportrag.core.errors import BadQuery, ReportragError
from reportrag.core.records import Document, Passage, Place
from reportrag.ingest.textmap import to_source
from reportrag.retrieval.rerank import query_references
from reportrag.retrieval.search import Searcher

MAX_QUOTE_CHARS = 5000
FLOOR = 60.0  # fuzzy similarity (0–100) below which a quote counts as not found
CONTEXT_PARAGRAPHS = 1  # paragraphs shown before and after a citation
MAX_PLACES = 100  # a very short quote ("the") stands everywhere: list the first ones only
FUZZY_CANDIDATES = 8  # paragraphs aligned character by character (the costly step) after the cheap word pass
_PASSAGE_ID = re.compile(r"^(?P<doc>.+)-(?P<paragraph>\d{4,})-(?P<hash>[0-9a-f]{10})$")
_WORD = re.compile(r"\w+")
# "CO 24(d)" but not "co-operation": "co" counts only before a number
_OBSERVATIONS = re.compile(r"concluding\s+observations?|recommendations?|\bcos?(?=\s*\d)", re.I)
_FILLER = re.compile(r"\b(?:the|of|in|on|section|sections|chapter|reports?)\b", re.I)
_NOT_REPORT_NAMES = {"report", "reports", "article", "paragraph", "part", "section", "concluding", "observations"}


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

    def to_json(self) -> dict:
        return {"kind": self.kind, "ident": self.ident, "text": self.text, **self.place.to_json(),
                "verified": self.verified, "anchor": self.anchor, "breadcrumb": list(self.breadcrumb),
                "context": [c.to_json() for c in self.context], "source": self.source.to_json(),
                "also_at": [p.to_json() for p in self.also_at], "note": self.note}


@dataclass(frozen=True)
class DiffOp:
    op: str  # "equal", "replace", "delete" (only in the quote), "insert" (only in the report)
    quote: str
    report: str


@dataclass(frozen=True)
class Candidate:
    place: Place
    similarity: float
    text: str


@dataclass(frozen=True)
class QuoteMatch:
    """Where a pasted quote stands: every exact place, or the closest text with what differs."""

    quote: str
    found: bool
    exact: bool
    similarity: float  # 0–100
    text: str  # the report's own text (an exact canonical slice), "" when not found
    places: tuple[Located, ...] = ()
    diff: tuple[DiffOp, ...] = ()
    closest: tuple[Candidate, ...] = ()  # when not found
    note: str = ""

    @property
    def diff_text(self) -> str:
        return diff_text(self.diff)

    def to_json(self) -> dict:
        return {"kind": "quote", "quote": self.quote, "found": self.found, "exact": self.exact,
                "similarity": self.similarity, "similarity_scale": "0-100", "text": self.text,
                "places": [p.to_json() for p in self.places], "diff": [asdict(d) for d in self.diff],
                "diff_text": self.diff_text, "note": self.note,
                "closest": [{**c.place.to_json(), "similarity": c.similarity, "text": c.text} for c in self.closest]}


@dataclass(frozen=True)
class Reference:
    """A section ("section") or the passages answering a paragraph of the concluding observations
    ("concluding_observations")."""

    kind: str
    query: str
    doc_id: str
    doc_title: str
    label: str  # "Article 11, paragraph 1 (d)", "VII.C", "36(e)"
    title: str  # the heading as written ("" for concluding observations)
    path: tuple[str, ...]
    paragraphs: tuple[int, ...]
    passages: tuple[Passage, ...]
    subsections: tuple[str, ...] = ()

    @property
    def paragraph_range(self) -> tuple[int, int] | None:
        return (min(self.paragraphs), max(self.paragraphs)) if self.paragraphs else None

    def to_json(self) -> dict:
        return {"kind": self.kind, "query": self.query, "doc_id": self.doc_id, "doc_title": self.doc_title,
                "label": self.label, "title": self.title, "path": list(self.path),
                "paragraph_range": list(self.paragraph_range or ()), "paragraphs": list(self.paragraphs),
                "subsections": list(self.subsections), "passages": [_passage_json(p) for p in self.passages]}


def _passage_json(p: Passage) -> dict:
    return {"passage_id": p.passage_id, "doc_id": p.doc_id, "section": list(p.section),
            "section_label": p.section_label, "paragraph": p.paragraph, "paragraphs": list(p.paragraphs),
            "start": p.start, "end": p.end, "text": p.text,
            "concluding_observations": list(p.concluding_observations), "duplicate_of": p.duplicate_of}


# ---------------------------------------------------------------- per-report data, built once per searcher


@dataclass(eq=False)
class _Report:
    document: Document
    passages: list[Passage]  # reading order
    normalized: str  # quotes.normalize of the whole text …
    offsets: list[int]  # … and the canonical offset of each of its characters
    words: list[frozenset[str]]  # per paragraph, for the cheap first pass of fuzzy matching
    units: list[tuple[int, int, int, int]]  # what anchors hash: (start, end, ¶, 0 sentence / 1 paragraph / 2 passage / 3 two sentences)


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _reports(searcher: Searcher) -> dict[str, _Report]:
    """Normalizing a report costs a few tenths of a second in pure Python: do it once per searcher."""
    if searcher not in _CACHE:
        by_doc: dict[str, list[Passage]] = {d: [] for d in searcher.documents}
        for p in searcher.passages:
            by_doc[p.doc_id].append(p)
        reports = {}
        for doc_id, document in searcher.documents.items():
            passages = sorted(by_doc[doc_id], key=lambda p: p.start)
            text, offsets = normalize(document.text)
            units = [(s.start, s.end, 0) for p in passages for s in p.sentences]
            # an answer quotes two sentences together when the second carries the figure asked about
            units += [(a.start, b.end, 3) for p in passages for a, b in zip(p.sentences, p.sentences[1:])]
            units += [(p.start, p.end, 1) for p in document.paragraphs] + [(p.start, p.end, 2) for p in passages]
            units_with_paragraph = [(a, b, _paragraph_at(document, a).number, kind) for a, b, kind in units]
            words = [frozenset(_words(p.text)) for p in document.paragraphs]
            reports[doc_id] = _Report(document, passages, text, offsets, words, units_with_paragraph)
        _CACHE[searcher] = reports
    return _CACHE[searcher]


def _report(searcher: Searcher, doc_id: str, what: str) -> _Report:
    reports = _reports(searcher)
    if doc_id not in reports:
        raise UnknownCitation(f"cite: {what} names report {doc_id!r}, which is not in the index; "
                              f"reports: {', '.join(reports) or 'none'} (`reportrag docs` lists them)")
    return reports[doc_id]


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _norm_slice(report: _Report, start: int, end: int) -> str:
    """``normalized(document.text[start:end])`` read off the whole report's normalization (whitespace runs and
    folded characters keep the offset of their first character, so the slice is the same once its ends are
    stripped)."""
    lo, hi = bisect.bisect_left(report.offsets, start), bisect.bisect_left(report.offsets, end)
    return report.normalized[lo:hi].strip(" ")


def _canonical(report: _Report, lo: int, hi: int) -> tuple[int, int]:
    """Canonical (start, end) of normalized characters ``[lo, hi)``."""
    return report.offsets[lo], report.offsets[hi - 1] + 1


def _find(report: _Report, needle: str) -> list[tuple[int, int]]:
    """``quotes.find_exact`` over the cached normalization: every canonical span where ``needle`` stands."""
    return [_canonical(report, m.start(), m.end()) for m in re.finditer(re.escape(needle), report.normalized)]


# ---------------------------------------------------------------- places


def _paragraph_at(document: Document, offset: int):
    """The paragraph holding ``offset``; in a heading between paragraphs, the paragraph the heading opens."""
    paragraphs = document.paragraphs
    i = bisect.bisect_right(paragraphs, offset, key=lambda p: p.start) - 1
    if i >= 0 and offset < paragraphs[i].end:
        return paragraphs[i]
    return paragraphs[min(i + 1, len(paragraphs) - 1)]


def _passage_at(report: _Report, offset: int) -> Passage | None:
    i = bisect.bisect_right(report.passages, offset, key=lambda p: p.start) - 1
    if i >= 0 and offset < report.passages[i].end:
        return report.passages[i]
    if not report.passages:
        return None
    return report.passages[min(i + 1, len(report.passages) - 1)]


def _place(report: _Report, start: int, end: int) -> Place:
    document = report.document
    paragraph = _paragraph_at(document, start)
    passage = _passage_at(report, start)
    owner = passage or paragraph
    return Place(doc_id=document.doc_id, doc_title=document.info.short_title, section=owner.section,
                 section_label=owner.section_label, paragraph=paragraph.number, start=start, end=end,
                 passage_id=passage.passage_id if passage else "")


def _context(document: Document, start: int, end: int) -> tuple[ContextParagraph, ...]:
    paragraphs = document.paragraphs
    first = _paragraph_at(document, start).number - 1  # numbers are 1-based and consecutive
    last = max(first, _paragraph_at(document, max(start, end - 1)).number - 1)
    window = paragraphs[max(0, first - CONTEXT_PARAGRAPHS) : last + 1 + CONTEXT_PARAGRAPHS]
    return tuple(ContextParagraph(p.number, p.start, p.end, p.text, p.start < end and start < p.end) for p in window)


def _source(document: Document, start: int, end: int) -> SourcePlace:
    spans = tuple(to_source(list(document.segments), start, end))
    if not spans:
        return SourcePlace(document.info.original_file, (), None, None)
    line = document.source_text.count("\n", 0, spans[0][0]) + 1
    end_line = line + document.source_text.count("\n", spans[0][0], spans[-1][1] - 1)
    return SourcePlace(document.info.original_file, spans, line, end_line)


def _located(searcher: Searcher, report: _Report, start: int, end: int, *, kind: str, ident: str,
             text: str | None = None, note: str = "", also: bool = True) -> Located:
    document = report.document
    text = document.text[start:end] if text is None else text
    place = _place(report, start, end)
    also_at = ()
    if also:  # the same text elsewhere: a sidebar repeat, or the other report quoting the same sentence
        needle = normalized(text)
        also_at = tuple(_place(r, a, b) for r in _reports(searcher).values() for a, b in _find(r, needle)
                        if (r.document.doc_id, a) != (document.doc_id, start))[:MAX_PLACES]
    return Located(kind=kind, ident=ident, text=text, place=place, verified=document.text[start:end] == text,
                   anchor=make_anchor(document.doc_id, place.paragraph, text), context=_context(document, start, end),
                   source=_source(document, start, end), also_at=also_at, note=note)


# ---------------------------------------------------------------- lookup: passage ids and anchors


def looks_like_id(searcher: Searcher, ident: str) -> bool:
    ident = ident.strip()
    return ident in searcher.row_of or parse_anchor(ident) is not None or bool(_PASSAGE_ID.match(ident))


def lookup(searcher: Searcher, ident: str) -> Located:
    """A passage id or a citation anchor → its text at its exact place."""
    ident = ident.strip()
    if ident in searcher.row_of:
        passage = searcher.passages[searcher.row_of[ident]]
        report = _report(searcher, passage.doc_id, ident)
        return _located(searcher, report, passage.start, passage.end, kind="passage", ident=ident, text=passage.text)
    parsed = parse_anchor(ident)
    if parsed:
        return _resolve_anchor(searcher, ident, *parsed)
    m = _PASSAGE_ID.match(ident)
    if m:
        return _rechunked(searcher, ident, m["doc"], int(m["paragraph"]))
    raise UnknownCitation(f"cite: {ident!r} is neither a passage id (cedaw-0296-93c554e931) nor an anchor "
                          "(cedaw-p296-…); run `reportrag search` to find passage ids")


def _resolve_anchor(searcher: Searcher, ident: str, doc_id: str, number: int, digest: str) -> Located:
    report = _report(searcher, doc_id, f"anchor {ident!r}")
    # the anchor's own paragraph first, then outwards: a re-numbered report still finds the text, and a
    # sentence repeated in a sidebar resolves to the copy nearest where the anchor was made
    for start, end, paragraph, _ in sorted(report.units, key=lambda u: (abs(u[2] - number), u[3])):
        if hashlib.sha1(_norm_slice(report, start, end).encode("utf-8")).hexdigest()[:10] == digest:
            note = "" if paragraph == number else (
                f"the anchor says ¶{number}; the text now stands at ¶{paragraph} (found by its content)")
            return _located(searcher, report, start, end, kind="anchor", ident=ident, note=note)
    raise UnknownCitation(f"cite: anchor {ident!r} matches no sentence, paragraph or passage of {doc_id!r} "
                          "(the report changed?); paste the quote instead: reportrag cite --quote \"…\"")


def _rechunked(searcher: Searcher, ident: str, doc_id: str, number: int) -> Located:
    """A passage id from an older chunking: its ¶ number still says where it stood."""
    report = _report(searcher, doc_id, f"passage id {ident!r}")
    holder = next((p for p in report.passages if number in p.paragraphs), None)
    if holder is None:
        raise UnknownCitation(f"cite: no passage {ident!r}, and {doc_id!r} has no ¶{number}; "
                              "run `reportrag search` to find passage ids")
    note = (f"passage {ident} no longer exists (the report was re-chunked or changed); "
            f"showing {holder.passage_id}, which now holds ¶{number}")
    return _located(searcher, report, holder.start, holder.end, kind="passage", ident=ident, text=holder.text,
                    note=note)


# ---------------------------------------------------------------- find_quote


def find_quote(searcher: Searcher, quote: str, doc: str | None = None) -> QuoteMatch:
    """Where a pasted quote stands: exactly (after folding quotes, dashes, spacing) → every place, similarity 100;
    else the closest text (similarity 0–100, word diff); below ``FLOOR`` → not found, with the closest ones."""
    needle = _clean_quote(quote)
    reports = [_report(searcher, doc, "--doc")] if doc else list(_reports(searcher).values())
    spans = [(r, a, b) for r in reports for a, b in _find(r, needle)]
    bare = _unquoted(needle)
    if not spans and bare != needle:  # pasted with the quotation marks around it: “…”
        needle = bare
        spans = [(r, a, b) for r in reports for a, b in _find(r, needle)]
    if spans:
        places = tuple(_located(searcher, r, a, b, kind="quote", ident=quote, also=False)
                       for r, a, b in spans[:MAX_PLACES])
        note = f"the first {MAX_PLACES} of {len(spans)} places" if len(spans) > MAX_PLACES else ""
        return QuoteMatch(quote, found=True, exact=True, similarity=100.0, text=places[0].text, places=places,
                          note=note)
    matches = _fuzzy(reports, needle)
    if not matches or matches[0][0] < FLOOR:
        closest = tuple(_candidate(r, score, lo, hi) for score, r, lo, hi in matches[:3])
        return QuoteMatch(quote, found=False, exact=False, similarity=matches[0][0] if matches else 0.0, text="",
                          closest=closest, note=f"no text of the reports reaches similarity {FLOOR:.0f}/100")
    score, best, lo, hi = matches[0]
    start, end = _canonical(best, lo, hi)
    found = best.normalized[lo:hi]
    # the found text may stand elsewhere too (a sidebar copy): list every place, the best match first
    others = [(r, a, b) for r in reports for a, b in _find(r, found) if r is not best or a != start]
    places = tuple(_located(searcher, r, a, b, kind="quote", ident=quote, also=False)
                   for r, a, b in [(best, start, end), *others][:MAX_PLACES])
    return QuoteMatch(quote, found=True, exact=False, similarity=score, text=places[0].text, places=places,
                      diff=word_diff(needle, found))


def _candidate(report: _Report, score: float, lo: int, hi: int) -> Candidate:
    start, end = _canonical(report, lo, hi)
    return Candidate(_place(report, start, end), score, report.document.text[start:end])


def _clean_quote(quote: str) -> str:
    if not isinstance(quote, str):
        raise BadQuery("quote: must be text")
    needle = normalized("".join(c if c.isprintable() else " " for c in quote))
    if not needle:
        raise BadQuery("quote: empty; paste the words you want to find in the reports")
    if len(needle) > MAX_QUOTE_CHARS:
        raise BadQuery(f"quote: {len(needle):,} characters, over the {MAX_QUOTE_CHARS:,} limit; "
                       "paste a shorter passage")
    return needle


def _unquoted(needle: str) -> str:
    """The quote without one pair of enclosing quotation marks (folded to ASCII by ``normalized``)."""
    if len(needle) > 2 and needle[0] == needle[-1] and needle[0] in "\"'":
        return needle[1:-1].strip()
    return needle


def _fuzzy(reports: list[_Report], needle: str) -> list[tuple[float, _Report, int, int]]:
    """(similarity, report, normalized start, end), best first. A cheap pass ranks paragraphs by the share of the
    quote's (idf-weighted) words they hold; only the best few are aligned character by character, in a window
    wide enough for a quote that runs into the neighbouring paragraphs."""
    wanted = set(_words(needle))
    paragraphs = [(r, i) for r in reports for i in range(len(r.words))]
    df = Counter(w for r, i in paragraphs for w in r.words[i] & wanted)
    idf = {w: math.log((1 + len(paragraphs)) / (1 + df[w])) + 1 for w in wanted}
    total = sum(idf.values()) or 1.0
    ranked = sorted(paragraphs, key=lambda ri: -sum(idf[w] for w in ri[0].words[ri[1]] & wanted) / total)
    seen, out = set(), []
    for report, i in ranked[:FUZZY_CANDIDATES]:
        paragraph = report.document.paragraphs[i]
        p_lo = bisect.bisect_left(report.offsets, paragraph.start)
        p_hi = bisect.bisect_left(report.offsets, paragraph.end)
        w_lo, w_hi = max(0, p_lo - len(needle)), min(len(report.normalized), p_hi + len(needle))
        aligned = fuzz.partial_ratio_alignment(needle, report.normalized[w_lo:w_hi])
        if aligned is None:
            continue
        lo, hi = _refine(needle, report.normalized, w_lo + aligned.dest_start, w_lo + aligned.dest_end)
        if (id(report), lo, hi) not in seen:
            seen.add((id(report), lo, hi))
            # never 100 unless exact: an exact quote was found before this step
            out.append((min(99.9, round(fuzz.ratio(needle, report.normalized[lo:hi]), 1)), report, lo, hi))
    return sorted(out, key=lambda m: -m[0])


def _refine(needle: str, text: str, lo: int, hi: int, reach: int = 3) -> tuple[int, int]:
    """Snap an alignment to whole words, trying each end up to ``reach`` words either way for the best ratio
    (character alignment happily starts mid-word or drops a final full stop)."""
    area_lo = text.rfind(" ", 0, max(0, lo - 300)) + 1
    area_hi = text.find(" ", min(len(text), hi + 300))
    area_hi = len(text) if area_hi < 0 else area_hi
    words = [(m.start() + area_lo, m.end() + area_lo) for m in re.finditer(r"\S+", text[area_lo:area_hi])]
    if not words:
        return lo, hi
    starts = [a for a, _ in words]
    i = max(0, bisect.bisect_right(starts, lo) - 1)
    i += words[i][1] <= lo and i + 1 < len(words)  # lo fell in the space after word i
    j = max(i, bisect.bisect_right(starts, max(lo, hi - 1)) - 1)
    options = [(a, b) for a in range(max(0, i - reach), min(len(words), i + reach + 1))
               for b in range(max(a, j - reach), min(len(words), j + reach + 1))]
    a, b = max(options, key=lambda ab: (fuzz.ratio(needle, text[words[ab[0]][0] : words[ab[1]][1]]),
                                        -abs(ab[0] - i) - abs(ab[1] - j)))
    return words[a][0], words[b][1]


def word_diff(quote: str, report: str) -> tuple[DiffOp, ...]:
    """Word-level differences between a quote and the report's text, both normalized (so typed quotes, dashes and
    spacing never show as differences)."""
    a, b = quote.split(), report.split()
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    return tuple(DiffOp(op, " ".join(a[i1:i2]), " ".join(b[j1:j2])) for op, i1, i2, j1, j2 in matcher.get_opcodes())


def diff_text(ops: tuple[DiffOp, ...], keep: int = 3) -> str:
    """Compact form: ``[-the quote's words-]{+the report's words+}``, long equal runs shortened to "…"."""
    parts = []
    for k, op in enumerate(ops):
        if op.op != "equal":
            parts.append((f"[-{op.quote}-]" if op.quote else "") + (f"{{+{op.report}+}}" if op.report else ""))
            continue
        words = op.quote.split()
        if len(words) > 2 * keep:
            head = words[:keep] if k > 0 else []
            tail = words[-keep:] if k < len(ops) - 1 else []
            words = head + ["…"] + tail
        parts.append(" ".join(words))
    return " ".join(parts)


# ---------------------------------------------------------------- references as users type them


def resolve_reference(searcher: Searcher, text: str, doc: str | None = None) -> Reference:
    """"CEDAW Article 11, paragraph 1 (d)", "Article 11 (d)" (when only one paragraph has a (d)), "review VII.C",
    "Part I", "concluding observations 36 (e)" → the section and its passages, or the passages answering it."""
    query = " ".join(str(text or "").split())
    if not query:
        raise BadQuery("cite: empty reference; type e.g. \"Article 11, paragraph 1 (d)\" or \"review VII.C\"")
    named, rest = _named_reports(searcher, query)
    doc_ids = [doc] if doc else (named or list(searcher.documents))
    for d in doc_ids:
        _report(searcher, d, "--doc")
    if _OBSERVATIONS.search(rest):
        return _observations(searcher, query, rest, doc_ids)
    return _section(searcher, query, rest, doc_ids)


def _named_reports(searcher: Searcher, query: str) -> tuple[list[str], str]:
    """The reports a reference names (doc id, a word only its short title has, or its full title), and the
    reference without those names."""
    owners: dict[str, set[str]] = {}
    for doc_id, document in searcher.documents.items():
        info = document.info
        for name in {doc_id.lower(), info.title.lower(), info.short_title.lower()} | set(_words(info.short_title)):
            if name == doc_id.lower() or (len(name) >= 4 and not name.isdigit() and name not in _NOT_REPORT_NAMES):
                owners.setdefault(name, set()).add(doc_id)
    names = sorted((n for n, ds in owners.items() if len(ds) == 1), key=len, reverse=True)  # whole titles first
    found: list[str] = []

    def drop(m: re.Match) -> str:
        found.append(next(iter(owners[m.group(0).lower()])))
        return " "

    if names:
        query = re.sub(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)", drop, query, flags=re.I)
    return list(dict.fromkeys(found)), " ".join(query.split())


def _observations(searcher: Searcher, query: str, rest: str, doc_ids: list[str]) -> Reference:
    wanted = query_references(_OBSERVATIONS.sub(" concluding observations ", rest)).observations
    if not wanted:
        raise UnknownCitation(f"cite: {query!r} names no paragraph of the concluding observations; "
                              "type e.g. \"concluding observations 36 (e)\"")
    candidates = [p for p in searcher.passages if p.doc_id in doc_ids]
    answering = (p for p in candidates if any(_addresses(w, r) for w in wanted for r in p.concluding_observations))
    passages = sorted(answering, key=lambda p: (p.doc_id, p.start))
    label = ", ".join(sorted(wanted))
    if not passages:
        known = sorted({r for p in candidates for r in p.concluding_observations})
        near = [m[0] for m in process.extract(label, known, scorer=fuzz.ratio, limit=6)] if known else []
        raise UnknownCitation(f"cite: no passage answers paragraph {label} of the concluding observations; "
                              f"nearest answered: {', '.join(near) or 'none'}")
    doc_id = passages[0].doc_id if len({p.doc_id for p in passages}) == 1 else ""
    title = searcher.documents[doc_id].info.short_title if doc_id else ""
    paragraphs = tuple(sorted({n for p in passages for n in p.paragraphs}))
    return Reference("concluding_observations", query, doc_id, title, label, "", (), paragraphs, tuple(passages))


def _addresses(wanted: str, ref: str) -> bool:
    return ref == wanted or ("(" not in wanted and ref.split("(")[0] == wanted)  # "36" covers "36(e)"


def _key(label: str) -> str:
    """Labels compared as typed: case, spaces, commas and "para." don't matter ("article 11 para 1(d)")."""
    label = re.sub(r"\bpara(?:graph)?\b\.?", "paragraph", label.lower())
    return re.sub(r"[\s,]+", "", label).rstrip(".")


def _section(searcher: Searcher, query: str, rest: str, doc_ids: list[str]) -> Reference:
    sections = [s for d in doc_ids for s in searcher.documents[d].sections]
    bare = " ".join(_FILLER.sub(" ", rest).split())
    key = _key(bare)
    if not key:
        raise UnknownCitation(f"cite: {query!r} names a report but no section; type e.g. \"review VII.C\"")
    tries = (
        lambda: [s for s in sections if _key(s.label) == key],
        # "Part VII" of the review is labelled "VII"
        lambda: [s for s in sections if _key(s.label) == re.sub(r"^part", "", key)],
        lambda: _article_item(sections, bare),
        lambda: _by_title(sections, rest),
    )
    matches = next((m for m in (t() for t in tries) if m), [])
    labels = list(dict.fromkeys((s.doc_id, s.label) for s in matches))
    if len(labels) > 1:
        listed = "; ".join(f"{d} {label}" for d, label in labels[:8])
        raise UnknownCitation(f"cite: {query!r} could mean {listed}; type the one you mean")
    if not labels:
        # nearest by the typed form of the label ("article99" is near "article9"), not by raw text
        choices = {f"{s.doc_id} {s.label}": _key(s.label) for s in sections}
        near = [m[2] for m in process.extract(key, choices, scorer=fuzz.ratio, limit=5)]
        raise UnknownCitation(f"cite: no section {query!r}; nearest: {', '.join(near)}. Passage ids, anchors and "
                              "\"concluding observations 36 (e)\" work too; `reportrag doc DOC_ID` lists every section")
    main = min((s for s in matches if (s.doc_id, s.label) == labels[0]), key=lambda s: (s.level, s.start))
    return _section_reference(searcher, query, main)


def _article_item(sections, bare: str):
    """"Article 11 (d)": the one "Article 11, paragraph N (d)" there is (several → ambiguous, reported)."""
    m = re.fullmatch(r"article\s*(\d+)\s*\(?([a-z])\)?", bare.strip(), re.I)
    if not m:
        return []
    pattern = re.compile(rf"Article {m[1]}, paragraph \d+ \({m[2].lower()}\)")
    return [s for s in sections if pattern.fullmatch(s.label)]


def _by_title(sections, rest: str):
    """A section named by its heading ("gender equality"): near-exact words of one heading only."""
    wanted = rest.strip().lower()
    if len(wanted) < 8:
        return []
    scored = [(fuzz.partial_ratio(wanted, s.title.lower()), s) for s in sections if len(s.title) >= len(wanted)]
    best = max((score for score, _ in scored), default=0)
    return [s for score, s in scored if score == best] if best >= 95 else []


def _section_reference(searcher: Searcher, query: str, main) -> Reference:
    document = searcher.documents[main.doc_id]
    def inside(path) -> bool:  # the section and its subsections
        return tuple(path[: len(main.path)]) == tuple(main.path)

    paragraphs = tuple(p.number for p in document.paragraphs if inside(p.section))
    passages = tuple(p for p in _reports(searcher)[main.doc_id].passages if inside(p.section))
    subsections = tuple(dict.fromkeys(s.label for s in document.sections
                                      if inside(s.path) and len(s.path) > len(main.path) and s.label != main.label))
    return Reference("section", query, main.doc_id, document.info.short_title, main.label, main.title,
                     tuple(main.path), paragraphs, passages, subsections)


# ---------------------------------------------------------------- the CLI's entry point and its text form


def cite(searcher: Searcher, ident: str | None = None, quote: str | None = None, doc: str | None = None):
    """An id or anchor → ``lookup``; other text → ``resolve_reference``; ``quote`` → ``find_quote``."""
    if (ident is None) == (quote is None):
        raise BadQuery("cite: give a passage id, anchor or reference, or --quote \"…\" (one of them)")
    if quote is not None:
        return find_quote(searcher, quote, doc)
    if not ident.strip():
        raise BadQuery("cite: empty id; run `reportrag search` to find passage ids")
    if looks_like_id(searcher, ident):
        return lookup(searcher, ident)
    return resolve_reference(searcher, ident, doc)


def format_text(result) -> str:
    if isinstance(result, Located):
        return _format_located(result)
    if isinstance(result, QuoteMatch):
        return _format_quote(result)
    return _format_reference(result)


def _format_located(r: Located) -> str:
    lines = [f"{r.place.label}  ({'verified' if r.verified else 'NOT verified: the report text differs'})",
             " › ".join(r.breadcrumb), f"anchor {r.anchor} · passage {r.place.passage_id}"]
    if r.note:
        lines.append(f"note: {r.note}")
    lines.append("")
    for c in r.context:
        if c.quoted:
            a, b = max(r.place.start, c.start) - c.start, min(r.place.end, c.end) - c.start
            text = (c.text[:a] + ("»" if r.place.start >= c.start else "") + c.text[a:b]
                    + ("«" if r.place.end <= c.end else "") + c.text[b:])
        elif c.end <= r.place.start:
            text = c.text if len(c.text) <= 300 else "…" + c.text[-300:]
        else:
            text = c.text if len(c.text) <= 300 else c.text[:300] + "…"
        lines.append(f"¶{c.number}  {text}")
    lines.append("")
    if r.also_at:
        lines.append("also at: " + "; ".join(p.label for p in r.also_at))
    s = r.source
    where = f", line {s.line}" + (f"–{s.end_line}" if s.end_line and s.end_line != s.line else "") if s.line else ""
    lines.append(f"original file: {s.file}{where}" + (f" (characters {s.start}–{s.end})" if s.spans else ""))
    return "\n".join(lines)


def _format_quote(m: QuoteMatch) -> str:
    if not m.found:
        lines = [f"not found: {m.note} (best {m.similarity:.1f}/100); closest:"]
        lines += [f"  {c.similarity:5.1f}  {c.place.label}\n         {snippet(c.text, 200)}" for c in m.closest]
        return "\n".join(lines)
    if m.exact:
        plural = "s" if len(m.places) != 1 else ""
        head = [f"exact match in {len(m.places)} place{plural}" + (f" ({m.note})" if m.note else "")]
    else:
        head = [f"closest match: similarity {m.similarity:.1f}/100 (not verbatim)",
                f"differences ([-your quote-]{{+the report+}}): {m.diff_text}"]
    return "\n\n".join(["\n".join(head), *(_format_located(p) for p in m.places)])


def _format_reference(r: Reference) -> str:
    if r.kind == "concluding_observations":
        where = r.doc_title or "the reports"
        lines = [f"{where}: passages answering paragraph {r.label} of the concluding observations"]
    else:
        lines = [f"{r.doc_title}, {r.label}: {r.title}", " › ".join((r.doc_title, *r.path))]
    span = r.paragraph_range
    counts = f"¶{span[0]}–¶{span[1]}, " if span else ""
    lines.append(f"{counts}{len(r.paragraphs)} paragraphs, {len(r.passages)} passages"
                 + (f"; subsections: {', '.join(r.subsections)}" if r.subsections else ""))
    lines += [f"  {p.passage_id}  {p.section_label}, ¶{p.paragraph}  {snippet(p.text, 100)}" for p in r.passages]
    return "\n".join(lines)


def snippet(text: str, n: int) -> str:
    """``text`` on one line, cut to ``n`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[:n] + "…"
