"""The pipeline's jobs, each run in a fresh child process: build, bare encoding, re-ingest, searcher start-up and
latency, and the plain LangChain recipe. Heavy imports stay inside the jobs, so a job's start-up counts them."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from reportrag.eval.bench import PROCESS_START
from reportrag.eval.bench.common import K, QUESTIONS, SMALL_REPORT_ID
from reportrag.eval.bench.measure import Clock, EmbedMeter, Timed, peak_rss_mib, rss_mib


def settings_for(work: Path):
    from reportrag.core.settings import Settings

    return Settings(index_dir=work / "index", cache_dir=work / "cache")


def load_questions() -> list[dict]:
    return [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


def quality(ranked: list[tuple[dict, list[list]]], doc_texts: dict[str, str]) -> dict:
    """Recall@1/5/10 and MRR@10 on the answerable questions, by the project's passage-level matching rule."""
    from reportrag.eval.metrics import mrr_at_k, recall_at_k, relevant_ranks

    rows = []
    for q, places in ranked:
        if not q["gold"]:
            continue
        ranks = [rank for rank, hit_places in enumerate(places, start=1) if relevant_ranks(hit_places, q["gold"], doc_texts)]
        rows.append((recall_at_k(ranks, 1), recall_at_k(ranks, 5), recall_at_k(ranks, 10), mrr_at_k(ranks, 10)))
    n = len(rows)
    keys = ("recall@1", "recall@5", "recall@10", "mrr@10")
    return {"n": n, **{key: sum(r[i] for r in rows) / n for i, key in enumerate(keys)}}


class RecordingCache:
    """Stands in for ``EmbeddingCache`` in ``index.build.build`` to learn exactly which texts it embeds."""

    def __init__(self, dimension: int) -> None:
        self.dimension, self.calls = dimension, []

    def key(self, text: str) -> str:
        return text

    def embed(self, texts, embedder):
        import numpy as np

        self.calls.append(list(texts))
        return np.zeros((len(texts), self.dimension), np.float32), 0

    def save(self, keep=None) -> None:
        pass


def job_build(work: Path, opts: dict) -> dict:
    """``ingest_reports`` into an empty index folder and an empty embedding cache: the from-scratch build."""
    meter = EmbedMeter()
    from reportrag.service.ingesting import ingest_reports

    settings = settings_for(work)
    with Clock() as c:
        result = ingest_reports(settings)
    m = meter.as_dict()
    return {
        "wall_s": c.wall,
        "cpu_s": c.cpu,
        **m,
        "rest_s": c.wall - m["model_load_s"] - m["encode_s"],
        "added": result.added,
        "failed": result.failed,
    }


def job_encode(work: Path, opts: dict) -> dict:
    """``Embedder.encode`` alone, over the very texts the build embeds (as ``index/build.py`` makes them)."""
    from reportrag.index import document_store as documents
    from reportrag.index.build import build
    from reportrag.index.embed import Embedder

    from reportrag.service.ingesting import model_dir

    settings = settings_for(work)
    corpus = [documents.load(settings.index.index_dir, d) for d in documents.doc_ids(settings.index.index_dir)]
    with Clock() as load:
        embedder = Embedder(model_dir(settings))
    recorder = RecordingCache(embedder.dimension)
    build(corpus, embedder, recorder)  # records the texts; nothing is encoded
    # the cache embeds each call's distinct texts once: so does this
    calls = [list(dict.fromkeys(texts)) for texts in recorder.calls]
    embedder.encode(calls[0][:8])  # warm-up (first-call allocations), not timed
    timed = []
    for texts in calls:
        with Clock() as c:
            embedder.encode(texts)
        timed.append({"texts": len(texts), "wall_s": c.wall, "cpu_s": c.cpu})
    return {
        "model_load_s": load.wall,
        "calls": timed,  # [passages (with their header), sentences]
        "wall_s": sum(t["wall_s"] for t in timed),
        "cpu_s": sum(t["cpu_s"] for t in timed),
        "texts": sum(t["texts"] for t in timed),
        "passages": sum(len(ps) for _, ps in corpus),
        "sentences": sum(len(p.sentences) for _, ps in corpus for p in ps),
        "mean_chars": {
            "passage_texts": statistics.mean(len(t) for t in calls[0]),
            "sentence_texts": statistics.mean(len(t) for t in calls[1]) if len(calls) > 1 else None,
        },
    }


def job_reingest(work: Path, opts: dict) -> dict:
    """One ``reportrag ingest``-like step in a fresh process: no-op, add a small report, or remove it."""
    meter = EmbedMeter()
    from reportrag.index import document_store as documents

    from reportrag.service import ingesting as corpus

    settings = settings_for(work)
    step = opts["step"]
    with Clock() as c:
        if step == "noop":
            result = corpus.ingest_reports(settings)
        elif step == "add":
            result = corpus.ingest_reports(settings, [Path(opts["path"])])
        elif step == "remove":
            result = None
            if hasattr(corpus, "remove_report"):
                corpus.remove_report(settings, SMALL_REPORT_ID)
            else:  # older corpus API: drop the record, re-ingest notices the stale index
                documents.remove(settings.index.index_dir, SMALL_REPORT_ID)
                result = corpus.ingest_reports(settings)
        else:
            raise ValueError(step)
    out = {"step": step, "wall_s": c.wall, "cpu_s": c.cpu, "process_s": time.perf_counter() - PROCESS_START, **meter.as_dict()}
    if result is not None:
        out.update(added=result.added, unchanged=result.unchanged, failed=result.failed)
    if step == "add" and SMALL_REPORT_ID in documents.doc_ids(settings.index.index_dir):
        _, passages = documents.load(settings.index.index_dir, SMALL_REPORT_ID)
        out["new_report"] = {"passages": len(passages), "sentences": sum(len(p.sentences) for p in passages)}
    return out


