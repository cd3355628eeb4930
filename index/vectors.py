"""Vector index with faiss: exact inner product at our size, HNSW above a configurable size."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

EXACT_UP_TO = 200_000  # below this many vectors exact search is fast enough and has perfect recall
HNSW_M = 32
HNSW_EF_SEARCH = 128


def build(vectors: np.ndarray, *, exact_up_to: int = EXACT_UP_TO) -> faiss.Index:
    dim = vectors.shape[1]
    if len(vectors) <= exact_up_to:
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = HNSW_EF_SEARCH
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def search(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    k = max(1, min(k, index.ntotal))
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)


def save(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load(path: Path) -> faiss.Index:
    return faiss.read_index(str(path))
