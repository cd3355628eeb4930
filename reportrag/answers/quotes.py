"""Finding a quote in a report the way a reader pastes it: curly or straight quotes, any dash, any spacing.

``normalize`` maps each character to a canonical form and keeps, for every normalized character, the offset of
the canonical-text character it came from, so a match in normalized text maps back to exact report offsets.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

_FOLD = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2007": " ", "\u2026": "...",
})


def normalize(text: str) -> tuple[str, list[int]]:
    """(normalized text, offset in ``text`` of each normalized character). Whitespace runs become one space;
    quotes and dashes fold to ASCII; the ends are stripped."""
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        folded = ch.translate(_FOLD)
        if folded.isspace():
            if out and out[-1] != " ":
                out.append(" ")
                offsets.append(i)
            continue
        for c in folded:
            out.append(c)
            offsets.append(i)
    while out and out[-1] == " ":
        out.pop()
        offsets.pop()
    return "".join(out), offsets


@lru_cache(maxsize=1 << 16)
def normalized(text: str) -> str:
    """``normalize``'s text alone; memoized: answers normalize the same report sentences request after request."""
    return normalize(text)[0]


def find_exact(quote: str, text: str) -> list[tuple[int, int]]:
    """Every place ``quote`` stands in ``text`` once both are normalized, as (start, end) offsets in ``text``."""
    needle = normalized(quote)
    if not needle:
        return []
    haystack, offsets = normalize(text)
    spans = []
    for m in re.finditer(re.escape(needle), haystack):
        start, last = offsets[m.start()], offsets[m.end() - 1]
        spans.append((start, last + 1))
    return spans


def quote_hash(quote: str) -> str:
    """Content hash of a quote, insensitive to how quotes, dashes and spaces were typed."""
    return hash_of_normalized(normalized(quote))


def hash_of_normalized(folded: str) -> str:
    """``quote_hash`` of text already normalized (anchor lookup hashes slices of a report folded once)."""
    return hashlib.sha1(folded.encode("utf-8")).hexdigest()[:10]


def anchor(doc_id: str, paragraph: int, quote: str) -> str:
    """A citation anchor that survives re-chunking and re-ingestion: report + paragraph + content hash."""
    return f"{doc_id}-p{paragraph}-{quote_hash(quote)}"


_ANCHOR = re.compile(r"^(?P<doc>.+)-p(?P<paragraph>\d+)-(?P<hash>[0-9a-f]{10})$")


def parse_anchor(text: str) -> tuple[str, int, str] | None:
    m = _ANCHOR.match(text.strip())
    return (m["doc"], int(m["paragraph"]), m["hash"]) if m else None
