"""A report's table of contents read for page numbers: section label → the printed page it starts on.

The PDF extraction glues each page number to its title's last word ("…Ombudsman"11, "…until 202630" for "until
2026", page 30) and leaves it off many entries; an entry may run over several lines. Labels follow the report's
own numbering: "II" for a part, "VII.E" for a lettered section of part VII.
"""

from __future__ import annotations

import re

_PART = re.compile(r"(?P<n>[IVXLC]+)\.\s+\S")
_LETTER = re.compile(r"(?P<n>[A-Z])\.\s+\S")
_TRAILING = re.compile(r"(?<![\d.,])(\d+)\s*$")
_YEAR = re.compile(r"(?:19|20)\d\d")
_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


def roman(numeral: str) -> int:
    values = [_ROMAN[c] for c in numeral]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def contents_block(text: str) -> list[str]:
    """The lines between a "CONTENTS" heading and the first repeated entry (where the body begins)."""
    lines = text.splitlines()
    start = next((i + 1 for i, line in enumerate(lines) if line.strip().upper() in ("CONTENTS", "TABLE OF CONTENTS")), None)
    if start is None:
        return []
    block: list[str] = []
    for line in lines[start:]:
        if not line.strip():
            if block and any(_PART.match(b) for b in block):
                break
            continue
        block.append(line.strip())
    return block


def page_of(title: str, previous: int) -> int | None:
    """The page number glued to an entry's end, or None: a bare year ends a title, not a page; a year glued to a
    page ("202630") gives the page; a page never goes back before the previous entry's."""
    m = _TRAILING.search(title)
    if not m:
        return None
    digits = m.group(1)
    if len(digits) >= 4:
        if not _YEAR.match(digits):
            return None
        digits = digits[4:]
    if not digits or len(digits) > 3:
        return None
    page = int(digits)
    return page if page >= max(previous, 1) else None


def entries(lines: list[str]) -> list[tuple[str, str]]:
    """(label, text) of each entry, continuation lines joined; a letter after part N is section "N.<letter>"."""
    out: list[tuple[str, str]] = []
    part, last_letter = "", ""
    for line in lines:
        letter, numeral = _LETTER.match(line), _PART.match(line)
        # "I." after "H." is the letter I; after a part's letters end, a numeral that follows its part is a part
        is_letter = letter and (not numeral or (part and last_letter and ord(letter["n"]) == ord(last_letter) + 1))
        if is_letter:
            last_letter = letter["n"]
            out.append((f"{part}.{letter['n']}" if part else letter["n"], line))
        elif numeral and (not part or roman(numeral["n"]) == roman(part) + 1):
            part, last_letter = numeral["n"], ""
            out.append((part, line))
        elif out:
            out[-1] = (out[-1][0], f"{out[-1][1]} {line}")
    return out


def contents_pages(text: str) -> dict[str, int]:
    """Section label → first printed page, for the entries of ``text``'s table of contents that give one."""
    pages: dict[str, int] = {}
    previous = 0
    for label, entry in entries(contents_block(text)):
        page = page_of(entry, previous)
        if page is not None:
            pages[label] = previous = page
    return pages
