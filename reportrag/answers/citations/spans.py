"""Where a text stands verbatim in a report: every canonical span of it, once quotes, dashes and spacing are folded
(``quotes.normalize``), found by folding only the text around the places that could hold it (``spans_in``) or the
whole report (``spans_of``, over a report folded once).
"""

from __future__ import annotations

import bisect
import re

from reportrag.answers.quotes import normalize

PLAIN = re.compile(r"[^\W_]+")  # letters and digits: folding never changes them


def spans_in(text: str, needle: str) -> list[tuple[int, int]]:
    """What ``ReportView.find`` returns, without folding all of ``text``: every canonical span where ``needle``
    (normalized) stands, overlapping ones too. Folding never changes letters and digits, so a place holds the
    needle's longest run of them verbatim, followed by its other runs in order with only other characters between.
    Only the text around each occurrence of that run that is so followed is folded, wide enough to hold the needle
    either side of it. Where the occurrences are so many that the windows would cover the text, or the needle has
    no letter or digit, the text is folded whole."""
    runs = PLAIN.findall(needle)
    if not runs:
        return fold_and_find(text, needle)
    i = max(range(len(runs)), key=lambda k: len(runs[k]))
    key, rest = runs[i], re.compile(r"[\W_]+".join(map(re.escape, runs[i:])))  # separators match one way only
    hits = []
    at = text.find(key)
    while at >= 0:
        if rest.match(text, at):
            hits.append(at)
        at = text.find(key, at + 1)
    if len(hits) * 2 * (len(needle) + 1) >= len(text):
        return fold_and_find(text, needle)
    spans: set[tuple[int, int]] = set()
    for at in hits:
        spans.update(_spans_around(text, needle, at, len(key)))
    return sorted(spans)


def fold_and_find(text: str, needle: str) -> list[tuple[int, int]]:
    """``spans_in`` by folding the whole text."""
    return spans_of(needle, *normalize(text))


def _spans_around(text: str, needle: str, at: int, width: int) -> list[tuple[int, int]]:
    """The places of ``needle`` in a window of ``text`` around ``text[at:at + width]``, widened until it holds
    more folded characters than the needle either side (or reaches an end of the text), so that every place
    overlapping the key's occurrence lies inside it. Folding a slice gives the whole text's folding there, but at
    its two ends (a whitespace run cut there), which the margin of one character keeps clear of."""
    reach = len(needle) + 8
    while True:
        lo, hi = max(0, at - reach), min(len(text), at + width + reach)
        folded, offsets = normalize(text[lo:hi])
        k = bisect.bisect_left(offsets, at - lo)
        if (lo == 0 or k > len(needle)) and (hi == len(text) or len(folded) - k > len(needle) + width):
            return [(a + lo, b + lo) for a, b in spans_of(needle, folded, offsets)]
        reach *= 2


def spans_of(needle: str, folded: str, offsets: list[int]) -> list[tuple[int, int]]:
    """Canonical spans of every occurrence of ``needle`` in ``folded`` (a ``normalize`` result), overlapping ones
    too."""
    n = len(needle)
    spans = []
    at = folded.find(needle)
    while at >= 0 and n:
        spans.append((offsets[at], offsets[at + n - 1] + 1))
        at = folded.find(needle, at + 1)
    return spans
