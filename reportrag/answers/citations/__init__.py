"""Citation lookup: from a passage id, a citation anchor, a pasted quote or a reference as people type it
("CEDAW Article 11, paragraph 1 (d)", "concluding observations 36 (e)", "review VII.C") to the exact place in a
report: section, ¶ paragraph, canonical offsets, the paragraphs around it and the line in the original file.

``Citations(corpus)`` folds every report once (past ``places.FOLDED_KEPT`` reports: on demand) and answers all four
kinds of lookup; build one per corpus and keep it (the Service does) rather than one per call. The modules, by job:

- ``places``: the folded reports (``ReportView``, ``CorpusView``) and a span turned into a ``Located``
- ``spans``: where a text stands verbatim in a report, folding only the text around the places that could hold it
- ``lookup``: passage ids and anchors (resolved by content, so they survive re-numbering and re-chunking)
- ``quote_match``: pasted quotes, exactly or fuzzily with a word diff, one verdict each
- ``quote_parts``: quotes cut by ellipses ("…", "[…]"), and the punctuation at a quote's ends
- ``references``: "Article 11, paragraph 1 (d)", "review VII.C", "concluding observations 36 (e)"
- ``paragraphs``: paragraph numbers as citations give them back: "CEDAW/C/KAZ/6, Part I.1, para. 21 (counted)"
- ``formatting``: the CLI's text form
"""

from __future__ import annotations

from dataclasses import replace

from reportrag.answers.citations import lookup as _ids
from reportrag.answers.citations import quote_match as _quotes
from reportrag.answers.citations import references as _references
from reportrag.answers.citations.formatting import format_text, snippet
from reportrag.answers.citations.places import (
    CONTEXT_PARAGRAPHS,
    MAX_PLACES,
    ContextParagraph,
    CorpusView,
    Located,
    ReportView,
    SourcePlace,
    UnknownCitation,
)
from reportrag.answers.citations.quote_match import (
    CLOSE,
    FLOOR,
    MAX_QUOTE_CHARS,
    NOT_FOUND,
    VERBATIM,
    VERBATIM_IN_PARTS,
    Candidate,
    DiffOp,
    QuoteMatch,
    QuotePart,
    diff_text,
    word_diff,
)
from reportrag.answers.citations.references import Reference
from reportrag.core.errors import BadQuery

__all__ = [
    "CLOSE", "CONTEXT_PARAGRAPHS", "FLOOR", "MAX_PLACES", "MAX_QUOTE_CHARS", "NOT_FOUND", "VERBATIM",
    "VERBATIM_IN_PARTS", "Candidate", "Citations", "ContextParagraph", "CorpusView", "DiffOp", "Located",
    "QuoteMatch", "QuotePart", "Reference", "ReportView", "SourcePlace", "UnknownCitation", "diff_text",
    "format_text", "snippet", "word_diff",
]


# a citation is a few words ("CEDAW Article 11, paragraph 1 (d)"); a pasted sentence has more
QUOTE_MIN_WORDS = 6


class Citations(CorpusView):
    """Citation lookup over one corpus (anything with ``documents``, ``passages`` and ``row_of``: a
    ``retrieval.Corpus``). Building it folds every report of a small corpus (40–80 ms each); every lookup after that
    reuses them."""

    def looks_like_id(self, ident: str) -> bool:
        """Whether ``ident`` is shaped like a passage id or an anchor (else it is read as a reference)."""
        return _ids.looks_like_id(self, ident)

    def lookup(self, ident: str) -> Located:
        """A passage id or a citation anchor → its text at its exact place."""
        return _ids.lookup(self, ident)

    def find_quote(self, quote: str, doc: str | None = None) -> QuoteMatch:
        """Where a pasted quote stands: every exact place, each part of a quote cut by ellipses, or the closest
        text with a word diff; ``verdict`` says which."""
        return _quotes.find_quote(self, quote, doc)

    def resolve_reference(self, text: str, doc: str | None = None) -> Reference:
        """A section or concluding-observations reference as typed → its passages."""
        return _references.resolve_reference(self, text, doc)

    def resolve(self, ident: str | None = None, quote: str | None = None,
                doc: str | None = None) -> Located | QuoteMatch | Reference:
        """What ``reportrag cite`` and ``/api/cite`` take: an id or anchor → ``lookup``; other text →
        ``resolve_reference``; ``quote`` → ``find_quote``."""
        if (ident is None) == (quote is None):
            raise BadQuery("cite: give a passage id, anchor or reference, or --quote \"…\" (one of them)")
        if quote is not None:
            return self.find_quote(quote, doc)
        if not ident.strip():
            raise BadQuery("cite: empty id; run `reportrag search` to find passage ids")
        if self.looks_like_id(ident):
            return self.lookup(ident)
        try:
            return self.resolve_reference(ident, doc)
        except UnknownCitation as unknown:
            return self._as_quote(ident, doc, unknown)

    def _as_quote(self, text: str, doc: str | None, unknown: UnknownCitation) -> QuoteMatch:
        """A sentence pasted where a citation goes ("46 crisis centres providing special social services") is
        found as a quote, saying so; text that neither names a place nor stands in a report keeps the error."""
        if len(text.split()) < QUOTE_MIN_WORDS:
            raise unknown
        match = self.find_quote(text, doc)
        if not match.found:
            raise UnknownCitation(f"{str(unknown).rstrip('. ')}. Nor does it stand in a report as a quote (best "
                                  f"{match.similarity:.0f}/100).") from None
        read = "read as a quote: it names no section, paragraph, anchor or passage id"
        return replace(match, note=f"{read}; {match.note}" if match.note else read)
