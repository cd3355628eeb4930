"""Where a pasted quote stands. Quotes match exactly once quotes, dashes and spacing are folded
(``quotes.normalize``), else fuzzily (rapidfuzz) with a word diff, so a mis-typed figure shows as exactly that
figure. A quote that leaves words out ("…", "[…]") matches part by part (``quote_parts``). Similarities are on
rapidfuzz's 0–100 scale throughout (100 = exact). Each result has one verdict: "verbatim", "verbatim in parts",
"close" or "not found".
"""

from __future__ import annotations

import bisect
import difflib
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import NamedTuple

from rapidfuzz import fuzz

from reportrag.answers.citations.places import MAX_PLACES, CorpusView, Located, ReportView, words_of
from reportrag.answers.citations.quote_parts import (
    MAX_PARTS,
    FoldedSpan,
    loose_ends,
    looser_readings,
    occurrences,
    reach_end,
    reach_start,
    split_at_ellipses,
    verbatim_chains,
)
from reportrag.answers.quotes import normalized
from reportrag.core.errors import BadQuery
from reportrag.core.records import Place

MAX_QUOTE_CHARS = 5000
FLOOR = 60.0  # fuzzy similarity (0–100) below which a quote counts as not found
FUZZY_CANDIDATES = 8  # paragraphs aligned character by character (the costly step) after the cheap word pass
VERBATIM, VERBATIM_IN_PARTS, CLOSE, NOT_FOUND = "verbatim", "verbatim in parts", "close", "not found"
ENDS_SET_ASIDE = "read without the punctuation, quotation marks or ellipsis at its ends"


@dataclass(frozen=True)
class DiffOp:
    # "equal", "replace", "delete" (only in the quote), "insert" (only in the report), "elided" (the quote's
    # ellipsis, and the report's text it leaves out)
    op: str
    quote: str
    report: str


@dataclass(frozen=True)
class Candidate:
    place: Place
    similarity: float
    text: str


@dataclass(frozen=True)
class QuotePart:
    """One part of a quote that leaves words out, and where it stands."""

    quote: str  # the part as pasted, folded (straight quotes, plain dashes)
    text: str  # the report's text there: document.text[place.start:place.end]
    place: Place
    verbatim: bool  # the part stands there word for word (after folding); else ``text`` is the closest
    similarity: float  # 0–100

    def to_json(self) -> dict:
        return {"quote": self.quote, "text": self.text, **self.place.to_json(), "verbatim": self.verbatim,
                "similarity": self.similarity}


@dataclass(frozen=True)
class QuoteMatch:
    """Where a pasted quote stands: every exact place, or the closest text with what differs. ``exact`` holds
    for "verbatim in parts" too (every quoted word stands verbatim); ``places`` then span each stretch from the
    first part to the last, and ``parts`` place each part (in the first stretch)."""

    quote: str
    found: bool
    exact: bool
    similarity: float  # 0–100
    text: str  # the report's own text (an exact canonical slice), "" when not found
    places: tuple[Located, ...] = ()
    diff: tuple[DiffOp, ...] = ()
    closest: tuple[Candidate, ...] = ()  # when not found
    note: str = ""
    parts: tuple[QuotePart, ...] = ()  # a quote cut by ellipses

    @property
    def verdict(self) -> str:
        """The one verdict every skin shows: "verbatim", "verbatim in parts", "close" or "not found"."""
        if not self.found:
            return NOT_FOUND
        if not self.exact:
            return CLOSE
        return VERBATIM_IN_PARTS if self.parts else VERBATIM

    @property
    def diff_text(self) -> str:
        return diff_text(self.diff)

    def marks(self, place: Located) -> list[tuple[int, int]]:
        """The canonical spans to highlight in one of ``places``: each part standing in it, else the whole place."""
        inside = [(p.place.start, p.place.end) for p in self.parts if p.place.doc_id == place.place.doc_id
                  and place.place.start <= p.place.start and p.place.end <= place.place.end]
        return inside or [(place.place.start, place.place.end)]

    def to_json(self) -> dict:
        return {"kind": "quote", "quote": self.quote, "verdict": self.verdict, "found": self.found,
                "exact": self.exact,
                "similarity": self.similarity, "similarity_scale": "0-100", "text": self.text,
                "places": [p.to_json() for p in self.places], "diff": [asdict(d) for d in self.diff],
                "diff_text": self.diff_text, "note": self.note,
                "closest": [{**c.place.to_json(), "similarity": c.similarity, "text": c.text} for c in self.closest],
                "parts": [p.to_json() for p in self.parts]}


