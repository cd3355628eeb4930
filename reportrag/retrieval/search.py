"""Hybrid search: dense passage + best-sentence similarity, plus a little BM25, with filters and duplicate collapse.

Why this blend rather than reciprocal rank fusion: on these reports textbook RRF lost to dense alone (BM25 has
little to say about paraphrased questions and equal-weight fusion pushes good dense hits down), while
0.5 × passage cosine + 0.5 × best-sentence cosine + 0.1 × max-normalised BM25 scored best
(see ../shared/RETRIEVAL-NOTES and eval/). The weights are settings; the benchmark measures each mode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import faiss
import numpy as np

from reportrag.core.errors import BadQuery, IndexMismatch
from reportrag.core.records import Document, Hit, Passage
from reportrag.index import document_store as documents
from reportrag.index import search_index as store
from reportrag.index import vectors as vector_index
from reportrag.index.embed import Embedder
from reportrag.retrieval.rerank import ReferenceReranker, Reranker, SectionMap

MAX_QUERY_CHARS = 2000
_IDENTIFIER = re.compile(r"\d|\([a-z]\)")
MODES = ("hybrid+rerank", "hybrid", "dense", "keyword")
RERANK_DEPTH = 50  # fused candidates the rerank stage re-scores
MAX_NAMED = 100
CANDIDATES = 1000  # per source (passages, sentences, keywords) when the vector index is approximate
UNSCORED = np.float32(-10.0)  # below any fused score: cosines are ≥ -1, keyword shares ≥ 0  # passages of sections the question names, added to them


@dataclass(frozen=True)
class Weights:
    passage: float = 0.5
    sentence: float = 0.5
    keyword: float = 0.1
    keyword_identifiers: float = 0.8  # when the query carries numbers or "(e)"-style items, trust keywords more


@dataclass(frozen=True)
class Filters:
    doc: str | None = None
    section: str | None = None  # a label prefix: "Article 11", "VII.C", "Part I"
    concluding_observation: str | None = None  # "36(e)" or "36"

    def allows(self, p: Passage) -> bool:
        if self.doc and p.doc_id != self.doc:
            return False
        if self.section and not _section_matches(p, self.section):
            return False
        if self.concluding_observation:
            wanted = self.concluding_observation.replace(" ", "")
            if not any(r == wanted or r.split("(")[0] == wanted for r in p.concluding_observations):
                return False
        return True


def _section_matches(p: Passage, wanted: str) -> bool:
    label = p.section_label
    return label == wanted or label.startswith(wanted + ",") or label.startswith(wanted + ".") or label.startswith(
        wanted + " "
    ) or any(wanted.lower() in title.lower() for title in p.section)


def clean_query(query: str) -> str:
    """The query as searched: control characters out, whitespace collapsed; empty or huge queries refused."""
    if not isinstance(query, str):
        raise BadQuery("query: must be text")
    text = " ".join("".join(c if c.isprintable() else " " for c in query).split())
    if not text:
        raise BadQuery("query: empty; type a question or some words to search for")
    if len(text) > MAX_QUERY_CHARS:
        raise BadQuery(f"query: {len(text):,} characters, over the {MAX_QUERY_CHARS:,} limit; shorten it")
    return text


class Searcher:
    """Loads the index once; ``search`` is ``batch([q])[0]``."""

    def __init__(self, index_dir, embedder: Embedder, *, weights: Weights = Weights(), reranker: Reranker | None = None) -> None:
        self.embedder = embedder
        self.weights = weights
        self.reranker: Reranker = reranker or ReferenceReranker()
        self.index = store.load(index_dir, model=embedder.name)
        self.documents: dict[str, Document] = {}
        by_id: dict[str, Passage] = {}
        for doc_id in self.index.manifest["corpus"]:
            document, passages = documents.load(index_dir, doc_id)
            self.documents[doc_id] = document
            by_id.update((p.passage_id, p) for p in passages)
        missing = [pid for pid in self.index.passage_ids if pid not in by_id]
        if missing:
            raise IndexMismatch(f"search index and reports disagree ({len(missing)} passages); run 'reportrag ingest'")
        self.passages: list[Passage] = [by_id[pid] for pid in self.index.passage_ids]
        self.row_of = {p.passage_id: i for i, p in enumerate(self.passages)}
        self.sections = SectionMap(self.passages)
        self.copies: dict[str, list[Passage]] = {}
        for p in self.passages:
            if p.duplicate_of:
                self.copies.setdefault(p.duplicate_of, []).append(p)
        # exact faiss index: score every passage with one matrix product; approximate: score faiss's candidates only
        self.exact = isinstance(self.index.passages, faiss.IndexFlat)
        self._first_sentence = np.searchsorted(self.index.sentence_owner, np.arange(len(self.passages) + 1))

    def search(self, query: str, *, k: int = 10, mode: str = "hybrid+rerank", filters: Filters = Filters()) -> list[Hit]:
        return self.batch([query], k=k, mode=mode, filters=filters)[0]

    def batch(self, queries: list[str], *, k: int = 10, mode: str = "hybrid+rerank", filters: Filters = Filters()) -> list[list[Hit]]:
        if mode not in MODES:
            raise BadQuery(f"mode: {mode!r} is not one of {', '.join(MODES)}")
        if k < 1:
            raise BadQuery("k: must be at least 1")
        texts = [clean_query(q) for q in queries]
        vectors = self.embedder.encode(texts) if mode != "keyword" else None
        return [self.rank(t, None if vectors is None else vectors[i], k, mode, filters) for i, t in enumerate(texts)]

    def rank(self, text: str, vector: np.ndarray | None, k: int, mode: str, filters: Filters) -> list[Hit]:
        """Hits for a cleaned query and its vector (callers that need the vector too embed once)."""
        scores = self.scores(text, vector, mode)
        order = np.argsort(-scores, kind="stable")
        if mode == "hybrid+rerank":
            head = list(_first(order, lambda r: filters.allows(self.passages[r]), max(RERANK_DEPTH, 2 * k)))
            named = [r for r in self.sections.named(text) if filters.allows(self.passages[r])]
            head = np.array(list(dict.fromkeys(head + named[:MAX_NAMED])), dtype=np.int64)
            scores = scores.copy()
            scores[head] = self.reranker.rerank(text, [self.passages[r] for r in head], scores[head])
            order = head[np.argsort(-scores[head], kind="stable")]
        hits: list[Hit] = []
        seen: set[str] = set()
        for row in order:
            if scores[row] <= 0 and mode == "keyword":
                break
            passage = self.passages[row]
            if not filters.allows(passage):
                continue
            original_id = passage.duplicate_of or passage.passage_id
            if original_id in seen:  # a sidebar copy of a hit already listed: it is already among its places
                continue
            original = self.passages[self.row_of[original_id]] if original_id in self.row_of else passage
            also = tuple(self.copies.get(original_id, ()))  # every place the same text stands
            seen.add(original_id)
            if len(hits) == k:
                break
            title = self.documents[original.doc_id].info.short_title
            hits.append(Hit(original, float(scores[row]), len(hits) + 1, title, also))
        return hits[:k]

    def sentence_vectors(self, passage: Passage) -> np.ndarray:
        """The stored vectors of a passage's sentences, in order (one per ``passage.sentences``)."""
        row = self.row_of[passage.passage_id]
        return self.index.sentence_vectors[self._first_sentence[row] : self._first_sentence[row + 1]]

    def scores(self, text: str, vector: np.ndarray | None, mode: str) -> np.ndarray:
        """A score for every passage (rows of ``self.passages``); passages an approximate index did not propose
        get ``UNSCORED``."""
        keyword = self.index.keyword.scores(text) if mode != "dense" else None
        if mode == "keyword":
            return keyword.astype(np.float32)
        rows = None if self.exact else self._candidates(vector, keyword)
        passage_cos = self._passage_cos(vector, rows)
        if mode == "dense":
            return passage_cos
        sentence_cos = self._sentence_cos(vector, rows)
        return fuse(passage_cos, sentence_cos, keyword, self.weights, identifiers=has_identifiers(text))

    def _candidates(self, vector: np.ndarray, keyword: np.ndarray | None) -> np.ndarray:
        """Rows worth scoring in a large corpus: faiss's nearest passages and sentences, and the best keyword hits."""
        n = min(CANDIDATES, len(self.passages))
        _, near = vector_index.search(self.index.passages, vector[None, :], n)
        _, near_sentences = vector_index.search(self.index.sentences, vector[None, :], n)
        found = [near[0], self.index.sentence_owner[near_sentences[0][near_sentences[0] >= 0]]]
        if keyword is not None and keyword.any():
            found.append(np.argpartition(-keyword, n - 1)[:n] if n < len(keyword) else np.arange(len(keyword)))
        rows = np.unique(np.concatenate(found))
        return rows[rows >= 0]

    def _passage_cos(self, vector: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        if rows is None:
            return (self.index.passage_vectors @ vector).astype(np.float32)
        out = np.full(len(self.passages), UNSCORED, dtype=np.float32)
        out[rows] = self.index.passage_vectors[rows] @ vector
        return out

    def _sentence_cos(self, vector: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        if rows is None:
            return best_sentence(self.index.sentence_vectors @ vector, self.index.sentence_owner, len(self.passages))
        starts, ends = self._first_sentence[rows], self._first_sentence[rows + 1]
        sentences = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends)] or [np.zeros(0, np.int64)])
        best = best_sentence(self.index.sentence_vectors[sentences] @ vector, self.index.sentence_owner[sentences], len(self.passages))
        out = np.full(len(self.passages), UNSCORED, dtype=np.float32)
        out[rows] = best[rows]
        return out


def _first(rows, keep, n: int):
    """The first ``n`` rows ``keep`` accepts, without testing the rest."""
    taken = 0
    for r in rows:
        if taken == n:
            return
        if keep(r):
            taken += 1
            yield r


def has_identifiers(text: str) -> bool:
    """Numbers or "(e)"-style items in a query: users typing references, where keywords deserve more weight."""
    return bool(_IDENTIFIER.search(text))


def best_sentence(sentence_cos: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Each passage's best sentence similarity (-1 for a passage without sentences)."""
    best = np.full(n, -1.0, dtype=np.float32)
    np.maximum.at(best, owner, sentence_cos.astype(np.float32))
    return best


def fuse(passage_cos: np.ndarray, sentence_cos: np.ndarray, keyword: np.ndarray, weights: Weights, *, identifiers: bool) -> np.ndarray:
    """The hybrid score; a pure function so that BEIR datasets are scored exactly like the reports."""
    top = float(keyword.max()) if keyword.size else 0.0
    weight = weights.keyword_identifiers if identifiers else weights.keyword
    keyword_part = weight * keyword / top if top > 0 else 0.0
    return (weights.passage * passage_cos + weights.sentence * sentence_cos + keyword_part).astype(np.float32)
