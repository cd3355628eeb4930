"""A query as searched: tidied, checked, read for the references a user typed, and embedded."""

from __future__ import annotations

import re

from reportrag.core.errors import BadQuery

MAX_QUERY_CHARS = 2000
_IDENTIFIER = re.compile(r"\d|\([a-z]\)")


def tidy(query: str) -> str:
    """Control characters out, whitespace collapsed (BEIR's queries go through this too, without the checks)."""
    return " ".join("".join(c if c.isprintable() else " " for c in query).split())


def clean_query(query: str) -> str:
    """The query as searched: tidied; empty or huge queries refused."""
    if not isinstance(query, str):
        raise BadQuery("query: must be text")
    text = tidy(query)
    if not text:
        raise BadQuery("query: empty; type a question or some words to search for")
    if len(text) > MAX_QUERY_CHARS:
        raise BadQuery(f"query: {len(text):,} characters, over the {MAX_QUERY_CHARS:,} limit; shorten it")
    return text


def has_identifiers(text: str) -> bool:
    """Numbers or "(e)"-style items in a query: users typing references, where keywords deserve more weight."""
    return bool(_IDENTIFIER.search(text))


class QueryVectors:
    """The vectors of the texts one answer searches with, embedded together: under load each pass of the model
    waits for a batch, and an answer that embedded its question, then a topic, then a query paid that wait three
    times. A text not embedded up front is embedded when asked for."""

    def __init__(self, embedder, texts: list[str]) -> None:
        self.embedder = embedder
        texts = list(dict.fromkeys(texts))
        self._vectors = dict(zip(texts, embedder.encode(texts)))

    def __call__(self, text: str):
        if text not in self._vectors:
            self._vectors[text] = self.embedder.encode([text])[0]
        return self._vectors[text]