def find_quote(view: CorpusView, quote: str, doc: str | None = None) -> QuoteMatch:
    """Where a pasted quote stands: exactly (after folding quotes, dashes, spacing) → every place, similarity 100;
    cut by ellipses, with every part verbatim, in order, close together → "verbatim in parts"; else the closest
    text (similarity 0–100, word diff); below ``FLOOR`` → not found, with the closest ones."""
    needle = _clean_quote(quote)
    if doc:
        view.known(doc, "--doc")
    parts = split_at_ellipses(needle)
    for reading, note in _readings(needle, parts):
        spans = view.standing(reading, doc)
        if spans:
            places = tuple(view.located(d, a, b, kind="quote", ident=quote, also=False)
                           for d, a, b in spans[:MAX_PLACES])
            many = f"the first {MAX_PLACES} of {len(spans)} places" if len(spans) > MAX_PLACES else ""
            return QuoteMatch(quote, found=True, exact=True, similarity=100.0, text=places[0].text, places=places,
                              note="; ".join(n for n in (note, many) if n))
    # folded whole only now: the closest text is sought in the report asked about, or (a large corpus) the likely ones
    reports = [view.report(doc, "--doc")] if doc else view.likely(needle)
    if len(parts) > 1:
        return _in_parts(view, reports, quote, parts, doc)
    return _closest(view, reports, quote, needle, doc)


def _readings(needle: str, parts: list[str]) -> list[tuple[str, str]]:
    """(reading, note): the ways a pasted quote is looked up, in turn, until one stands verbatim. As pasted; without
    the quotation marks around it (“…”); then without the punctuation, quotation marks or ellipsis at its ends,
    which are the quoter's (a final "." where the report goes on with ",")."""
    bare = parts[0] if len(parts) == 1 else needle  # "… the words" or "the words …": without the ellipsis
    readings = [(needle, ""), (_unquoted(needle), ""), *((r, ENDS_SET_ASIDE) for r in looser_readings(bare))]
    first_notes = {}
    for reading, note in readings:
        first_notes.setdefault(reading, note)  # a reading the quote as pasted already is carries no note
    return [(reading, note) for reading, note in first_notes.items() if reading]


def _closest(view: CorpusView, reports: list[ReportView], quote: str, needle: str, doc: str | None) -> QuoteMatch:
    """A quote found nowhere verbatim: the nearest text if it is near enough, else the few nearest candidates.
    ``doc``: the one report asked about; else the nearest text's other places are listed from every report."""
    matches = _fuzzy(reports, needle)
    if not matches or matches[0][0] < FLOOR:
        return _not_found(quote, matches)
    score, best, lo, hi = matches[0]
    start, end = best.canonical(lo, hi)
    found = best.normalized[lo:hi]
    # the found text may stand elsewhere too (a sidebar copy): list every place, the best match first
    doc_id = best.document.doc_id
    others = [(d, a, b) for d, a, b in view.standing(found, doc) if d != doc_id or a != start]
    places = tuple(view.located(d, a, b, kind="quote", ident=quote, also=False)
                   for d, a, b in [(doc_id, start, end), *others][:MAX_PLACES])
    return QuoteMatch(quote, found=True, exact=False, similarity=score, text=places[0].text, places=places,
                      diff=word_diff(needle, found, loose=True))


def _not_found(quote: str, matches: list[tuple[float, ReportView, int, int]]) -> QuoteMatch:
    closest = tuple(_candidate(r, score, lo, hi) for score, r, lo, hi in matches[:3])
    return QuoteMatch(quote, found=False, exact=False, similarity=matches[0][0] if matches else 0.0, text="",
                      closest=closest, note=f"no text of the reports reaches similarity {FLOOR:.0f}/100")


def _candidate(report: ReportView, score: float, lo: int, hi: int) -> Candidate:
    start, end = report.canonical(lo, hi)
    return Candidate(report.place(start, end), score, report.document.text[start:end])


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


