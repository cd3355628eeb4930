"""Score our retrieval on a BEIR-layout data set the way BEIR / pytrec_eval do (reading: beir_data.py; reporting:
beir_report.py).

Layout: ``corpus.jsonl`` (``{"_id", "title", "text"}``), ``queries.jsonl`` (``{"_id", "text"}``) and
``qrels/<split>.tsv`` (a ``query-id<TAB>corpus-id<TAB>score`` header, then one judgement a line).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from reportrag.eval.metrics import mrr_at_k, ndcg_at_k_graded, recall_at_k_ids

from reportrag.retrieval.query import tidy

from reportrag.eval.beir_data import (  # noqa: F401  (load_beir, dataset_name: this module's public face)
    Corpus,
    Qrels,
    _sha256,
    dataset_name,
    default_cache_dir,
    doc_sentences,
    doc_text,
    load_beir,
)
from reportrag.eval.beir_report import (  # noqa: F401
    format_markdown,
    published_references,
    without_per_query,
    write_results,
)


def evaluate_beir(
    search: Callable[[list[str]], list[list[str]]],
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    k_values: Sequence[int] = (10, 100),
) -> dict[str, Any]:
    """Mean nDCG@k and Recall@k over the judged queries, for each k in ``k_values``.

    ``search`` gets all query texts in one batch and returns ranked corpus ids for each. As in BEIR, a hit whose
    id equals its query's id is dropped. A query with no hits scores 0 (pytrec_eval would leave it out).
    Returns ``{"n_queries", "ndcg@k", "recall@k", …, "per_query": {qid: {metric: value}}}``.
    """
    qids = [qid for qid in queries if qid in qrels]
    if not qids:
        raise ValueError("no query has relevance judgements")
    results = search([queries[qid] for qid in qids])
    if len(results) != len(qids):
        raise ValueError(f"search returned {len(results)} result lists for {len(qids)} queries")
    depth = max(k_values)
    per_query: dict[str, dict[str, float]] = {}
    for qid, ranked in zip(qids, results):
        ranked = [doc for doc in ranked if doc != qid][:depth]
        scores: dict[str, float] = {}
        for k in k_values:
            scores[f"ndcg@{k}"] = ndcg_at_k_graded(ranked, qrels[qid], k)
            scores[f"recall@{k}"] = recall_at_k_ids(ranked, qrels[qid], k)
        per_query[qid] = scores
    names = list(next(iter(per_query.values())))
    summary: dict[str, Any] = {"n_queries": len(qids)}
    summary.update({name: sum(s[name] for s in per_query.values()) / len(qids) for name in names})
    summary["per_query"] = per_query
    return summary


# --- Running our retrieval pipeline on a BEIR data set --------------------------------------------------------------
#
# The corpus is indexed in memory the way the reports are: one "passage" per document (title + " " + text, the MTEB
# convention, cut at the model's own token limit when embedded), the sentences of its text (and, optionally, its
# title as one more sentence) for the best-sentence part, and bm25s over our identifier-aware tokenizer. Each mode
# scores every document like ``Searcher.scores``: keyword = BM25, dense = exact cosine of passage vectors, hybrid =
# ``search.fuse`` with the same weights and identifier rule as the reports. Vectors are cached by content under
# ``data/cache/beir/<dataset>/`` so a rerun embeds nothing.

BEIR_MODES = ("keyword", "dense", "hybrid")
DEPTH = 100  # ranked ids kept per query: enough for Recall@100
_EMBED_CHUNK = 2048  # texts embedded between cache saves, so an interrupted first run keeps what it embedded


@dataclass(frozen=True)
class Variant:
    """An extra hybrid run reported beside the default: other ``search.Weights`` and/or the title sentence."""

    weights: Any = None  # search.Weights; None: the defaults
    title_sentence: bool = True


@dataclass
class BeirIndex:
    """One dataset's corpus, indexed in memory as our reports are."""

    doc_ids: list[str]
    passage_vectors: np.ndarray  # (n_docs, dim), normalised
    sentence_vectors: np.ndarray  # abstract sentences, then titles
    sentence_owner: np.ndarray  # row of the document each sentence belongs to
    sentence_is_title: np.ndarray  # bool: the title, embedded as one more sentence
    keyword: Any  # index.keyword.KeywordScorer
    timings: dict[str, float]
    embedded_new: int

    def sentences(self, title_sentence: bool) -> tuple[np.ndarray, np.ndarray]:
        if title_sentence:
            return self.sentence_vectors, self.sentence_owner
        keep = ~self.sentence_is_title
        return self.sentence_vectors[keep], self.sentence_owner[keep]


