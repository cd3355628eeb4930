"""Passage ids and citation anchors back to their text at its exact place.

Anchors ("cedaw-p296-<hash>") resolve by content, not position: the ¶ number they carry only says where to look
first, so an anchor survives re-numbering and re-chunking. A passage id from an older chunking falls back to the
passage that now holds its paragraph.
"""

from __future__ import annotations

import re

from reportrag.answers.citations.places import CorpusView, Located, UnknownCitation
from reportrag.answers.quotes import hash_of_normalized, parse_anchor

_PASSAGE_ID = re.compile(r"^(?P<doc>.+)-(?P<paragraph>\d{4,})-(?P<hash>[0-9a-f]{10})$")


def looks_like_id(view: CorpusView, ident: str) -> bool:
    ident = ident.strip()
    return ident in view.row_of or parse_anchor(ident) is not None or bool(_PASSAGE_ID.match(ident))


def lookup(view: CorpusView, ident: str) -> Located:
    """A passage id or a citation anchor → its text at its exact place."""
    ident = ident.strip()
    if ident in view.row_of:
        passage = view.passages[view.row_of[ident]]
        return view.located(passage.doc_id, passage.start, passage.end, kind="passage", ident=ident, text=passage.text)
    parsed = parse_anchor(ident)
    if parsed:
        return _resolve_anchor(view, ident, *parsed)
    m = _PASSAGE_ID.match(ident)
    if m:
        return _rechunked(view, ident, m["doc"], int(m["paragraph"]))
    raise UnknownCitation(f"cite: {ident!r} is neither a passage id (cedaw-0296-93c554e931) nor an anchor "
                          "(cedaw-p296-…); run `reportrag search` to find passage ids")


def _resolve_anchor(view: CorpusView, ident: str, doc_id: str, number: int, digest: str) -> Located:
    report = view.report(doc_id, f"anchor {ident!r}")
    # the anchor's own paragraph first, then outwards: a re-numbered report still finds the text, and a
    # sentence repeated in a sidebar resolves to the copy nearest where the anchor was made
    for start, end, paragraph, _ in sorted(report.units, key=lambda u: (abs(u[2] - number), u[3])):
        if hash_of_normalized(report.normalized_slice(start, end)) == digest:
            note = "" if paragraph == number else (
                f"the anchor says ¶{number}; the text now stands at ¶{paragraph} (found by its content)")
            return view.located(doc_id, start, end, kind="anchor", ident=ident, note=note)
    raise UnknownCitation(f"cite: anchor {ident!r} matches no sentence, paragraph or passage of {doc_id!r} "
                          "(the report changed?); paste the quote instead: reportrag cite --quote \"…\"")


def _rechunked(view: CorpusView, ident: str, doc_id: str, number: int) -> Located:
    """A passage id from an older chunking: its ¶ number still says where it stood."""
    view.known(doc_id, f"passage id {ident!r}")
    holder = next((p for p in view.by_doc[doc_id] if number in p.paragraphs), None)
    if holder is None:
        raise UnknownCitation(f"cite: no passage {ident!r}, and {doc_id!r} has no ¶{number}; "
                              "run `reportrag search` to find passage ids")
    note = (f"passage {ident} no longer exists (the report was re-chunked or changed); "
            f"showing {holder.passage_id}, which now holds ¶{number}")
    return view.located(doc_id, holder.start, holder.end, kind="passage", ident=ident, text=holder.text, note=note)
