"""Canonical text built from slices of a source text, with the map back to it.

Cleaning never rewrites characters: it keeps some source characters, drops others (markup, endnote marks)
and inserts a few separators (a space where a broken line is joined, a blank line between paragraphs).
Every kept character remembers its source offset, so a canonical span maps back to the untouched file.
"""

from __future__ import annotations

import bisect

from reportrag.core.records import Segment


class TextBuilder:
    """Appends source characters and synthetic separators; records where each came from."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._chars: list[str] = []
        self._origin: list[int] = []  # source offset per canonical char, -1 for inserted ones

    def __len__(self) -> int:
        return len(self._chars)

    def keep(self, start: int, end: int) -> None:
        self._chars.extend(self.source[start:end])
        self._origin.extend(range(start, end))

    def insert(self, text: str) -> None:
        self._chars.extend(text)
        self._origin.extend([-1] * len(text))

    def text(self) -> str:
        return "".join(self._chars)

    def segments(self) -> list[Segment]:
        """Run-length compress the per-character origins into contiguous segments."""
        segments: list[Segment] = []
        run_start = None
        for i, origin in enumerate(self._origin):
            continues = run_start is not None and origin == self._origin[i - 1] + 1 and origin >= 0
            if continues:
                continue
            if run_start is not None:
                segments.append(Segment(run_start, self._origin[run_start], i - run_start))
            run_start = i if origin >= 0 else None
        if run_start is not None:
            segments.append(Segment(run_start, self._origin[run_start], len(self._origin) - run_start))
        return segments


def to_source(segments: list[Segment], start: int, end: int) -> list[tuple[int, int]]:
    """Source spans covering canonical ``[start, end)``, in canonical order (separators are skipped)."""
    starts = [s.start for s in segments]
    spans: list[tuple[int, int]] = []
    i = max(bisect.bisect_right(starts, start) - 1, 0)
    while i < len(segments) and segments[i].start < end:
        seg = segments[i]
        lo, hi = max(start, seg.start), min(end, seg.start + seg.length)
        if lo < hi:
            spans.append((seg.source_start + lo - seg.start, seg.source_start + hi - seg.start))
        i += 1
    return spans
