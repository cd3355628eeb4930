"""Search over shards held apart (the replicas of a cluster, or anything that answers the same calls): a scatter
step each holder answers for its own passages, and a gather step that fuses them exactly as one index would.

A holder (``ShardGroup``) keeps some shards' live rows; the router (``ScatterSearcher``) keeps only the reports (for
re-ranking, collapse and answers) and asks every holder:

1. once, its passage ids and its statistics (live passages, total length); per query, the document frequency of
   each query term among its passages: corpus-wide BM25 statistics are the sums;
2. per query, each passage's cosine, best-sentence cosine and BM25 under those statistics — every passage when the
   corpus is small enough to search exactly, else the passages its faiss indexes and keyword scores propose (as
   ``Searcher`` does over one index).

The router lays the parts out in the corpus's canonical row order (reports by id, as one index lays them) and fuses
them with ``scoring.fuse``: the same numbers and the same ranking as ``Searcher`` over one index. Nothing here imports
Ray: a holder may be a plain object (tests) or a Ray Serve replica behind a handle (reportrag/cluster/serving.py).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from reportrag.core.errors import IndexMismatch
from reportrag.core.records import Passage
from reportrag.index import document_store
from reportrag.index import search_index as store
from reportrag.index.keyword import query_tokens
from reportrag.retrieval.corpus import Corpus
from reportrag.retrieval.query import has_identifiers
from reportrag.retrieval.rerank import ReferenceReranker, Reranker
from reportrag.retrieval.scoring import UNSCORED, IndexArrays, Weights, fuse, passage_cosines, sentence_cosines
from reportrag.retrieval.search import CANDIDATES, Searcher, candidate_rows, scores_all
from reportrag.retrieval.term_stats import TermStats


class ShardGroup:
    """Some shards of the index (``names``; all of them when None), their removed reports left out."""

    def __init__(self, index_dir: Path, model: str, names: list[str] | None = None) -> None:
        manifest = store.read_manifest(index_dir, model=model)
        entries = [e for e in manifest["shards"] if names is None or e["name"] in names]
        if names is not None and len(entries) != len(set(names)):
            raise IndexMismatch(f"shards {sorted(set(names) - {e['name'] for e in entries})} are not in the live index")
        shards = [store.read_shard(index_dir, e["name"], model=model) for e in entries]
        self.index = store.view({**manifest, "shards": entries}, shards)
        self.arrays = IndexArrays.sorted_by_owner(self.index.passage_vectors, self.index.sentence_vectors,
                                                  self.index.sentence_owner)
        self.row_of = {pid: i for i, pid in enumerate(self.index.passage_ids)}

    def passage_ids(self) -> list[str]:
        return self.index.passage_ids

    def stats(self) -> tuple[int, int]:
        """Live passages and their total length in keyword tokens."""
        return len(self.index.passage_ids), self.index.keyword.total_length

    def document_frequencies(self, terms: list[str]) -> list[int]:
        return self.index.keyword.document_frequencies(terms)

    def score(self, vector: np.ndarray | None, terms: list[str], df: list[int], n_total: int, average_length: float,
              mode: str, exact: bool, n_candidates: int, also: np.ndarray | None = None,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(rows of this group, their passage cosines, best-sentence cosines, BM25): every row when ``exact`` (or
        in keyword mode), else the rows faiss and the keyword scores propose and the rows ``also`` names (this
        group's own). Parts a mode does not use are empty."""
        keyword = (self.index.keyword.scores_with(terms, df, n_total, average_length) if mode != "dense"
                   else np.zeros(0, np.float32))
        n = len(self.index.passage_ids)
        if mode == "keyword":
            return np.arange(n), np.zeros(0, np.float32), np.zeros(0, np.float32), keyword
        if exact:
            rows = np.arange(n)
        else:
            rows = candidate_rows(self.index, vector, keyword, min(n_candidates, n), also)
        passage = passage_cosines(self.arrays, vector, rows)[rows]
        sentence = sentence_cosines(self.arrays, vector, rows)[rows]
        return rows, passage, sentence, keyword[rows] if keyword.size else keyword

    def sentence_vectors(self, passage_id: str) -> np.ndarray:
        return self.arrays.sentences_of(self.row_of[passage_id])