# ---------------------------------------------------------------- quotes cut by ellipses


def _in_parts(view: CorpusView, reports: list[ReportView], quote: str, parts: list[str], doc: str | None
              ) -> QuoteMatch:
    """A quote cut by ellipses: "verbatim in parts" where every part stands verbatim, in order, close together;
    else the closest text, part by part."""
    if len(parts) > MAX_PARTS:
        raise BadQuery(f"quote: {len(parts) - 1} ellipses, over the {MAX_PARTS - 1} limit; paste a shorter passage")
    chains = [(r, chain) for r in reports for chain in verbatim_chains(r, parts, MAX_PLACES + 1)]
    if not chains:
        return _closest_in_parts(view, reports, quote, parts, doc)
    places = tuple(view.located(r.document.doc_id, *r.canonical(chain[0][0], chain[-1][1]), kind="quote",
                                ident=quote, also=False) for r, chain in chains[:MAX_PLACES])
    report, chain = chains[0]
    return QuoteMatch(quote, found=True, exact=True, similarity=100.0, text=places[0].text, places=places,
                      parts=tuple(_part(report, part, span, 100.0) for part, span in zip(parts, chain)),
                      note=f"the first {MAX_PLACES} places" if len(chains) > MAX_PLACES else "")


def _closest_in_parts(view: CorpusView, reports: list[ReportView], quote: str, parts: list[str], doc: str | None
                      ) -> QuoteMatch:
    """Some part stands nowhere verbatim near the others: the closest text, aligned part by part so the diff marks
    only words that differ (aligned whole, the quote would end where its length runs out and strike its last
    words, which the report holds a little further on, after the text the ellipsis leaves out)."""
    joined = " ".join(parts)
    aligned: dict[tuple, _PartsAligned] = {}  # one per stretch: several likely paragraphs may lead to the same
    for report, i in _paragraphs_sharing_words(reports, joined)[:FUZZY_CANDIDATES]:
        a = _align_parts(report, parts, i)
        if a:
            aligned.setdefault((id(report), a.stretch), a)
    if not aligned:  # no room for the parts near any likely paragraph: the whole quote, aligned at once
        return _closest(view, reports, quote, joined, doc)
    ranked = sorted(aligned.values(), key=lambda a: -a.similarity)
    if ranked[0].similarity < FLOOR:  # the closest stretches, scored as the verdict would be
        return _not_found(quote, [(a.similarity, a.report, *a.stretch) for a in ranked])
    best = ranked[0]
    report, spans = best.report, best.spans
    place = view.located(report.document.doc_id, *report.canonical(*best.stretch), kind="quote", ident=quote,
                         also=False)
    ops: list[DiffOp] = []
    for k, (part, (lo, hi)) in enumerate(zip(parts, spans)):
        if k:
            ops.append(DiffOp("elided", "…", report.normalized[spans[k - 1][1] : lo].strip()))
        ops += word_diff(part, report.normalized[lo:hi], loose=True)
    return QuoteMatch(quote, found=True, exact=False, similarity=best.similarity, text=place.text,
                      places=(place,), diff=tuple(ops),
                      parts=tuple(_part(report, *args) for args in zip(parts, spans, best.scores)))


class _PartsAligned(NamedTuple):
    similarity: float  # the parts' similarities, weighted by their lengths
    report: ReportView
    spans: list[FoldedSpan]  # one per part, in order
    scores: list[float]  # each part's similarity

    @property
    def stretch(self) -> FoldedSpan:
        return self.spans[0][0], self.spans[-1][1]


def _align_parts(report: ReportView, parts: list[str], paragraph: int) -> _PartsAligned | None:
    """The parts aligned in order, the first within a few paragraphs of ``paragraph``, each next one within reach
    of the one before; None when one finds no room."""
    at = bisect.bisect_left(report.offsets, report.document.paragraphs[paragraph].start)
    lo, hi = reach_start(report, at), reach_end(report, at + 1)
    spans, scores = [], []
    for part in parts:
        span, score = _align_part(report, part, lo, hi)
        if span is None:
            return None
        spans.append(span)
        scores.append(score)
        lo, hi = span[1], reach_end(report, span[1])
    similarity = sum(len(p) * s for p, s in zip(parts, scores)) / sum(len(p) for p in parts)
    return _PartsAligned(min(99.9, round(similarity, 1)), report, spans, scores)


