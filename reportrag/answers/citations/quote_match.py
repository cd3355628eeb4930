"""Where a pasted quote stands. Quotes match exactly once quotes, dashes and spacing are folded
(``quotes.normalize``), else fuzzily (rapidfuzz) with a word diff, so a mis-typed figure shows as exactly that
figure. Similarities are on rapidfuzz's 0–100 scale throughout (100 = exact).
"""

from __future__ import annotations

import bisect
import difflib
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass

from rapidfuzz import fuzz

from reportrag.answers.citations.places import MAX_PLACES, CorpusView, Located, ReportView, words_of
from reportrag.answers.quotes import normalized
from reportrag.core.errors import BadQuery
from reportrag.core.records import Place

MAX_QUOTE_CHARS = 5000
FLOOR = 60.0  # fuzzy similarity (0–100) below which a quote counts as not found
FUZZY_CANDIDATES = 8  # paragraphs aligned character by character (the costly step) after the cheap word pass


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


def find_quote(view: CorpusView, quote: str, doc: str | None = None) -> QuoteMatch:
    """Where a pasted quote stands: exactly (after folding quotes, dashes, spacing) → every place, similarity 100;
    else the closest text (similarity 0–100, word diff); below ``FLOOR`` → not found, with the closest ones."""
    needle = _clean_quote(quote)
    reports = [view.report(doc, "--doc")] if doc else list(view.reports.values())
    spans = [(r, a, b) for r in reports for a, b in r.find(needle)]
    bare = _unquoted(needle)
    if not spans and bare != needle:  # pasted with the quotation marks around it: “…”
        needle = bare
        spans = [(r, a, b) for r in reports for a, b in r.find(needle)]
    if spans:
        places = tuple(view.located(r, a, b, kind="quote", ident=quote, also=False) for r, a, b in spans[:MAX_PLACES])
        note = f"the first {MAX_PLACES} of {len(spans)} places" if len(spans) > MAX_PLACES else ""
        return QuoteMatch(quote, found=True, exact=True, similarity=100.0, text=places[0].text, places=places,
                          note=note)
    return _closest(view, reports, quote, needle)


def _closest(view: CorpusView, reports: list[ReportView], quote: str, needle: str) -> QuoteMatch:
    """A quote found nowhere verbatim: the nearest text if it is near enough, else the few nearest candidates."""
    matches = _fuzzy(reports, needle)
    if not matches or matches[0][0] < FLOOR:
        closest = tuple(_candidate(r, score, lo, hi) for score, r, lo, hi in matches[:3])
        return QuoteMatch(quote, found=False, exact=False, similarity=matches[0][0] if matches else 0.0, text="",
                          closest=closest, note=f"no text of the reports reaches similarity {FLOOR:.0f}/100")
    score, best, lo, hi = matches[0]
    start, end = best.canonical(lo, hi)
    found = best.normalized[lo:hi]
    # the found text may stand elsewhere too (a sidebar copy): list every place, the best match first
    others = [(r, a, b) for r in reports for a, b in r.find(found) if r is not best or a != start]
    places = tuple(view.located(r, a, b, kind="quote", ident=quote, also=False)
                   for r, a, b in [(best, start, end), *others][:MAX_PLACES])
    return QuoteMatch(quote, found=True, exact=False, similarity=score, text=places[0].text, places=places,
                      diff=word_diff(needle, found))


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


# ---------------------------------------------------------------- what differs


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
