"""Ranking: a query's scores over the corpus (scoring.py), then filters, re-ranking and duplicate collapse.

``Searcher`` joins the three things a search needs, each kept apart: the ``Corpus`` (what is ranked), the stored
index (vectors, faiss, BM25) and the embedder; ``search`` is ``batch([q])[0]``.
"""

from __future__ import annotations

import numpy as np

from reportrag.core.errors import BadQuery
from reportrag.core.records import Document, Hit, Passage
from reportrag.index import search_index
from reportrag.index.embed import Embedder
from reportrag.retrieval.corpus import Corpus
from reportrag.retrieval.filters import Filters
from reportrag.retrieval.query import MAX_QUERY_CHARS, clean_query, has_identifiers
from reportrag.retrieval.rerank import ReferenceReranker, Reranker
from reportrag.retrieval.scoring import MODES, IndexArrays, Weights, scores
from reportrag.retrieval.term_stats import TermStats

__all__ = ["MAX_QUERY_CHARS", "MODES", "Filters", "Searcher", "Weights", "clean_query"]

MAX_NAMED = 100  # passages of sections the question names, added to them
CANDIDATES = 1000  # per source (passages, sentences, keywords) when the vector index is approximate
# Past this share of the corpus named to be scored (a broad filter), every row is scored instead: one product per
# shard streams its mapped vectors, where gathering so many rows would copy them (a 100,000-row gather of 384-d
# passages and their sentences: some 500 MiB a query)
SCORE_ALL_ABOVE = 0.1