def _align_part(report: ReportView, part: str, lo: int, hi: int) -> tuple[FoldedSpan | None, float]:
    """Where ``part`` stands between folded offsets ``lo`` and ``hi``: verbatim (100), else its closest text."""
    exact = occurrences(report, part, lo, hi)
    if exact:
        return exact[0], 100.0
    aligned = fuzz.partial_ratio_alignment(part, report.normalized[lo:hi]) if lo < hi else None
    if aligned is None:
        return None, 0.0
    a, b = _refine(part, report.normalized, lo + aligned.dest_start, lo + aligned.dest_end, floor=lo)
    if a >= b:
        return None, 0.0
    return (a, b), min(99.9, round(fuzz.ratio(part, report.normalized[a:b]), 1))


def _part(report: ReportView, part: str, span: FoldedSpan, similarity: float) -> QuotePart:
    start, end = report.canonical(*span)
    return QuotePart(part, report.document.text[start:end], report.place(start, end), similarity == 100.0,
                     similarity)


# ---------------------------------------------------------------- fuzzy matching


def _fuzzy(reports: list[ReportView], needle: str) -> list[tuple[float, ReportView, int, int]]:
    """(similarity, report, normalized start, end), best first. A cheap pass ranks paragraphs by the share of the
    quote's (idf-weighted) words they hold; only the best few are aligned character by character, in a window
    wide enough for a quote that runs into the neighbouring paragraphs."""
    seen, out = set(), []
    for report, i in _paragraphs_sharing_words(reports, needle)[:FUZZY_CANDIDATES]:
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


def _paragraphs_sharing_words(reports: list[ReportView], needle: str) -> list[tuple[ReportView, int]]:
    """Every (report, paragraph index), ranked by the idf-weighted share of the quote's words it holds."""
    wanted = set(words_of(needle))
    paragraphs = [(r, i) for r in reports for i in range(len(r.words))]
    df = Counter(w for r, i in paragraphs for w in r.words[i] & wanted)
    idf = {w: math.log((1 + len(paragraphs)) / (1 + df[w])) + 1 for w in wanted}
    total = sum(idf.values()) or 1.0
    return sorted(paragraphs, key=lambda ri: -sum(idf[w] for w in ri[0].words[ri[1]] & wanted) / total)


def _refine(needle: str, text: str, lo: int, hi: int, reach: int = 3, floor: int = 0) -> tuple[int, int]:
    """Snap an alignment to whole words, trying each end up to ``reach`` words either way for the best ratio
    (character alignment happily starts mid-word or drops a final full stop); never starting before ``floor``."""
    area_lo = max(floor, text.rfind(" ", 0, max(0, lo - 300)) + 1)
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


# ---------------------------------------------------------------- what differs


def word_diff(quote: str, report: str, loose: bool = False) -> tuple[DiffOp, ...]:
    """Word-level differences between a quote and the report's text, both normalized (so typed quotes, dashes and
    spacing never show as differences); ``loose``: nor do punctuation and quotation marks at the two ends."""
    a, b = quote.split(), report.split()
    matcher = difflib.SequenceMatcher(a=loose_ends(a) if loose else a, b=loose_ends(b) if loose else b,
                                      autojunk=False)
    return tuple(DiffOp(op, " ".join(a[i1:i2]), " ".join(b[j1:j2])) for op, i1, i2, j1, j2 in matcher.get_opcodes())


def diff_text(ops: tuple[DiffOp, ...], keep: int = 3) -> str:
    """Compact form: ``[-the quote's words-]{+the report's words+}``, long equal runs shortened to "…", the text a
    quote's ellipsis leaves out shown as "[…]"."""
    parts = []
    for k, op in enumerate(ops):
        if op.op == "elided":
            parts.append("[…]")
        elif op.op != "equal":
            parts.append((f"[-{op.quote}-]" if op.quote else "") + (f"{{+{op.report}+}}" if op.report else ""))
            continue
        words = op.quote.split()
        if len(words) > 2 * keep:
            head = words[:keep] if k > 0 else []
            tail = words[-keep:] if k < len(ops) - 1 else []
            words = head + ["…"] + tail
        parts.append(" ".join(words))
    return " ".join(parts)
