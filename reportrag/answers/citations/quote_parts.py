"""Quotes as readers trim them. An ellipsis ("…", "...", "[…]", "[...]") marks words left out, so it splits a
quote into parts that must each stand verbatim, in order, close together: a quote that elides text stays within a
small stretch of one report. Punctuation and quotation marks at the ends of a quote or part are the quoter's, not
the report's, so they are set aside when the quote as pasted stands nowhere.

Everything here works on a ``ReportView``'s folded text (``quotes.normalize``, where "…" is already "..."); spans
are (start, end) in that text.
"""

from __future__ import annotations

import bisect
import re

from reportrag.answers.citations.places import ReportView, paragraph_at

NEIGHBOUR_PARAGRAPHS = 3  # a part may start at most this many paragraphs after the one where the part before ends
MAX_PARTS = 50  # a quote is cut by an ellipsis a few times, not hundreds (the search recurses once a part)

# "[...]", ". . ." or a run of three or more full stops ("....": an ellipsis after a full stop); "…" is "..." once
# folded. "A. ... B" keeps the full stop in its first part.
_ELLIPSIS = re.compile(r"\[\s*\.\s?\.\s?\.\s*\]|\.(?: \.){2,}|\.{3,}")
_QUOTATION_MARKS = "\"'"  # every kind of quotation mark, once folded
_OPENING_CLUTTER = " " + _QUOTATION_MARKS + ".,;:"  # ", that …" after an ellipsis
_CLOSING_CLUTTER = " " + _QUOTATION_MARKS + ".,;:!?"

FoldedSpan = tuple[int, int]  # (start, end) in a ReportView's folded text


def split_at_ellipses(needle: str) -> list[str]:
    """The parts of a folded quote between its ellipses; a part of punctuation alone ("A … . … B") carries no words
    and is dropped, and so are the empty parts an ellipsis at either end leaves."""
    return [part for part in (p.strip() for p in _ELLIPSIS.split(needle)) if trimmed(part)]


def trimmed(text: str) -> str:
    """``text`` without quotation marks at either end, punctuation after its last word, and the ",", ";" … that
    an ellipsis leaves before its first word."""
    return text.lstrip(_OPENING_CLUTTER).rstrip(_CLOSING_CLUTTER)


def looser_readings(text: str) -> list[str]:
    """``text`` as it is, then without the quotation marks at its ends, then without the punctuation there too: the
    order in which a quote's ends are set aside, keeping as much of it as stands verbatim."""
    return [r for r in dict.fromkeys((text, text.strip(" " + _QUOTATION_MARKS), trimmed(text))) if r]


def loose_ends(words: list[str]) -> list[str]:
    """A quote's or text's words with the quotation marks and punctuation at its two ends set aside, for comparing
    (the first word keeps what follows it, the last what precedes it)."""
    if not words:
        return words
    loose = [*words]
    loose[0] = loose[0].lstrip(_OPENING_CLUTTER) or loose[0]
    loose[-1] = loose[-1].rstrip(_CLOSING_CLUTTER) or loose[-1]
    return loose


def occurrences(report: ReportView, part: str, lo: int = 0, hi: int | None = None) -> list[FoldedSpan]:
    """Where ``part`` stands in the folded text between ``lo`` and ``hi``: as pasted, else with its ends set
    aside (``looser_readings``)."""
    hi = len(report.normalized) if hi is None else hi
    for variant in looser_readings(part):
        found = [m.span() for m in re.compile(re.escape(variant)).finditer(report.normalized, lo, hi)]
        if found:
            return found
    return []


def reach_end(report: ReportView, after: int) -> int:
    """Where the next part must start by: the end of the ``NEIGHBOUR_PARAGRAPHS``-th paragraph after the one
    holding folded offset ``after`` (the end of the part before)."""
    paragraphs = report.document.paragraphs
    if not paragraphs or not report.offsets:
        return len(report.normalized)
    canonical = report.offsets[min(max(0, after - 1), len(report.offsets) - 1)]
    here = paragraph_at(report.document, canonical).number - 1  # numbers are 1-based and consecutive
    last = paragraphs[min(len(paragraphs) - 1, here + NEIGHBOUR_PARAGRAPHS)]
    return max(after, bisect.bisect_left(report.offsets, last.end))


def reach_start(report: ReportView, at: int) -> int:
    """The folded offset ``NEIGHBOUR_PARAGRAPHS`` paragraphs before the one holding ``at``: where a quote whose
    later parts stand at ``at`` may begin."""
    paragraphs = report.document.paragraphs
    if not paragraphs or not report.offsets:
        return 0
    canonical = report.offsets[min(at, len(report.offsets) - 1)]
    here = paragraph_at(report.document, canonical).number - 1
    first = paragraphs[max(0, here - NEIGHBOUR_PARAGRAPHS)]
    return min(at, bisect.bisect_left(report.offsets, first.start))


def verbatim_chains(report: ReportView, parts: list[str], limit: int) -> list[list[FoldedSpan]]:
    """Every place (up to ``limit``) where all ``parts`` stand verbatim in order, each part starting within
    ``NEIGHBOUR_PARAGRAPHS`` paragraphs of the end of the one before: one chain of spans per place the first part
    stands."""
    # (part index, from where) → the rest of a chain, or None: each is searched once, however many chains reach it
    known: dict[tuple[int, int], list[FoldedSpan] | None] = {}

    def rest_from(k: int, after: int) -> list[FoldedSpan] | None:
        if k == len(parts):
            return []
        if (k, after) not in known:
            known[k, after] = next((
                [span, *rest] for span in occurrences(report, parts[k], after, reach_end(report, after))
                for rest in [rest_from(k + 1, span[1])] if rest is not None), None)
        return known[k, after]

    chains = []
    for first in occurrences(report, parts[0]):
        rest = rest_from(1, first[1])
        if rest is not None:
            chains.append([first, *rest])
            if len(chains) >= limit:
                break
    return chains