class Searcher:
    def __init__(self, index_dir, embedder: Embedder, *, weights: Weights = Weights(),
                 reranker: Reranker | None = None, rerank_depth: int = 50) -> None:
        self.embedder = embedder
        self.weights = weights
        self.rerank_depth = rerank_depth  # fused candidates the rerank stage re-scores
        self.reranker: Reranker = reranker or ReferenceReranker()
        self.index = search_index.load(index_dir, model=embedder.name)
        counts = self.index.sentence_counts
        self.corpus = Corpus.load(index_dir, list(self.index.manifest["corpus"]), self.index.passage_ids,
                                  counted=None if counts is None else TermStats.from_counts(counts),
                                  built=self.index.manifest["records"])
        self.arrays = IndexArrays.sorted_by_owner(
            self.index.passage_vectors, self.index.sentence_vectors, self.index.sentence_owner
        )
        # small enough: score every passage with one matrix product; larger: score the shards' faiss candidates only
        self.exact = len(self.index.passage_ids) <= self.index.exact_up_to

    @property
    def documents(self) -> dict[str, Document]:
        return self.corpus.documents

    @property
    def passages(self) -> list[Passage]:
        return self.corpus.passages

    def search(self, query: str, *, k: int = 10, mode: str = "hybrid+rerank", filters: Filters = Filters()) -> list[Hit]:
        return self.batch([query], k=k, mode=mode, filters=filters)[0]

    def batch(self, queries: list[str], *, k: int = 10, mode: str = "hybrid+rerank",
              filters: Filters = Filters()) -> list[list[Hit]]:
        if mode not in MODES:
            raise BadQuery(f"mode: {mode!r} is not one of {', '.join(MODES)}")
        if k < 1:
            raise BadQuery("k: must be at least 1")
        texts = [clean_query(q) for q in queries]
        vectors = self.embedder.encode(texts) if mode != "keyword" else None
        return [self.rank(t, None if vectors is None else vectors[i], k, mode, filters) for i, t in enumerate(texts)]

    def rank(self, text: str, vector: np.ndarray | None, k: int, mode: str, filters: Filters) -> list[Hit]:
        """Hits for a cleaned query and its vector (callers that need the vector too embed once)."""
        named = self.corpus.sections.named(text) if mode == "hybrid+rerank" else []
        scored, rows = self.scored_rows(text, vector, mode, also=self._always_scored(filters, named))
        if mode == "keyword":
            rows = np.flatnonzero(scored > 0)  # the ranking stops at the first passage without a keyword match
        # best first: past the threshold only the scored rows (ascending, so ties keep row order as over all rows:
        # the same prefix, without sorting a million slots)
        order = np.argsort(-scored, kind="stable") if rows is None else rows[np.argsort(-scored[rows], kind="stable")]
        if mode == "hybrid+rerank":
            scored, order = self._rerank(text, scored, order, k, filters, named)
        return self._collapse(order, scored, k, mode, filters)

    def scores(self, text: str, vector: np.ndarray | None, mode: str, *, also: np.ndarray | None = None) -> np.ndarray:
        """A score for every passage (rows of ``corpus.passages``); passages an approximate index did not
        propose get ``UNSCORED``, except the rows ``also`` names, which are always scored."""
        return self.scored_rows(text, vector, mode, also=also)[0]

    def scored_rows(self, text: str, vector: np.ndarray | None, mode: str, *, also: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``scores``, and the rows actually scored, ascending (None: every row)."""
        keyword = self.index.keyword.scores(text) if mode != "dense" else None
        exact = self.exact or mode == "keyword" or scores_all(also, len(self.corpus.passages))
        rows = None if exact else self._candidates(vector, keyword, also)
        fused = scores(self.arrays, mode, vector, keyword, self.weights, identifiers=has_identifiers(text), rows=rows)
        return fused, rows

    def _always_scored(self, filters: Filters, named: list[int]) -> np.ndarray | None:
        """Rows an approximate search scores whatever faiss proposes: every row the filters allow (else a
        filtered search past ``exact_search_up_to`` ranks unscored rows: its report's or section's passages
        that were not among the corpus-wide candidates), and the passages of the sections the question names."""
        if self.exact:
            return None
        rows = [self.corpus.allowed_rows(filters)] if filters.active() else []
        return np.concatenate([*rows, np.asarray(named[:MAX_NAMED], dtype=np.int64)])

    def sentence_vectors(self, passage: Passage) -> np.ndarray:
        """The stored vectors of a passage's sentences, in order (one per ``passage.sentences``)."""
        return self.arrays.sentences_of(self.corpus.row_of[passage.passage_id])

    def _rerank(self, text: str, scored: np.ndarray, order: np.ndarray, k: int, filters: Filters, named: list[int]):
        """Re-score the best fused candidates, plus the passages of sections the question names."""
        passages = self.corpus.passages
        head = list(_first(order, lambda r: filters.allows(passages[r]), max(self.rerank_depth, 2 * k)))
        named = [r for r in named if filters.allows(passages[r])]
        head = np.array(list(dict.fromkeys(head + named[:MAX_NAMED])), dtype=np.int64)
        scored = scored.copy()
        scored[head] = self.reranker.rerank(text, [passages[r] for r in head], scored[head])
        return scored, head[np.argsort(-scored[head], kind="stable")]

    def _collapse(self, order, scored: np.ndarray, k: int, mode: str, filters: Filters) -> list[Hit]:
        """The first k allowed rows, a sidebar copy folded into its original (listed among its places)."""
        hits: list[Hit] = []
        seen: set[str] = set()
        for row in order:
            if scored[row] <= 0 and mode == "keyword":
                break
            passage = self.corpus.passages[row]
            if not filters.allows(passage):
                continue
            original = self.corpus.original(passage)
            original_id = passage.duplicate_of or passage.passage_id
            if original_id in seen:  # a sidebar copy of a hit already listed: it is already among its places
                continue
            also = tuple(self.corpus.copies.get(original_id, ()))  # every place the same text stands
            seen.add(original_id)
            if len(hits) == k:
                break
            title = self.corpus.documents[original.doc_id].info.short_title
            hits.append(Hit(original, float(scored[row]), len(hits) + 1, title, also))
        return hits

    def _candidates(self, vector: np.ndarray, keyword: np.ndarray | None, also: np.ndarray | None) -> np.ndarray:
        """Rows worth scoring in a large corpus: faiss's nearest passages and sentences, the best keyword hits, and
        the rows ``also`` names."""
        return candidate_rows(self.index, vector, keyword, min(CANDIDATES, len(self.corpus.passages)), also)


def candidate_rows(index: search_index.SearchIndex, vector: np.ndarray, keyword: np.ndarray | None, n: int,
                   also: np.ndarray | None = None) -> np.ndarray:
    """The rows of ``index`` (a corpus, or one holder's shards) worth scoring past the exact-search threshold,
    ascending: each shard's ``n`` nearest passages and sentences, the ``n`` best keyword hits, and the rows
    ``also`` names."""
    found = [index.nearest(vector, n), *([] if also is None else [np.asarray(also, dtype=np.int64)])]
    if keyword is not None and keyword.any():
        found.append(np.argpartition(-keyword, n - 1)[:n] if n < len(keyword) else np.arange(len(keyword)))
    return np.unique(np.concatenate(found))


def scores_all(also: np.ndarray | None, n: int) -> bool:
    """Whether the rows named to be scored are so many that scoring every row costs less."""
    return also is not None and len(also) > SCORE_ALL_ABOVE * n


def _first(rows, keep, n: int):
    """The first ``n`` rows ``keep`` accepts, without testing the rest."""
    taken = 0
    for r in rows:
        if taken == n:
            return
        if keep(r):
            taken += 1
            yield r