class ScatterSearcher(Searcher):
    """``Searcher`` whose scores come from ``groups`` (objects with ``ShardGroup``'s methods) that together hold
    every live shard once; re-ranking, filters, collapse and answers are ``Searcher``'s own."""

    def __init__(self, index_dir, embedder, groups: list, *, weights: Weights = Weights(),
                 reranker: Reranker | None = None, rerank_depth: int = 50) -> None:
        self.embedder = embedder
        self.weights = weights
        self.rerank_depth = rerank_depth
        self.reranker = reranker or ReferenceReranker()
        self.groups = groups
        manifest = store.read_manifest(index_dir, model=embedder.name)
        self.manifest = manifest
        documents, passages = {}, []
        # reports by id, each in its record's order: one index's row order
        corpus = manifest["corpus"]
        for doc_id, (document, ps) in zip(corpus, document_store.load_many(index_dir, corpus)):
            documents[doc_id] = document
            passages += ps
        counts = store.sentence_counts(index_dir, manifest, model=embedder.name)  # the shards' files, no vectors
        self.corpus = Corpus(documents, passages, counted=None if counts is None else TermStats.from_counts(counts))
        self.global_rows, self.holder = [], {}
        n_live = total_length = 0
        for g, group in enumerate(groups):
            ids = group.passage_ids()
            missing = [pid for pid in ids if pid not in self.corpus.row_of]
            if missing:
                raise IndexMismatch(f"a shard replica and the reports disagree ({len(missing)} passages); run 'reportrag ingest'")
            self.global_rows.append(np.array([self.corpus.row_of[pid] for pid in ids], dtype=np.int64))
            self.holder.update((pid, g) for pid in ids)
            n, length = group.stats()
            n_live, total_length = n_live + n, total_length + length
        self.group_of, self.local_of = np.zeros(len(passages), np.int64), np.zeros(len(passages), np.int64)
        for g, rows_of in enumerate(self.global_rows):
            self.group_of[rows_of], self.local_of[rows_of] = g, np.arange(len(rows_of))
        if n_live != len(passages) or len(self.holder) != len(passages):
            raise IndexMismatch(f"the shard replicas hold {n_live} passages, the index {len(passages)}; "
                                "every live shard must be held exactly once")
        self.average_length = total_length / n_live if n_live else 1.0
        self.exact = len(passages) <= int(manifest["settings"].get("exact_up_to", 20_000))
        self._pool = ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="reportrag-scatter")

    def scored_rows(self, text: str, vector: np.ndarray | None, mode: str, *, also: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray | None]:
        n = len(self.corpus.passages)
        terms = list(dict.fromkeys(query_tokens(text))) if mode != "dense" else []
        df = [sum(column) for column in zip(*self._each(lambda g: g.document_frequencies(terms)))] if terms else []
        exact = self.exact or scores_all(also, n)
        theirs = {id(g): None if exact else self._theirs(also, i) for i, g in enumerate(self.groups)}
        parts = self._each(lambda g: g.score(vector, terms, df, n, self.average_length, mode, exact,
                                             min(CANDIDATES, n), theirs[id(g)]))
        keyword = np.zeros(n, np.float32)
        passage, sentence = np.full(n, UNSCORED, np.float32), np.full(n, UNSCORED, np.float32)
        scored = []
        for rows_of, (rows, p, s, k) in zip(self.global_rows, parts):
            at = rows_of[np.asarray(rows, dtype=np.int64)]
            if len(k):
                keyword[at] = k
            if len(p):
                passage[at], sentence[at] = p, s
                scored.append(at)
        rows = None if exact or mode == "keyword" else np.unique(np.concatenate(scored or [np.zeros(0, np.int64)]))
        if mode == "keyword":
            return keyword, rows
        if mode == "dense":
            return passage, rows
        return fuse(passage, sentence, keyword, self.weights, identifiers=has_identifiers(text)), rows

    def _theirs(self, rows: np.ndarray | None, group: int) -> np.ndarray | None:
        """Of corpus ``rows``, those group number ``group`` holds, as its own rows (None: none asked for)."""
        if rows is None:
            return None
        rows = np.asarray(rows, dtype=np.int64)
        return self.local_of[rows[self.group_of[rows] == group]]

    def _each(self, call) -> list:
        """``call`` on every group at once (remote groups answer in parallel), results in group order."""
        if len(self.groups) == 1:
            return [call(self.groups[0])]
        return list(self._pool.map(call, self.groups))

    def sentence_vectors(self, passage: Passage) -> np.ndarray:
        return self.groups[self.holder[passage.passage_id]].sentence_vectors(passage.passage_id)
