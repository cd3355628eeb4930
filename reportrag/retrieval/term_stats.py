"""How rare each word is in the reports: sentence-level document frequencies, for evidence checks."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from reportrag.index.keyword import tokenize


class TermStats:
    def __init__(self, sentences: Iterable[str]) -> None:
        self.df: Counter[str] = Counter()
        self.n = 0
        for sentence in sentences:
            self.df.update(set(tokenize(sentence)))
            self.n += 1

    def idf(self, term: str) -> float:
        return math.log((self.n + 1) / (self.df.get(term, 0) + 0.5))

    def coverage(self, terms: list[str], text: str) -> float:
        """Share of the question's vocabulary (weighted by rarity) that ``text`` carries."""
        return self.coverage_of(terms, token_set(text))

    def coverage_of(self, terms: list[str], present: set[str]) -> float:
        if not terms:
            return 0.0
        total = sum(self.idf(t) for t in terms)
        return sum(self.idf(t) for t in terms if t in present) / total if total > 0 else 0.0


@lru_cache(maxsize=1 << 16)
def token_set(text: str) -> frozenset[str]:
    """The report sentences an answer weighs recur from request to request: tokenized once (a third of an
    answer's own work before)."""
    return frozenset(tokenize(text))
