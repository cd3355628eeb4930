"""A query as searched: tidied, checked, and read for the references a user typed."""

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
