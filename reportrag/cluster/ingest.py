"""The driver of a distributed ingest: ``reportrag ingest --cluster ADDRESS``.

1. Reading (``reading.py``): one Ray task per report to build; each stores its report in the index folder.
2. Embedding (``pool.py``): the texts of the reports the search index lacks that the embedding cache does not hold
   yet, in batches, on an actor pool. Each batch's vectors are added to the cache as they arrive and saved as a new
   segment every ``save_every`` texts (and at the end): after a crash, a rerun embeds only what is missing.
3. Indexing: the single-machine ``update_search_index``, with an embedder that finds every text in the cache, so
   the shard written is the single-machine format, in the index folder. Should it meet a text not cached after
   all, that text is embedded on the pool as well (counted in ``late``), never on this machine.

The index folder, the embedding cache and the reports are shared storage named by a path: every node reads and
writes them under the same absolute path (an NFS mount, a cluster file system, or one machine's disk for a local
cluster). The driver holds the index folder's writer lock throughout, as a single-machine ingest does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reportrag.cluster.connect import connected, import_ray
from reportrag.cluster.pool import EmbeddingPool
from reportrag.cluster.reading import read_all
from reportrag.core.errors import ReportragError
from reportrag.core.files import writer_lock
from reportrag.core.settings import Settings
from reportrag.index import document_store as documents
from reportrag.index.build import embedding_texts
from reportrag.index.embed import EmbeddingCache
from reportrag.service.ingesting import (
    IngestResult,
    ingest_items,
    make_embedder,
    reports_to_index,
    update_search_index,
)

SAVE_EVERY = 4096  # texts per cache segment written while the pool embeds ...
SAVE_AFTER_S = 30  # ... or fewer, when the last save is this old


@dataclass
class ClusterIngestResult(IngestResult):
    embedded: int = 0  # texts embedded on the actor pool in this run
    batches: int = 0
    retried: int = 0  # batches sent again after their actor was lost
    late: int = 0  # texts the indexing step found uncached (embedded on the pool too); 0 when all went to plan
    actors: int = 0  # embedding actors started
    nodes: int = 0  # nodes an embedding actor answered from


def ingest_on_cluster(settings: Settings, paths: list[Path] | None = None,
                      progress: Callable[[str], None] = lambda _: None, *, address: str | None = None,
                      batch: int | None = None, save_every: int = SAVE_EVERY, pool_size: int | None = None,
                      on_batch: Callable[[int, dict], None] = lambda n, worker: None) -> ClusterIngestResult:
    """Ingest the bundled reports (no paths) or the given files and folders on the Ray cluster at ``address``
    (default: the ``cluster_address`` setting). ``on_batch(n, worker)`` is called after the n-th batch is cached,
    ``worker`` saying where the actor that embedded it runs (``{"node": node id, "pid": process id, ...}``)."""
    address = address or settings.cluster.cluster_address
    if not address:
        raise ReportragError("ingest --cluster: no address; give --cluster HOST:PORT or set REPORTRAG_CLUSTER_ADDRESS")
    import_ray()  # missing: its one-line error before anything is touched
    settings = _absolute(settings)
    with connected(address) as ray, writer_lock(settings.index.index_dir):
        items = [(info, Path(path).resolve()) for info, path in ingest_items(settings, paths)]
        result = ClusterIngestResult(**vars(read_all(ray, settings, items, progress)))
        pool = EmbeddingPool(ray, settings, batch=batch or settings.cluster.cluster_batch, size=pool_size,
                             progress=progress)
        try:
            embedder = PoolEmbedder(settings, pool)
            _embed_missing(settings, embedder, pool, progress, save_every, on_batch)
            update_search_index(settings, bool(result.added), embedder, progress)
        finally:
            pool.close()
        result.embedded, result.batches, result.retried = pool.embedded, pool.batches, pool.retried
        result.late, result.actors, result.nodes = embedder.late, pool.started, len(pool.nodes)
    return result


class PoolEmbedder:
    """The model in force as the index build sees it (its name and dimension, read from its folder without loading
    it), embedding on the pool whatever the cache lacks."""

    def __init__(self, settings: Settings, pool: EmbeddingPool) -> None:
        local = make_embedder(settings)  # reads the folder's config only; the model never loads here
        self.name, self.dimension, self.max_seq_length = local.name, local.dimension, local.max_seq_length
        self.pool = pool
        self.late = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), np.float32)

        def put(start: int, _: list[str], batch: np.ndarray) -> None:
            vectors[start : start + len(batch)] = batch

        if texts:
            self.late += len(texts)
            self.pool.run(texts, put)
        return vectors


def _embed_missing(settings: Settings, embedder: PoolEmbedder, pool: EmbeddingPool, progress, save_every: int,
                   on_batch: Callable[[int, dict], None]) -> None:
    """The texts of the reports the search index lacks, those the cache does not hold embedded on the pool and
    saved to the cache as they arrive."""
    texts = []
    for doc_id in reports_to_index(settings, embedder.name):
        try:
            passage_texts, sentence_texts, _ = embedding_texts([documents.load(settings.index.index_dir, doc_id)])
        except ReportragError:
            continue  # a damaged record: the indexing step says so, as a single-machine ingest does
        texts += passage_texts + sentence_texts
    cache = EmbeddingCache(settings.index.cache_dir / "embeddings", embedder.name, embedder.dimension)
    missing = cache.uncached(texts)
    if not missing:
        return
    progress(f"cluster: embedding {len(missing)} of {len(texts)} texts on {pool.describe(len(missing))}, "
             f"{pool.batch} a batch")
    pending, saved = 0, time.monotonic()

    def arrived(start: int, batch: list[str], vectors: np.ndarray) -> None:
        nonlocal pending, saved
        cache.embed(batch, _Given(batch, vectors, embedder))
        pending += len(batch)
        if pending >= save_every or time.monotonic() - saved > SAVE_AFTER_S:
            cache.save()
            pending, saved = 0, time.monotonic()
        progress(f"cluster: {pool.embedded}/{len(missing)} texts embedded")
        on_batch(pool.batches, pool.answered_by)

    pool.run(missing, arrived)
    cache.save()


class _Given:
    """An embedder that already has the vectors: how a batch from the pool enters the cache."""

    def __init__(self, texts: list[str], vectors: np.ndarray, model: PoolEmbedder) -> None:
        self._rows = dict(zip(texts, vectors))
        self.name, self.dimension, self.max_seq_length = model.name, model.dimension, model.max_seq_length

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray([self._rows[t] for t in texts], dtype=np.float32).reshape(len(texts), self.dimension)


def _absolute(settings: Settings) -> Settings:
    """The settings with every path absolute: tasks and actors run in other processes, on other nodes."""
    changes = {"index_dir": settings.index.index_dir, "cache_dir": settings.index.cache_dir,
               "models_dir": settings.index.models_dir, "reports_manifest": settings.ingest.reports_manifest}
    if settings.index.model_path:
        changes["model_path"] = settings.index.model_path
    return settings.but(**{k: Path(v).resolve() for k, v in changes.items()})