def _embed_cached(
    texts: list[str], embedder: Any, cache: Any, progress: Callable[[str], Any], what: str
) -> tuple[np.ndarray, int]:
    """``cache.embed`` in chunks, saving after each chunk that embedded anything, with a rate and ETA line."""
    todo = cache.missing(texts)
    if todo:
        progress(f"  embedding {todo:,} new {what} (of {len(texts):,}); cached vectors are reused")
    parts, new, start = [], 0, time.perf_counter()
    for i in range(0, len(texts), _EMBED_CHUNK):
        vectors, fresh = cache.embed(texts[i : i + _EMBED_CHUNK], embedder)
        parts.append(vectors)
        if fresh:
            new += fresh
            cache.save()
            rate = new / (time.perf_counter() - start)
            progress(f"  {what}: {new:,}/{todo:,} embedded, {rate:.1f}/s, ~{(todo - new) / rate / 60:.1f} min left")
    out = np.concatenate(parts) if parts else np.zeros((0, embedder.dimension), np.float32)
    return out, new


def build_beir_index(
    corpus: Corpus, embedder: Any, cache_dir: str | Path, *, progress: Callable[[str], Any] = print
) -> BeirIndex:
    """Embed (through the cache) and BM25-index ``corpus``."""
    from reportrag.index.embed import EmbeddingCache
    from reportrag.index.keyword import KeywordScorer

    started = time.perf_counter()
    doc_ids = list(corpus)
    passages = [doc_text(corpus[d]) for d in doc_ids]
    sentence_texts: list[str] = []
    owner: list[int] = []
    for row, doc in enumerate(doc_ids):
        for sentence in doc_sentences(corpus[doc]):
            sentence_texts.append(sentence)
            owner.append(row)
    n_body = len(sentence_texts)
    for row, doc in enumerate(doc_ids):
        title = corpus[doc].get("title", "").strip()
        if title:
            sentence_texts.append(title)
            owner.append(row)
    split_done = time.perf_counter()

    cache = EmbeddingCache(Path(cache_dir), embedder.name, embedder.dimension)
    passage_vectors, new_p = _embed_cached(passages, embedder, cache, progress, "passages")
    sentence_vectors, new_s = _embed_cached(sentence_texts, embedder, cache, progress, "sentences")
    if new_p + new_s:
        cache.save()
    embedded = time.perf_counter()

    keyword = KeywordScorer.over(passages)
    done = time.perf_counter()
    is_title = np.zeros(len(sentence_texts), dtype=bool)
    is_title[n_body:] = True
    return BeirIndex(
        doc_ids=doc_ids,
        passage_vectors=passage_vectors,
        sentence_vectors=sentence_vectors,
        sentence_owner=np.asarray(owner, dtype=np.int32),
        sentence_is_title=is_title,
        keyword=keyword,
        timings={
            "split_seconds": split_done - started,
            "embed_seconds": embedded - split_done,
            "keyword_seconds": done - embedded,
            "build_seconds": done - started,
        },
        embedded_new=new_p + new_s,
    )


def beir_scores(
    index: BeirIndex,
    text: str,
    vector: np.ndarray | None,
    mode: str,
    *,
    weights: Any = None,
    title_sentence: bool = True,
) -> np.ndarray:
    """A score for every document: the very scorer the reports' search runs (``retrieval.scoring.scores``)."""
    from reportrag.retrieval.query import has_identifiers
    from reportrag.retrieval.scoring import IndexArrays, Weights, scores

    if mode not in BEIR_MODES:
        raise ValueError(f"mode {mode!r} is not one of {', '.join(BEIR_MODES)}")
    keyword = index.keyword.scores(text) if mode != "dense" else None
    arrays = IndexArrays(index.passage_vectors, *index.sentences(title_sentence))
    return scores(arrays, mode, vector, keyword, weights or Weights(), identifiers=has_identifiers(text))


def _top_ids(index: BeirIndex, scores: np.ndarray, mode: str, depth: int) -> list[str]:
    depth = min(depth, scores.size)
    if depth <= 0:
        return []
    top = np.argpartition(-scores, depth - 1)[:depth]
    top = top[np.lexsort((top, -scores[top]))]  # score descending, corpus order among ties
    if mode == "keyword":  # as in the reports: a document no query word matches is not a hit
        top = top[scores[top] > 0]
    return [index.doc_ids[row] for row in top]


def _mrr_at_k(ranked: Sequence[str], judged: Mapping[str, int], qid: str, k: int) -> float:
    """MRR@k as BEIR's tools count it: the query's own id, if retrieved, is not a hit."""
    ranked = [doc for doc in dict.fromkeys(ranked) if doc != qid]
    return mrr_at_k([rank for rank, doc in enumerate(ranked, start=1) if judged.get(doc, 0) > 0], k)


