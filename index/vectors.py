"""Vector index with faiss: exact inner product up to a size, IVF (inverted lists, flat vectors) above it.

Why IVF and not HNSW above the threshold (eval/bench/, BENCHMARKS.md §6: 2 CPU cores; 384-d vectors made from our
reports' real embeddings plus noise; the eval questions as queries, one at a time; recall@10 against exact search):

- 1M vectors: IVF-Flat, 1,024 lists, nprobe 16: built in 41 s, recall 0.962 at p50 3.2 ms. HNSW M=32
  (efConstruction 80) took 187 s to build and reached only 0.949 at efSearch 512; M=16 (efConstruction 40),
  104 s and 0.857: thousands of near-identical neighbours defeat the graph's greedy walk;
- 100k vectors: IVF, 256 lists, nprobe 16: 2 s, recall 0.961 at 1.3 ms; HNSW M=32 reaches 0.968 at 0.35 ms
  but builds 8× longer (16 s);
- the searcher asks an approximate index for ~1,000 candidates, not 10: IVF scans the same lists (p50 1.7 ms at
  100k, 3.6 ms at 1M), while HNSW would have to walk with efSearch ≥ 1,000;
- memory: IVF adds 8 bytes a vector (ids); HNSW adds 128 (M=16) to 256 (M=32) bytes of links.

Lists ≈ √n (a power of two) keep the k-means and the assignment pass short on 2 cores; nprobe 16 is the cheapest
setting at recall@10 ≥ 0.95 at both 100k and 1M (nprobe 32: 0.98-0.99 at twice the time, if margin is wanted).
"""

from __future__ import annotations

import math
from pathlib import Path

import faiss
import numpy as np

# Exact up to 20k vectors: a single exact query costs 1.6 ms there (numpy; IndexFlatIP 3.3 ms), 4.1 / 8.6 ms at 50k
# and 8.3 / 18 ms at 100k, while IVF answers in 1-1.5 ms at recall@10 0.96. The searcher reads its threshold from
# Settings.exact_search_up_to; this is build()'s default.
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
    """A stored index, its vectors memory-mapped from the file, not copied into this process (shards are
    immutable: nothing is ever added to a loaded index, which faiss refuses by aborting). The pages are the OS's
    to share between the processes serving one index and to reclaim: an IVF index of 200,000 vectors of 384 floats
    added 3 MiB to the process's own (anonymous) memory instead of 297 MiB, with the same search results."""
    index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
    if isinstance(index, faiss.IndexIVF):  # the current setting, whatever the file was written with
        index.nprobe = min(IVF_NPROBE, index.nlist)
    return index
