"""A benchmark's own section of a Markdown file (BENCHMARKS.md), between its start and end markers."""

from __future__ import annotations


def replace_section(text: str, start: str, end: str, section: str) -> str:
    """``text`` with the part from ``start`` through ``end`` replaced by ``section`` (which carries both markers);
    appended at the end when ``text`` has no such part yet."""
    if start in text:
        return text.split(start)[0] + section + text.split(end, 1)[1]
    return text.rstrip() + "\n\n" + section + "\n"