def score_mode(
    index: BeirIndex,
    embedder: Any,
    queries: Mapping[str, str],
    qrels: Qrels,
    mode: str,
    *,
    weights: Any = None,
    title_sentence: bool = True,
    depth: int = DEPTH,
) -> dict[str, Any]:
    """nDCG@10, Recall@10/@100, MRR@10 and ms/query (query embedding included) of one mode."""
    ranked_by_text: dict[str, list[str]] = {}
    elapsed = 0.0

    def search(texts: list[str]) -> list[list[str]]:
        nonlocal elapsed
        started = time.perf_counter()
        cleaned = [tidy(t) for t in texts]
        vectors = embedder.encode(cleaned) if mode != "keyword" else None
        out = []
        for i, text in enumerate(cleaned):
            vector = None if vectors is None else vectors[i]
            scores = beir_scores(index, text, vector, mode, weights=weights, title_sentence=title_sentence)
            out.append(_top_ids(index, scores, mode, depth))
        elapsed = time.perf_counter() - started
        ranked_by_text.update(zip(texts, out))
        return out

    summary = evaluate_beir(search, queries, qrels, k_values=(10, 100))
    per_query = summary.pop("per_query")
    for qid, figures in per_query.items():
        figures["mrr@10"] = _mrr_at_k(ranked_by_text[queries[qid]], qrels[qid], qid, 10)
    summary["mrr@10"] = sum(f["mrr@10"] for f in per_query.values()) / len(per_query)
    summary["ms_per_query"] = 1000 * elapsed / max(summary["n_queries"], 1)
    summary["per_query"] = per_query
    return summary


def _runs(modes: Sequence[str], weights: Any, title_sentence: bool,
          variants: Mapping[str, Variant]) -> list[tuple[str, str, Any, bool]]:
    """(label, mode, weights, title sentence) of each result to score: the modes, then the variants."""
    from reportrag.retrieval.scoring import Weights

    unknown = [m for m in modes if m not in BEIR_MODES]
    if unknown:
        raise ValueError(f"mode {unknown[0]!r} is not one of {', '.join(BEIR_MODES)}")
    weights = weights or Weights()
    runs: list[tuple[str, str, Any, bool]] = [(m, m, weights, title_sentence) for m in modes]
    for label, variant in variants.items():
        if label in {run[0] for run in runs}:
            raise ValueError(f"variant name {label!r} is taken by a mode")
        runs.append((label, "hybrid", variant.weights or Weights(), variant.title_sentence))
    return runs


def run_beir(
    dataset_dir: str | Path,
    embedder: Any,
    *,
    modes: Sequence[str] = BEIR_MODES,
    cache_dir: str | Path | None = None,
    split: str = "test",
    weights: Any = None,
    title_sentence: bool = True,
    variants: Mapping[str, Variant] | None = None,
    progress: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """Index a BEIR-layout data set in memory and score each mode on its ``split`` qrels.

    ``weights`` (default ``search.Weights()``) is what "hybrid" fuses with; ``title_sentence`` adds each document's
    title to its sentences for the best-sentence part (on SciFact's train split: nDCG@10 0.7393 with, 0.7330
    without). ``variants`` maps extra result names to ``Variant``s (tuned hybrids), reported beside, never instead
    of, the default. ``cache_dir`` defaults to ``data/cache/beir/<dataset>/``. Returns the figures per mode under
    ``"modes"`` (per-query figures included; ``write_results`` leaves those out).
    """
    runs = _runs(modes, weights, title_sentence, variants or {})
    root = Path(dataset_dir)
    name = dataset_name(root)
    progress(f"{name}: reading {root}")
    load_started = time.perf_counter()
    corpus, queries, qrels = load_beir(root, split)
    load_seconds = time.perf_counter() - load_started
    progress(f"{name}: {len(corpus):,} documents, {len(queries):,} {split} queries")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir(name)
    index = build_beir_index(corpus, embedder, cache, progress=progress)
    built = index.timings["build_seconds"]
    progress(f"{name}: index built in {built:.1f}s ({index.embedded_new:,} texts embedded anew)")

    results: dict[str, Any] = {}
    for label, mode, w, titles in runs:
        figures = score_mode(index, embedder, queries, qrels, mode, weights=w, title_sentence=titles)
        if mode == "hybrid":
            figures["weights"] = asdict(w)
            figures["title_sentence"] = titles
        results[label] = figures
        progress(
            f"{name} {label}: nDCG@10 {figures['ndcg@10']:.4f}  Recall@100 {figures['recall@100']:.4f}  "
            f"{figures['ms_per_query']:.1f} ms/query"
        )
    return {
        "dataset": name,
        "split": split,
        "corpus_sha256": _sha256(root / "corpus.jsonl"),
        "corpus_size": len(corpus),
        "n_queries": len(queries),
        "n_sentences": int((~index.sentence_is_title).sum()),
        "title_sentence": title_sentence,
        "model": embedder.name,
        "max_seq_length": embedder.max_seq_length,
        "doc_text": 'title + " " + text',
        "index": {**index.timings, "load_seconds": load_seconds, "embedded_new": index.embedded_new},
        "modes": results,
        "published": published_references(root),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


