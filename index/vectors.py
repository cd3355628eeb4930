"""Vector index with faiss: exact inner product up to a size, IVF (inverted lists, flat vectors) above it.

Why IVF and not HNSW above the threshold (eval/bench.py, BENCHMARKS.md §6; 2 CPU cores, 384-d vectors made from
our reports' real embeddings plus noise, the eval questions as queries, single-query search):

- at 1M vectors, IVF-Flat with 2,048 lists reached recall@10 0.979 at nprobe 8 and 0.994 at nprobe 16
  (p50 1.1 / 2.8 ms), while HNSW M=16 (efConstruction 40) took 856 s to build and reached only 0.78 at
  efSearch 256: thousands of near-identical neighbours defeat the graph's greedy walk;
- at 100k both reach ≥ 0.95 under 1 ms (IVF 1,024 lists: 0.975 at nprobe 16; HNSW M=32: 0.985 at efSearch 128);
- the searcher asks an approximate index for ~1,000 candidates, not 10: HNSW must then walk with ef ≥ 1,000,
  IVF only scans its ``nprobe`` lists a little longer;
- IVF adds 8 bytes a vector (ids), HNSW M=32 adds 256 (links); its build is one k-means on a sample plus one
  assignment pass, no graph.

Lists ≈ √n (a power of two) keep both the k-means and the assignment pass short on 2 cores; nprobe 16 was the
cheapest setting at or above recall@10 0.95 at both 100k and 1M with margin. The measured figures of the
current settings are in BENCHMARKS.md.
"""

from __future__ import annotations

import math
from pathlib import Path

import faiss
import numpy as np

# Exact up to 20k vectors: one query costs ~3 ms there (numpy or IndexFlatIP), 8-10 ms at 50k and 34-48 ms at 100k
# (the vectors no longer fit in cache), where IVF answers in ~1.4 ms at recall@10 0.96. The searcher reads its
# threshold from Settings.exact_search_up_to; this is build()'s default and the measured value to use there.
EXACT_UP_TO = 20_000
IVF_NPROBE = 16  # lists scanned a query
IVF_TRAIN_PER_LIST = 40  # k-means sample: 40 vectors a list (faiss warns below 39)
IVF_TRAIN_ITERATIONS = 10
IVF_SEED = 1234


def ivf_lists(n: int) -> int:
    """Inverted lists for ``n`` vectors: the power of two nearest √n, and never fewer than 39 vectors a list."""
    if n < 2 * 39:
        return 1
    return max(1, min(2 ** round(math.log2(math.sqrt(n))), n // 39))


def build(vectors: np.ndarray, *, exact_up_to: int = EXACT_UP_TO) -> faiss.Index:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    if n <= exact_up_to:
        index = faiss.IndexFlatIP(dim)
    else:
        nlist = ivf_lists(n)
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.spherical = True  # unit vectors: centroids on the sphere too
        index.cp.niter = IVF_TRAIN_ITERATIONS
        index.cp.seed = IVF_SEED
        sample = min(n, nlist * IVF_TRAIN_PER_LIST)
        rows = np.random.default_rng(IVF_SEED).choice(n, sample, replace=False) if sample < n else slice(None)
        index.train(vectors[rows])
        index.nprobe = min(IVF_NPROBE, nlist)
    index.add(vectors)
    return index


def search(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` inner products and rows; an approximate index may pad with row -1 (score -inf)."""
    k = max(1, min(k, index.ntotal))
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)


def save(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load(path: Path) -> faiss.Index:
    index = faiss.read_index(str(path))
    if isinstance(index, faiss.IndexIVF):  # the current setting, whatever the file was written with
        index.nprobe = min(IVF_NPROBE, index.nlist)
    return index