def job_searcher(work: Path, opts: dict) -> dict:
    """Start-up of ``open_searcher`` (from process start: imports, model, index); then, if asked, warm latency."""
    meter = EmbedMeter()
    from reportrag.service.ingesting import open_searcher

    imported = time.perf_counter() - PROCESS_START
    settings = settings_for(work)
    with Clock() as c:
        searcher = open_searcher(settings)
    out = {"imports_s": imported, "model_load_s": meter.load_s, "startup_s": time.perf_counter() - PROCESS_START, "startup_cpu_s": time.process_time(), "open_s": c.wall, "open_cpu_s": c.cpu, "rss_after_open_mib": rss_mib()}
    if opts.get("latency"):
        out.update(_searcher_latency(searcher, work))
    return out


def _searcher_latency(searcher, work: Path) -> dict:
    """Each question alone, every mode back to back (so load drift hits all alike); bare embedding; parts."""
    import numpy as np

    from reportrag.retrieval.search import MODES, clean_query

    questions = load_questions()
    texts = [clean_query(q["question"]) for q in questions]
    np.save(work / "questions.npy", searcher.embedder.encode(texts))  # the scale job's queries
    for text in texts[:5]:  # warm-up
        searcher.embedder.encode([text])
        for mode in MODES:
            searcher.search(text, k=K, mode=mode)
    timed = Timed()
    hits = _time_searches(searcher, texts, MODES, timed)
    _time_diagnostics(searcher, texts, timed)
    doc_texts = {doc_id: d.text for doc_id, d in searcher.documents.items()}
    by_mode = {}
    for mode in MODES:
        ranked = []
        for q, found in zip(questions, hits[mode]):
            places = [[h.passage, *h.also_at] for h in found]  # a collapsed hit stands where its copies stand
            ranked.append((q, places))
        by_mode[mode] = quality(ranked, doc_texts)
    return {
        "questions": len(texts),
        "modes": list(MODES),
        "latency_ms": timed.summary(),
        "quality": by_mode,
        "peak_rss_mib": peak_rss_mib(),
    }


def _time_searches(searcher, texts: list[str], modes, timed: Timed) -> dict[str, list]:
    """Per question: the bare embedding, the scoring parts, then every mode; returns each mode's hits."""
    hits = {mode: [] for mode in modes}
    for text in texts:
        vector = timed("embed", searcher.embedder.encode, [text])[0]
        timed("keyword_scores", searcher.index.keyword.scores, text)
        timed("hybrid_scores", searcher.scores, text, vector, "hybrid")
        for mode in modes:
            hits[mode].append(timed(mode, searcher.search, text, k=K, mode=mode))
    return hits


def _time_diagnostics(searcher, texts: list[str], timed: Timed) -> None:
    """The embedding with nothing between two calls, and hybrid with numpy's BLAS held to one thread (its idle
    threads spin after each matrix product and take the cores torch's threads need)."""
    for text in texts:
        timed("embed_alone", searcher.embedder.encode, [text])
    try:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            for text in texts:
                timed("embed_blas1", searcher.embedder.encode, [text])
                timed("hybrid_blas1", searcher.search, text, k=K, mode="hybrid")
    except ImportError:
        pass


def job_recipe(work: Path, opts: dict) -> dict:
    """The plain LangChain recipe: start-up (imports, model, split, embed everything, FAISS), then latency."""
    from reportrag.eval import langchain_recipe

    settings = settings_for(work)
    with Clock() as c:
        recipe = langchain_recipe.build_recipe(settings)
    out = {
        "startup_s": time.perf_counter() - PROCESS_START,
        "startup_cpu_s": time.process_time(),
        "build_s": c.wall,
        "build_cpu_s": c.cpu,
        "parts_s": recipe.seconds,
        "chunks": recipe.chunks,
        "rss_after_start_mib": rss_mib(),
    }
    if opts.get("latency"):
        out.update(_recipe_latency(recipe))
    return out


def _recipe_latency(recipe) -> dict:
    """``similarity_search`` one question at a time after 5 warm-up questions, and the recipe's hits' quality."""
    from types import SimpleNamespace

    from reportrag.eval import langchain_recipe

    questions = load_questions()
    texts = [q["question"] for q in questions]
    for text in texts[:5]:
        recipe.store.similarity_search(text, k=K)
    timed = Timed()
    for text in texts:
        timed("similarity_search", recipe.store.similarity_search, text, k=K)
    hits = langchain_recipe.search_recipe(recipe, texts, K)
    ranked = [(q, [[SimpleNamespace(**h)] for h in found]) for q, found in zip(questions, hits)]
    return dict(
        latency_ms=timed.summary()["similarity_search"],
        quality=quality(ranked, recipe.texts),
        mean_hit_chars=statistics.mean(h["end"] - h["start"] for found in hits for h in found),
        peak_rss_mib=peak_rss_mib(),
    )
