"""How rare each word is in the reports: sentence-level document frequencies, for evidence checks."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache

import numpy as np

from reportrag.index.keyword import Postings, tokenize, with_spellings

IDF_KEPT = 1 << 16  # terms whose weight is remembered: questions reuse a few thousand words


class TermStats:
    """``n`` sentences and how many of them hold a term (``frequency``): counted from the texts (``over``), or summed
    from the per-report counts each shard of the index keeps (``from_counts``), so a corpus of a million passages
    is never tokenized again to answer its first question."""

    def __init__(self, frequency: Callable[[str], int], n: int) -> None:
        self.frequency = frequency
        self.n = n
        self._idf: dict[str, float] = {}

    @classmethod
    def over(cls, sentences: Iterable[str]) -> TermStats:
        df: Counter[str] = Counter()
        n = 0
        for sentence in sentences:
            df.update(set(tokenize(sentence)))
            n += 1
        return cls(lambda term: df.get(term, 0), n)

    @classmethod
    def from_counts(cls, parts: list[tuple[Postings, np.ndarray]]) -> TermStats:
        """The statistics of the live reports of several shards: ``parts`` pairs each shard's per-report sentence
        counts (``Postings.counted``: rows are reports) with a mask of its live reports."""

        def frequency(term: str) -> int:
            total = 0
            for counts, live in parts:
                found = counts.postings(term)
                if found is not None:
                    total += int(found[1][live[found[0]]].sum(dtype=np.int64))  # whole counts: exact past 2**24
            return total

        return cls(frequency, sum(int(counts.lengths[live].sum(dtype=np.int64)) for counts, live in parts))

    def idf(self, term: str) -> float:
        found = self._idf.get(term)
        if found is None:
            if len(self._idf) >= IDF_KEPT:
                self._idf.clear()
            found = self._idf[term] = math.log((self.n + 1) / (self.frequency(term) + 0.5))
        return found

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
    return frozenset(with_spellings(tokenize(text)))
