"""Speed and memory benchmarks: build vs bare encoding, re-ingest, start-up, warm query latency, peak memory,
and the vector index at 100k / 1M vectors. Writes BENCHMARKS.md and eval/results/bench.json.

    .venv/bin/python eval/bench.py [--quick] [--scale 100000,1000000]

Every measurement runs in a fresh subprocess of this script (``--job NAME``): start-up is a real start-up and each
job's peak memory (``ru_maxrss``) is its own. Everything happens in a temporary folder: the project's data/index
and data/cache are never read or written (the reports are read from data/reports). The model is loaded from the
bundled folder only (``HF_HUB_OFFLINE=1`` in the jobs, as a guard).

``--quick`` skips scales above 100k and repeats less (one build, one recipe start-up).
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()  # a job's clock starts before its heavy imports: start-up includes them

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout: the project's packages come first
    sys.path.insert(0, str(ROOT))

QUESTIONS = ROOT / "eval" / "questions.jsonl"
RESULT_PREFIX = "BENCH-RESULT "
K = 10
NOISE_SIGMA = 1.0  # synthetic vectors: real vector + N(0, σ²/d) per dimension, renormalised (see _synthetic)
SMALL_REPORT_ID = "bench-small-report"
QUIET_CORES = 0.25  # a job counts as measured on a quiet machine when other processes used at most this many cores

TARGETS = {  # name: (comparison, value, what)
    "build_over_encode": ("<=", 1.15, "index build from scratch / bare encoding of the same texts"),
    "noop_reingest_s": ("<=", 2.0, "no-op re-ingest, seconds"),
    "startup_speedup": (">=", 10.0, "recipe start-up / our start-up"),
    "hybrid_over_embed": ("<=", 1.5, "hybrid p50 / bare query embedding p50"),
    "hybrid_over_recipe": ("<=", 1.0, "hybrid p50 / recipe similarity_search p50"),
    "scale_p50_ms": ("<=", 10.0, "approximate index, single-query p50, ms"),
    "scale_recall": (">=", 0.95, "approximate index, recall@10 vs exact"),
}

SMALL_REPORT = """# Monitoring note on free legal aid, 2024

## Access to guaranteed legal aid

In 2024 the regional bar associations reported that requests for guaranteed legal aid in rural districts rose
by a fifth, while the number of advocates registered outside the regional centres stayed almost flat.

Applicants most often asked for help with alimony claims, disputes over land plots and appeals against fines.
Many of them learned about the service only after a court hearing had already been scheduled.

The monitoring team visited forty-two district courts and found that only nineteen displayed information on how
to apply for free legal assistance in both state and Russian languages.

## Recommendations

Court offices should hand every party a one-page leaflet on guaranteed legal aid when a claim is registered.

The ministry should publish quarterly figures on refused applications, with the reasons, so that gaps between
regions can be seen and discussed with the bar.

Mobile consultation days in remote villages, run jointly with local akimats, should become a regular practice
rather than a pilot.
"""


# --------------------------------------------------------------------------------------------- helpers (jobs)


class Clock:
    """Wall and CPU seconds of a block (CPU: every thread of this process)."""

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _settings(work: Path):
    from reportrag.core.settings import Settings

    return Settings(index_dir=work / "index", cache_dir=work / "cache")


def _questions() -> list[dict]:
    return [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


def _pct(values, q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


class EmbedMeter:
    """Counts what is embedded and how long model loads take, by wrapping ``Embedder`` in this process only."""

    def __init__(self) -> None:
        from reportrag.index.embed import Embedder

        self.loads, self.load_s, self.calls, self.texts, self.encode_s = 0, 0.0, 0, 0, 0.0
        init, encode, meter = Embedder.__init__, Embedder.encode, self

        def timed_init(embedder, *args, **kwargs):
            started = time.perf_counter()
            init(embedder, *args, **kwargs)
            meter.loads += 1
            meter.load_s += time.perf_counter() - started

        def timed_encode(embedder, texts):
            started = time.perf_counter()
            out = encode(embedder, texts)
            meter.calls += 1
            meter.texts += len(texts)
            meter.encode_s += time.perf_counter() - started
            return out

        Embedder.__init__, Embedder.encode = timed_init, timed_encode

    def as_dict(self) -> dict:
        return {
            "model_loads": self.loads,
            "model_load_s": self.load_s,
            "encode_calls": self.calls,
            "embedded_texts": self.texts,
            "encode_s": self.encode_s,
        }


class _RecordingCache:
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


# --------------------------------------------------------------------------------------------- jobs


def job_build(work: Path, opts: dict) -> dict:
    """``ingest_reports`` into an empty index folder and an empty embedding cache: the from-scratch build."""
    meter = EmbedMeter()
    from reportrag.service.ingesting import ingest_reports

    settings = _settings(work)
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

    settings = _settings(work)
    corpus = [documents.load(settings.index_dir, d) for d in documents.doc_ids(settings.index_dir)]
    with Clock() as load:
        embedder = Embedder(model_dir(settings))
    recorder = _RecordingCache(embedder.dimension)
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

    settings = _settings(work)
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
                documents.remove(settings.index_dir, SMALL_REPORT_ID)
                result = corpus.ingest_reports(settings)
        else:
            raise ValueError(step)
    out = {"step": step, "wall_s": c.wall, "cpu_s": c.cpu, "process_s": time.perf_counter() - _T0, **meter.as_dict()}
    if result is not None:
        out.update(added=result.added, unchanged=result.unchanged, failed=result.failed)
    if step == "add" and SMALL_REPORT_ID in documents.doc_ids(settings.index_dir):
        _, passages = documents.load(settings.index_dir, SMALL_REPORT_ID)
        out["new_report"] = {"passages": len(passages), "sentences": sum(len(p.sentences) for p in passages)}
    return out


def job_searcher(work: Path, opts: dict) -> dict:
    """Start-up of ``open_searcher`` (from process start: imports, model, index); then, if asked, warm latency."""
    meter = EmbedMeter()
    from reportrag.service.ingesting import open_searcher

    imported = time.perf_counter() - _T0
    settings = _settings(work)
    with Clock() as c:
        searcher = open_searcher(settings)
    out = {"imports_s": imported, "model_load_s": meter.load_s, "startup_s": time.perf_counter() - _T0, "startup_cpu_s": time.process_time(), "open_s": c.wall, "open_cpu_s": c.cpu, "rss_after_open_mib": _rss_mib()}
    if opts.get("latency"):
        out.update(_searcher_latency(searcher, work))
    return out


def _searcher_latency(searcher, work: Path) -> dict:
    """Each question alone, every mode back to back (so load drift hits all alike); bare embedding; parts."""
    import numpy as np

    from reportrag.retrieval.search import MODES, clean_query

    questions = _questions()
    texts = [clean_query(q["question"]) for q in questions]
    np.save(work / "questions.npy", searcher.embedder.encode(texts))  # the scale job's queries
    for text in texts[:5]:  # warm-up
        searcher.embedder.encode([text])
        for mode in MODES:
            searcher.search(text, k=K, mode=mode)
    timed = Timed()
    hits = {mode: [] for mode in MODES}
    for text in texts:
        vector = timed("embed", searcher.embedder.encode, [text])[0]
        timed("keyword_scores", searcher.index.keyword.scores, text)
        timed("hybrid_scores", searcher.scores, text, vector, "hybrid")
        for mode in MODES:
            hits[mode].append(timed(mode, searcher.search, text, k=K, mode=mode))
    # diagnostics: the embedding with nothing between two calls, and hybrid with numpy's BLAS held to one thread
    # (its idle threads spin after each matrix product and take the cores torch's threads need)
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
    doc_texts = {doc_id: d.text for doc_id, d in searcher.documents.items()}
    quality = {}
    for mode in MODES:
        ranked = []
        for q, found in zip(questions, hits[mode]):
            places = [[h.passage, *h.also_at] for h in found]  # a collapsed hit stands where its copies stand
            ranked.append((q, places))
        quality[mode] = _quality(ranked, doc_texts)
    return {
        "questions": len(texts),
        "modes": list(MODES),
        "latency_ms": timed.summary(),
        "quality": quality,
        "peak_rss_mib": _peak_rss_mib(),
    }


def _summary_ms(seconds: list[float], cpu_seconds: list[float] | None = None) -> dict:
    """p50/p95 of wall times in ms, and the p50 of the same calls' CPU time (this process, every thread)."""
    ms = [1000 * s for s in seconds]
    out = {"p50": _pct(ms, 50), "p95": _pct(ms, 95), "mean": statistics.mean(ms), "n": len(ms)}
    if cpu_seconds:
        out["cpu_p50"] = _pct([1000 * s for s in cpu_seconds], 50)
    return out


class Timed:
    """Per-call wall and CPU seconds, collected under a name."""

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def __call__(self, name: str, fn, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn(*args, **kwargs)
        self.cpu.setdefault(name, []).append(time.process_time() - cpu)
        self.wall.setdefault(name, []).append(time.perf_counter() - wall)
        return out

    def summary(self) -> dict:
        return {name: _summary_ms(self.wall[name], self.cpu[name]) for name in self.wall}


def _quality(ranked: list[tuple[dict, list[list]]], doc_texts: dict[str, str]) -> dict:
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


def job_recipe(work: Path, opts: dict) -> dict:
    """The plain LangChain recipe: start-up (imports, model, split, embed everything, FAISS), then latency."""
    from reportrag.eval import langchain_recipe

    settings = _settings(work)
    with Clock() as c:
        recipe = langchain_recipe.build_recipe(settings)
    out = {
        "startup_s": time.perf_counter() - _T0,
        "startup_cpu_s": time.process_time(),
        "build_s": c.wall,
        "build_cpu_s": c.cpu,
        "parts_s": recipe.seconds,
        "chunks": recipe.chunks,
        "rss_after_start_mib": _rss_mib(),
    }
    if opts.get("latency"):
        from types import SimpleNamespace

        questions = _questions()
        texts = [q["question"] for q in questions]
        for text in texts[:5]:
            recipe.store.similarity_search(text, k=K)
        timed = Timed()
        for text in texts:
            timed("similarity_search", recipe.store.similarity_search, text, k=K)
        hits = langchain_recipe.search_recipe(recipe, texts, K)
        ranked = [(q, [[SimpleNamespace(**h)] for h in found]) for q, found in zip(questions, hits)]
        out.update(
            latency_ms=timed.summary()["similarity_search"],
            quality=_quality(ranked, recipe.texts),
            mean_hit_chars=statistics.mean(h["end"] - h["start"] for found in hits for h in found),
            peak_rss_mib=_peak_rss_mib(),
        )
    return out


def _synthetic(base, n: int, *, sigma: float, seed: int):
    """``n`` unit vectors: a random real vector each, plus gaussian noise of norm ≈ σ, renormalised."""
    import numpy as np

    rng = np.random.default_rng(seed)
    dim = base.shape[1]
    source = rng.integers(0, len(base), n)
    out = np.empty((n, dim), np.float32)
    step = 100_000
    for a in range(0, n, step):
        b = min(n, a + step)
        v = base[source[a:b]] + np.float32(sigma / np.sqrt(dim)) * rng.standard_normal((b - a, dim), dtype=np.float32)
        out[a:b] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out, source


def _describe(index) -> tuple[str, str | None, int | None]:
    """A faiss index's kind, its search knob and the knob's value."""
    import faiss

    if isinstance(index, faiss.IndexHNSW):
        return f"HNSW M={index.hnsw.nb_neighbors(1)} efConstruction={index.hnsw.efConstruction}", "efSearch", index.hnsw.efSearch
    try:
        ivf = faiss.extract_index_ivf(index)
        return f"{type(index).__name__} nlist={ivf.nlist}", "nprobe", ivf.nprobe
    except (RuntimeError, TypeError, AttributeError):
        return type(index).__name__, None, None


def _index_mib(index) -> float:
    """Memory the index holds, from its own arrays (RSS deltas are blurred by the allocator reusing freed pages)."""
    import faiss

    d = index.d
    if isinstance(index, faiss.IndexHNSW):
        h = index.hnsw
        links = 4 * h.neighbors.size() + 4 * h.levels.size() + 8 * h.offsets.size()
        return (4 * d * index.ntotal + links) / 2**20
    if isinstance(index, faiss.IndexIVF):
        return (index.ntotal * (index.code_size + 8) + 4 * d * index.nlist) / 2**20
    return 4 * d * index.ntotal / 2**20


def _set_knob(index, knob: str, value: int) -> None:
    import faiss

    if knob == "efSearch":
        index.hnsw.efSearch = value
    else:
        faiss.extract_index_ivf(index).nprobe = value


def _single_queries(index, queries, truth, search, k: int = K) -> dict:
    """Each query alone (as a searcher asks); recall@10 against the exact neighbours."""
    import numpy as np

    timed, recalls = Timed(), []
    for i in range(len(queries)):
        _, found = timed("q", search, index, queries[i : i + 1], k)
        recalls.append(len(set(found[0][:K].tolist()) & set(truth[i].tolist())) / K)
    return {"recall@10": float(np.mean(recalls)), **timed.summary()["q"]}


def _exact_by_size(x, queries, truth_n: int) -> list[dict]:
    """Exact search cost by corpus size, as the searcher does it (one matrix-vector product and a top-k) and
    as faiss's IndexFlatIP does it: where exact search stops being cheap decides EXACT_UP_TO."""
    import faiss
    import numpy as np

    rows = []
    for m in (5_000, 10_000, 20_000, 50_000, 100_000, 200_000):
        if m > truth_n or m > 200_000:
            break
        xm = np.ascontiguousarray(x[:m])
        flat = faiss.IndexFlatIP(xm.shape[1])
        flat.add(xm)
        timed = Timed()  # one loop each: interleaved, OpenBLAS's and faiss's OpenMP idle threads spin against each other
        for v in queries:
            timed("numpy", lambda: np.argpartition(-(xm @ v), K)[:K])
        for v in queries:
            timed("faiss", flat.search, v[None, :], K)
        summary = timed.summary()
        rows.append({"n": m, "numpy_p50": summary["numpy"]["p50"], "faiss_p50": summary["faiss"]["p50"]})
        del flat, xm
    return rows


def _sweep(index, knob, values, queries, truth, search) -> list[dict]:
    rows = []
    for value in values:
        _set_knob(index, knob, value)
        rows.append({knob: value, **_single_queries(index, queries, truth, search)})
    return rows


def _pick(rows: list[dict], knob: str) -> dict | None:
    """The smallest setting (least work a query) meeting the recall and latency targets."""
    ok = [r for r in rows if r["recall@10"] >= TARGETS["scale_recall"][1] and r["p50"] <= TARGETS["scale_p50_ms"][1]]
    return min(ok, key=lambda r: r[knob]) if ok else None


def job_scale(work: Path, opts: dict) -> dict:
    """n synthetic vectors from the reports' real ones; the approximate index vectors.py builds, and candidates."""
    import faiss
    import numpy as np
    from reportrag.index import search_index as store
    from reportrag.index import vectors as vector_index
    from reportrag.index.model_path import model_name

    from reportrag.service.ingesting import model_dir

    n = opts["n"]
    settings = _settings(work)
    real = store.load(settings.index_dir, model=model_name(model_dir(settings)))
    base = np.concatenate([real.passage_vectors, real.sentence_vectors]).astype(np.float32)
    queries = np.load(work / "questions.npy", allow_pickle=False)
    out: dict = {"n": n, "real_vectors": len(base), "queries": len(queries), "sigma": NOISE_SIGMA, "faiss_threads": faiss.omp_get_max_threads()}

    with Clock() as gen:
        x, source = _synthetic(base, n, sigma=NOISE_SIGMA, seed=n)
    out["generate_s"] = gen.wall

    # exact neighbours (the truth), and what exact search costs one query at a time
    with Clock() as c:
        flat = faiss.IndexFlatIP(x.shape[1])
        flat.add(x)
    sims, truth = flat.search(queries, K)
    n_exact = len(queries) if n <= 200_000 else 60
    exact = _single_queries(flat, queries[:n_exact], truth[:n_exact], vector_index.search)
    out["exact"] = {"build_s": c.wall, "memory_mib": _index_mib(flat), **exact}
    del flat
    if n <= 200_000:
        out["exact_by_size"] = _exact_by_size(x, queries, truth_n=n)

    # how hard the neighbours are
    real_sim = base @ base.T
    np.fill_diagonal(real_sim, -1)
    best_real = (queries @ base.T).argmax(1)
    sample = slice(0, min(n, 20_000))
    out["data"] = {
        "cos_copy_to_its_real_vector_median": float(np.median(np.sum(x[sample] * base[source[sample]], axis=1))),
        "cos_real_vector_to_its_nearest_real_median": float(np.median(real_sim.max(1))),
        "cos_question_to_best_real_median": float(np.median((queries @ base.T).max(1))),
        "cos_question_top1_median": float(np.median(sims[:, 0])),
        "cos_question_top10_median": float(np.median(sims[:, K - 1])),
        "distinct_real_sources_in_top10_mean": float(np.mean([len(set(source[row].tolist())) for row in truth])),
        "top10_share_from_best_real_source": float(np.mean(source[truth] == best_real[:, None])),
    }
    del real_sim

    # the production choice: vectors.py's approximate index (forced: exact_up_to below n)
    rss = _rss_mib()
    with Clock() as c:
        index = vector_index.build(x, exact_up_to=0)
    kind, knob, value = _describe(index)
    prod = {"kind": kind, "knob": knob, "value": value, "build_s": c.wall, "build_cpu_s": c.cpu, "memory_mib": _index_mib(index), "rss_growth_mib": _rss_mib() - rss}
    prod.update(_single_queries(index, queries, truth, vector_index.search))
    try:  # what the searcher asks an approximate index for: its candidate pool, not 10
        from reportrag.retrieval.search import CANDIDATES

        prod["candidates_k"] = CANDIDATES
        prod["candidates_query"] = _single_queries(index, queries, truth, vector_index.search, k=CANDIDATES)
    except ImportError:
        pass
    if knob:
        values = sorted({v for v in opts.get("sweep", {}).get(knob, []) if v != value} | {value})
        prod["sweep"] = _sweep(index, knob, values, queries, truth, vector_index.search)
        _set_knob(index, knob, value)
    out["production"] = prod
    out["automatic_choice"] = _describe(vector_index.build(x[:1], exact_up_to=vector_index.EXACT_UP_TO))[0] + (
        f" up to {vector_index.EXACT_UP_TO:,} vectors (index/vectors.py's default), {kind} above"
    )
    out["settings_exact_search_up_to"] = getattr(settings, "exact_search_up_to", None)
    del index

    # other candidates (HNSW variants), built here with the same data and queries
    out["candidates"] = []
    for spec in opts.get("candidates", []):
        rss = _rss_mib()
        with Clock() as c:
            index = faiss.IndexHNSWFlat(x.shape[1], spec["M"], faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = spec["efConstruction"]
            index.add(x)
        row = {"kind": _describe(index)[0], "knob": "efSearch", "build_s": c.wall, "build_cpu_s": c.cpu, "memory_mib": _index_mib(index), "rss_growth_mib": _rss_mib() - rss}
        row["sweep"] = _sweep(index, "efSearch", spec["efSearch"], queries, truth, vector_index.search)
        row["pick"] = _pick(row["sweep"], "efSearch")
        out["candidates"].append(row)
        del index
    prod_rows = prod.get("sweep") or [{**{k: v for k, v in prod.items() if k in ("recall@10", "p50", "p95")}, knob: value}]
    prod["pick"] = _pick(prod_rows, knob) if knob else None
    out["peak_rss_mib"] = _peak_rss_mib()
    return out


JOBS = {"build": job_build, "encode": job_encode, "reingest": job_reingest, "searcher": job_searcher, "recipe": job_recipe, "scale": job_scale}


def _run_child(name: str, work: Path, opts: dict) -> None:
    out = JOBS[name](work, opts)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.update(job_peak_rss_mib=usage.ru_maxrss / 1024, job_cpu_s=usage.ru_utime + usage.ru_stime, job_s=time.perf_counter() - _T0)
    print(RESULT_PREFIX + json.dumps(out), flush=True)


# --------------------------------------------------------------------------------------------- orchestration


def _cpu_busy_s() -> float:
    """CPU seconds every process on the machine has used since boot (from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _children_cpu_s() -> float:
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    s = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime + s.ru_utime + s.ru_stime


class Runner:
    def __init__(self, log) -> None:
        self.log = log
        self.jobs: list[dict] = []

    def run(self, name: str, work: Path, **opts) -> dict:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--job", name, "--work", str(work), "--opts", json.dumps(opts)]
        busy, ours, load = _cpu_busy_s(), _children_cpu_s(), os.getloadavg()[0]
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        others = max(0.0, (_cpu_busy_s() - busy) - (_children_cpu_s() - ours)) / wall  # cores other processes used
        lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
        if proc.returncode != 0 or not lines:
            tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
            raise RuntimeError(f"job {name} {opts} failed (exit {proc.returncode}):\n{tail}")
        out = json.loads(lines[-1][len(RESULT_PREFIX) :])
        out.update(process_wall_s=wall, others_cores=others, load_at_start=load)
        shown = {k: Path(v).name if k == "path" else v for k, v in opts.items()}  # no temporary paths in results
        self.jobs.append({"job": name, "opts": shown, "process_wall_s": wall, "others_cores": others, "peak_rss_mib": out["job_peak_rss_mib"]})
        self.log(f"  {name} {opts or ''}: {wall:.1f}s, peak {out['job_peak_rss_mib']:.0f} MiB, other processes ~{others:.2f} cores")
        return out


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("torch", "faiss-cpu", "sentence-transformers", "transformers", "numpy", "bm25s", "langchain-community",
                "langchain-text-splitters", "langchain-core"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def _machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:"))
    os_name = platform.platform()
    try:
        pretty = next(line.split("=", 1)[1].strip('"') for line in Path("/etc/os-release").read_text().splitlines() if line.startswith("PRETTY_NAME="))
        os_name = f"{pretty} (Linux {platform.release()})"
    except (OSError, StopIteration):
        pass
    threads = None
    try:
        import faiss  # light enough here; torch's thread count is read in a job

        threads = faiss.omp_get_max_threads()
    except ImportError:
        pass
    return {"cores": os.cpu_count(), "ram_gib": round(mem / 1024 / 1024, 1), "cpu": cpu, "os": os_name, "faiss_threads": threads}


def _git() -> dict:
    def run(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    dirty = [line[3:] for line in run("status", "--porcelain").splitlines() if line.strip()]
    return {"commit": run("rev-parse", "--short=12", "HEAD").strip(), "dirty_files": dirty}


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def _met(name: str, value: float) -> bool:
    op, target, _ = TARGETS[name]
    return value <= target if op == "<=" else value >= target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="skip scales above 100k vectors; fewer repeats")
    ap.add_argument("--scale", default="100000,1000000", help="vector counts for the index-at-scale section")
    ap.add_argument("--candidates-at", default="100000", help="scales where HNSW candidates are measured as well")
    ap.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    ap.add_argument("--json", type=Path, default=ROOT / "eval" / "results" / "bench.json")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--render", type=Path, metavar="JSON", help="only rewrite the Markdown from an earlier run's JSON")
    ap.add_argument("--job", help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--opts", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.job:
        _run_child(args.job, args.work, json.loads(args.opts))
        return 0
    if args.render:
        args.out.write_text(render(json.loads(args.render.read_text(encoding="utf-8"))), encoding="utf-8")
        return 0

    started, started_at = time.perf_counter(), dt.datetime.now(dt.timezone.utc)
    busy0, ours0 = _cpu_busy_s(), _children_cpu_s()
    scales = [int(s) for s in args.scale.split(",") if s.strip()]
    if args.quick:
        scales = [n for n in scales if n <= 100_000]
    candidates_at = {int(s) for s in args.candidates_at.split(",") if s.strip()}
    repeats = {"build": 1 if args.quick else 2, "build_max": 2 if args.quick else 4, "startup": 3, "recipe": 1 if args.quick else 3, "noop": 3}

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f}s] {msg}", flush=True)

    res: dict = {
        "mode": "quick" if args.quick else "full",
        "command": "eval/bench.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": started_at.isoformat(timespec="seconds"),
        "git": _git(),
        "machine": _machine(),
        "versions": _versions(),
        "loadavg_start": os.getloadavg(),
        "targets": {k: {"op": v[0], "value": v[1], "what": v[2]} for k, v in TARGETS.items()},
        "errors": {},
    }
    log(f"bench ({res['mode']}), load average {res['loadavg_start'][0]:.2f}")
    tmp = Path(tempfile.mkdtemp(prefix="reportrag-bench-"))
    runner = Runner(log)
    try:
        _bench(runner, tmp, res, scales, candidates_at, repeats, log)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    res["loadavg_end"] = os.getloadavg()
    res["total_s"] = time.perf_counter() - started
    res["others_cores_mean"] = max(0.0, (_cpu_busy_s() - busy0) - (_children_cpu_s() - ours0)) / res["total_s"]
    res["jobs"] = runner.jobs
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=1, default=str) + "\n", encoding="utf-8")
    args.out.write_text(render(res), encoding="utf-8")
    log(f"done in {res['total_s']:.0f}s: {args.out.name}, {args.json.relative_to(ROOT) if args.json.is_relative_to(ROOT) else args.json.name}")
    return 0


def _section(res: dict, name: str, log):
    """Run one section; a failure is recorded (and shown in BENCHMARKS.md) instead of losing the whole run."""

    class _Guard:
        def __enter__(self):
            log(f"{name}")
            return self

        def __exit__(self, kind, error, tb):
            if error is not None and kind is not KeyboardInterrupt:
                res["errors"][name] = f"{kind.__name__}: {error}"
                log(f"{name} FAILED: {error}")
                return True
            return False

    return _Guard()


def _bench(runner: Runner, tmp: Path, res: dict, scales, candidates_at, repeats, log) -> None:
    main_work = tmp / "build0"
    with _section(res, "build", log):
        # interleaved build, encode, build, encode…; more pairs (up to a limit) while no quiet pair was measured
        builds, encodes = [], []
        while True:
            work = tmp / f"build{len(builds)}"
            work.mkdir()
            builds.append(runner.run("build", work))
            encodes.append(runner.run("encode", main_work))
            quiet_builds = [b for b in builds if b["others_cores"] <= QUIET_CORES]
            quiet_encodes = [e for e in encodes if e["others_cores"] <= QUIET_CORES]
            if len(builds) >= repeats["build"] and ((quiet_builds and quiet_encodes) or len(builds) >= repeats["build_max"]):
                break
        quiet = bool(quiet_builds and quiet_encodes)
        best_build = min(quiet_builds if quiet else builds, key=lambda b: b["wall_s"])
        best_encode = min(quiet_encodes if quiet else encodes, key=lambda e: e["wall_s"])
        res["build"] = {
            "runs": builds,
            "encode_runs": encodes,
            "quiet": quiet,
            "build_s": best_build["wall_s"],
            "build_cpu_s": min(b["cpu_s"] for b in builds),
            "encode_s": best_encode["wall_s"],
            "encode_cpu_s": min(e["cpu_s"] for e in encodes),
            "passages_only_s": min(e["calls"][0]["wall_s"] for e in encodes),
            "ratio": _ratio(best_build["wall_s"], best_encode["wall_s"]),
            "ratio_cpu": _ratio(min(b["cpu_s"] for b in builds), min(e["cpu_s"] for e in encodes)),
        }

    with _section(res, "startup", log):
        res["startup"] = {"searcher": [runner.run("searcher", main_work) for _ in range(repeats["startup"])]}
    with _section(res, "latency", log):
        res["latency"] = {"searcher": runner.run("searcher", main_work, latency=True)}
    with _section(res, "recipe", log):
        recipe = [runner.run("recipe", main_work, latency=(i == 0)) for i in range(repeats["recipe"])]
        res.setdefault("startup", {})["recipe"] = recipe
        res.setdefault("latency", {})["recipe"] = recipe[0]

    with _section(res, "reingest", log):
        work = tmp / "reingest"
        shutil.copytree(main_work, work)
        small = tmp / f"{SMALL_REPORT_ID}.md"
        small.write_text(SMALL_REPORT, encoding="utf-8")
        noop = [runner.run("reingest", work, step="noop") for _ in range(repeats["noop"])]
        add = runner.run("reingest", work, step="add", path=str(small))
        noop_after = runner.run("reingest", work, step="noop")
        remove = runner.run("reingest", work, step="remove")
        res["reingest"] = {"noop": noop, "add": add, "noop_after_add": noop_after, "remove": remove}

    res["scale"] = []
    for n in scales:
        with _section(res, f"scale {n:,}", log):
            hnsw = [
                {"M": 16, "efConstruction": 40, "efSearch": [32, 64, 128, 256, 512]},
                {"M": 32, "efConstruction": 80, "efSearch": [32, 64, 128, 256, 512]},
            ]
            sweep = {"nprobe": [4, 8, 16, 32, 64, 128, 256], "efSearch": [32, 64, 128, 256, 512]}
            res["scale"].append(runner.run("scale", main_work, n=n, candidates=hnsw if n in candidates_at else [], sweep=sweep))


# --------------------------------------------------------------------------------------------- BENCHMARKS.md


def _f(value, digits: int = 2, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    return f"{value:,.{digits}f}{unit}"


def _verdict(name: str, value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "not measured"
    return "**met**" if _met(name, value) else "**missed**"


def _load_note(jobs: list[dict]) -> str:
    """How busy the rest of the machine was during these jobs."""
    jobs = [j for j in jobs if j and "others_cores" in j]
    if not jobs:
        return ""
    others = [j["others_cores"] for j in jobs]
    return (
        f"*Load during these jobs: other processes used {min(others):.2f}–{max(others):.2f} cores "
        f"(mean {statistics.mean(others):.2f}) of the machine's cores.*"
    )


def _target(name: str) -> str:
    op, value, _ = TARGETS[name]
    return f"{'≤' if op == '<=' else '≥'} {value:g}"


def render(res: dict) -> str:
    m, v, g = res["machine"], res["versions"], res["git"]
    out = [
        "# Benchmarks",
        "",
        f"Written by `eval/bench.py` ({res['mode']} run, {_f(res['total_s'] / 60, 1)} min) on {res['date'][:10]}, "
        f"commit `{g['commit']}`" + (f" with uncommitted changes in {len(g['dirty_files'])} files ({', '.join(g['dirty_files'][:8])}{'…' if len(g['dirty_files']) > 8 else ''})." if g["dirty_files"] else "."),
        f"Command: `{res.get('command', 'eval/bench.py').strip()}`. Re-run with `make bench` or `.venv/bin/python eval/bench.py [--quick]`; "
        "the raw figures are in `eval/results/bench.json`.",
        "Every measurement is a fresh process of the script in a temporary folder (so start-up is real and each",
        "peak memory is that job's own `ru_maxrss`); the project's `data/index` and `data/cache` are not used.",
        "",
        "## This machine",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {m['cpu']}, {m['cores']} cores, no GPU |",
        f"| RAM | {m['ram_gib']} GiB |",
        f"| OS | {m['os']} |",
        f"| Python | {v['python']} |",
        f"| torch / sentence-transformers / transformers | {v['torch']} / {v['sentence-transformers']} / {v['transformers']} |",
        f"| faiss-cpu (threads) / numpy / bm25s | {v['faiss-cpu']} ({m['faiss_threads']}) / {v['numpy']} / {v['bm25s']} |",
        f"| LangChain recipe | langchain-community {v['langchain-community']} (its HuggingFaceEmbeddings), "
        f"langchain-text-splitters {v['langchain-text-splitters']}, langchain-core {v['langchain-core']} |",
        f"| model | all-MiniLM-L6-v2 (384-d), from the bundled package folder |",
        "",
    ]
    load0, load1 = res["loadavg_start"], res.get("loadavg_end", [float("nan")] * 3)
    others = res.get("others_cores_mean", 0.0)
    contention = others > 0.25 or load0[0] > 1.5 or load1[0] > 1.5
    out += [
        f"**Load.** Load average {load0[0]:.2f} / {load0[1]:.2f} / {load0[2]:.2f} (1/5/15 min) at the start, "
        f"{load1[0]:.2f} / {load1[1]:.2f} / {load1[2]:.2f} at the end; other processes used on average "
        f"{others:.2f} of the {m['cores']} cores while the bench ran (from `/proc/stat` minus the bench's own CPU time)."
        + (
            " **The machine was shared with other heavy jobs during this run**: wall-clock figures are inflated "
            "and noisy, so each section also gives CPU seconds and the other processes' load during each job "
            "(`others_cores` in the JSON). Ratios of two figures measured close together (build vs encode, hybrid vs "
            "embedding, which run interleaved) are affected less than absolute times."
            if contention
            else " The machine was otherwise quiet."
        ),
        "",
    ]
    if res["errors"]:
        out += ["**Sections that failed in this run:**", ""] + [f"- {k}: `{e[:300]}`" for k, e in res["errors"].items()] + [""]
    summary: list[tuple[str, str, str, str]] = []
    out += _render_build(res, summary)
    out += _render_reingest(res, summary)
    out += _render_startup(res, summary)
    out += _render_latency(res, summary)
    out += _render_memory(res)
    out += _render_scale(res, summary)
    head = ["## Targets at a glance", "", "| target | measured | goal | |", "|---|---|---|---|"]
    head += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in summary] + [""]
    i = out.index("## This machine")
    return "\n".join(out[:i] + head + out[i:]) + "\n"


def _render_build(res, summary) -> list[str]:
    b = res.get("build")
    if not b:
        return []
    enc = b["encode_runs"][0]
    run = min(b["runs"], key=lambda r: r["wall_s"])
    calls = enc["calls"]
    summary.append(("build from scratch / bare encode", _f(b["ratio"]), _target("build_over_encode"), _verdict("build_over_encode", b["ratio"])))
    lines = [
        "## 1. Index build vs bare encoding",
        "",
        f"The texts our index embeds, exactly as `index/build.py` makes them: {enc['passages']} passages with their "
        f"contextual header (report, section; mean {enc['mean_chars']['passage_texts']:.0f} characters) and their "
        f"{enc['sentences']} sentences (mean {_f(enc['mean_chars']['sentence_texts'], 0)} characters); "
        f"{enc['texts']} distinct texts. Bare encoding is `Embedder.encode` over them, model already loaded, "
        f"after a warm-up. The build is `ingest_reports` into an empty index folder and an empty embedding cache "
        f"(read, clean, structure, chunk, load the model, embed, bm25s, faiss, write). Interleaved build, encode, "
        f"build, encode…; {len(b['runs'])} of each; the best "
        + (f"of those measured while other processes used ≤ {QUIET_CORES} cores." if b.get("quiet") else "of all (none was measured on a quiet machine)."),
        "",
        "| | wall s | CPU s |",
        "|---|---|---|",
        f"| bare encode, passages + sentences ({enc['texts']} texts) | {_f(b['encode_s'], 1)} | {_f(b['encode_cpu_s'], 1)} |",
        f"| bare encode, passages only ({calls[0]['texts']} texts, for reference) | {_f(b['passages_only_s'], 1)} | {_f(min(e['calls'][0]['cpu_s'] for e in b['encode_runs']), 1)} |",
        f"| build from scratch (`ingest_reports`) | {_f(b['build_s'], 1)} | {_f(b['build_cpu_s'], 1)} |",
        f"| … of which model load | {_f(run['model_load_s'], 1)} | |",
        f"| … of which encoding ({run['embedded_texts']} texts in {run['encode_calls']} calls) | {_f(run['encode_s'], 1)} | |",
        f"| … of which everything else (parse, chunk, bm25s, faiss, write) | {_f(run['rest_s'], 1)} | |",
        f"| **build / bare encode** (target {_target('build_over_encode')}) | **{_f(b['ratio'])}** {_verdict('build_over_encode', b['ratio'])} | {_f(b['ratio_cpu'])} |",
        "",
        f"All runs (wall s): builds {', '.join(_f(r['wall_s'], 1) for r in b['runs'])}; encodes "
        f"{', '.join(_f(r['wall_s'], 1) for r in b['encode_runs'])}. " + _load_note(b["runs"] + b["encode_runs"]),
    ]
    if not _met("build_over_encode", b["ratio"]):
        lines += [
            "",
            f"*What limits it:* the build pays for the model load ({_f(run['model_load_s'], 1)} s, nearly all of it "
            f"importing torch and sentence-transformers) and the pipeline around the encoder ({_f(run['rest_s'], 1)} s) "
            f"on top of the encoding itself; encoding inside the build took {_f(run['encode_s'], 1)} s against "
            f"{_f(b['encode_s'], 1)} s bare. Without the model load the build is "
            f"{_f(_ratio(run['wall_s'] - run['model_load_s'], b['encode_s']))}× the bare encoding.",
        ]
    lines += [
        "",
        f"Embedding the sentences as well as the passages is the bulk of the cost: passages alone encode in "
        f"{_f(b['passages_only_s'], 1)} s, passages + sentences in {_f(b['encode_s'], 1)} s "
        f"({_f(_ratio(b['encode_s'], b['passages_only_s']), 1)}×); the best-sentence score is what lifts R@1 "
        f"(see the latency table's quality columns).",
        "",
    ]
    return lines


def _render_reingest(res, summary) -> list[str]:
    r = res.get("reingest")
    if not r:
        return []
    noop = statistics.median(x["wall_s"] for x in r["noop"])
    summary.append(("no-op re-ingest", f"{_f(noop, 2)} s", f"{_target('noop_reingest_s')} s", _verdict("noop_reingest_s", noop)))
    add, rem = r["add"], r["remove"]
    new = add.get("new_report", {})

    def row(label, x):
        return (
            f"| {label} | {_f(x['wall_s'], 2)} | {_f(x['process_s'], 2)} | {x['model_loads']} ({_f(x['model_load_s'], 1)} s) "
            f"| {x['embedded_texts']} ({_f(x['encode_s'], 2)} s) |"
        )

    lines = [
        "## 2. Re-ingest",
        "",
        "Each step is a fresh process (as `reportrag ingest` / `reportrag remove` run it) on a copy of the built index "
        "and its embedding cache. *In-process* is `ingest_reports` / `remove_report` alone; *process* adds Python "
        "start-up and imports.",
        "",
        "| step | in-process s | process s | model loads | texts embedded |",
        "|---|---|---|---|---|",
    ]
    lines += [row(f"no-op re-ingest (run {i + 1})", x) for i, x in enumerate(r["noop"])]
    lines += [
        row(f"add one small report ({new.get('passages', '?')} passages, {new.get('sentences', '?')} sentences)", add),
        row("no-op re-ingest after the add", r["noop_after_add"]),
        row("remove that report", rem),
        "",
        f"No-op re-ingest, median of {len(r['noop'])}: **{_f(noop, 2)} s** (target {_target('noop_reingest_s')} s) "
        f"{_verdict('noop_reingest_s', noop)}. Adding the report embedded {add['embedded_texts']} texts: its "
        f"{new.get('passages', '?')} passages and {new.get('sentences', '?')} sentences, nothing of the two bundled reports "
        f"(their vectors come from the cache; bm25s and faiss are rebuilt over everything). Removing it embedded "
        f"{rem['embedded_texts']} texts"
        + (
            f", but still loaded the model ({_f(rem['model_load_s'], 1)} s of its {_f(rem['wall_s'], 1)} s): the rebuild "
            "asks for an embedder before it knows every vector is cached."
            if rem["model_loads"] and not rem["embedded_texts"]
            else "."
        ),
        "",
        _load_note(r["noop"] + [add, r["noop_after_add"], rem]),
        "",
    ]
    return lines


def _render_startup(res, summary) -> list[str]:
    s = res.get("startup", {})
    if not s.get("searcher"):
        return []
    ours = statistics.median(x["startup_s"] for x in s["searcher"])
    ours_proc = statistics.median(x["process_wall_s"] for x in s["searcher"])
    lines = [
        "## 3. Start-up",
        "",
        "From the first line of a fresh process (imports included) until it can answer: for us `open_searcher` on the "
        "built index (model load, faiss, bm25s, reports); for the recipe, import LangChain, load the same model, split "
        "both reports, embed every chunk and build the FAISS store — it has no index to open. *Process* is the wall "
        "time of the whole subprocess as the parent saw it (interpreter start and exit included).",
        "",
        "| | runs, s | median s | CPU median s | process median s |",
        "|---|---|---|---|---|",
        f"| ours: `open_searcher` | {', '.join(_f(x['startup_s'], 2) for x in s['searcher'])} | {_f(ours, 2)} "
        f"| {_f(statistics.median(x.get('startup_cpu_s', float('nan')) for x in s['searcher']), 2)} | {_f(ours_proc, 2)} |",
        f"| … of which imports / model load / the rest (index, reports, reranker) | "
        f"{_f(statistics.median(x.get('imports_s', float('nan')) for x in s['searcher']), 2)} / "
        f"{_f(statistics.median(x.get('model_load_s', float('nan')) for x in s['searcher']), 2)} / "
        f"{_f(statistics.median(x['startup_s'] - x.get('imports_s', 0) - x.get('model_load_s', 0) for x in s['searcher']), 2)} | | | |",
    ]
    recipe = s.get("recipe")
    if recipe:
        theirs = statistics.median(x["startup_s"] for x in recipe)
        theirs_proc = statistics.median(x["process_wall_s"] for x in recipe)
        ratio = _ratio(theirs, ours)
        parts = recipe[0]["parts_s"]
        summary.append(("start-up: recipe / ours", f"{_f(ratio, 1)}×", f"{_target('startup_speedup')}×", _verdict("startup_speedup", ratio)))
        lines += [
            f"| plain LangChain recipe ({recipe[0]['chunks']} chunks) | {', '.join(_f(x['startup_s'], 1) for x in recipe)} | {_f(theirs, 1)} "
            f"| {_f(statistics.median(x.get('startup_cpu_s', float('nan')) for x in recipe), 1)} | {_f(theirs_proc, 1)} |",
            "",
            f"Recipe parts (first run): model {_f(parts.get('model'), 1)} s, split {_f(parts.get('split'), 2)} s, embed + "
            f"FAISS {_f(parts.get('embed_and_index'), 1)} s. **Speed-up {_f(ratio, 1)}×** (target "
            f"{_target('startup_speedup')}×) {_verdict('startup_speedup', ratio)}; on process wall times "
            f"{_f(_ratio(theirs_proc, ours_proc), 1)}×, on CPU time "
            f"{_f(_ratio(statistics.median(x.get('startup_cpu_s', float('nan')) for x in recipe), statistics.median(x.get('startup_cpu_s', float('nan')) for x in s['searcher'])), 1)}×.",
        ]
        load = statistics.median(x.get("model_load_s", float("nan")) for x in s["searcher"])
        if not _met("startup_speedup", ratio) and load == load:
            rest_ours, rest_theirs = ours - load, theirs - parts.get("model", load)
            lines += [
                "",
                f"*What limits it:* loading the model takes {_f(load, 2)} s of our {_f(ours, 2)} s — importing torch and "
                "sentence-transformers (which pulls in transformers, scikit-learn, scipy) is nearly all of it; the weights "
                "themselves load in well under a second. The recipe pays the same load, so while both load the model the "
                f"same way the ratio cannot exceed {_f(theirs, 1)} / {_f(load, 2)} = {_f(_ratio(theirs, load), 1)}×. Without "
                f"the model load our start-up is {_f(rest_ours, 2)} s against the recipe's {_f(rest_theirs, 1)} s "
                f"({_f(_ratio(rest_theirs, rest_ours), 0)}×).",
            ]
    lines += ["", _load_note(s["searcher"] + (recipe or []))]
    return lines + [""]


def _render_latency(res, summary) -> list[str]:
    lat = res.get("latency", {})
    s = lat.get("searcher")
    if not s:
        return []
    ms, q = s["latency_ms"], s["quality"]
    embed = ms["embed"]["p50"]
    recipe = lat.get("recipe", {}).get("latency_ms")
    rp50 = recipe["p50"] if recipe else float("nan")
    lines = [
        "## 4. Warm query latency",
        "",
        f"All {s['questions']} questions of `eval/questions.jsonl`, one at a time (`Searcher.search(q, k={K}, mode=…)`), "
        "after 5 warm-up questions; every mode and the bare embedding run back to back for each question. The bare "
        "query embedding is `Embedder.encode([q])`. The recipe's figure is `FAISS.similarity_search(q, k=10)` "
        "(which embeds the question too), in its own process. Quality columns: the answerable questions "
        f"({q[s['modes'][0]]['n']}), scored at passage level by `reportrag.metrics` (the recipe's chunks by their "
        "offsets in the same report text).",
        "",
        "| | p50 ms | p95 ms | CPU p50 ms | p50 / bare embed | p50 / recipe | R@1 | R@5 | R@10 | MRR@10 |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| bare query embedding | {_f(embed)} | {_f(ms['embed']['p95'])} | {_f(ms['embed'].get('cpu_p50'))} | 1.00 | {_f(_ratio(embed, rp50))} | | | | |",
    ]
    for mode in s["modes"]:
        x, qm = ms[mode], q[mode]
        lines.append(
            f"| `{mode}` | {_f(x['p50'])} | {_f(x['p95'])} | {_f(x.get('cpu_p50'))} | {_f(_ratio(x['p50'], embed))} | {_f(_ratio(x['p50'], rp50))} "
            f"| {_f(qm['recall@1'], 3)} | {_f(qm['recall@5'], 3)} | {_f(qm['recall@10'], 3)} | {_f(qm['mrr@10'], 3)} |"
        )
    if "embed_alone" in ms:
        lines.append(
            f"| *diagnostic:* bare embedding, calls back to back with nothing between | {_f(ms['embed_alone']['p50'])} "
            f"| {_f(ms['embed_alone']['p95'])} | {_f(ms['embed_alone'].get('cpu_p50'))} | {_f(_ratio(ms['embed_alone']['p50'], embed))} "
            f"| {_f(_ratio(ms['embed_alone']['p50'], rp50))} | | | | |"
        )
    if "hybrid_blas1" in ms:
        for name, label in (("embed_blas1", "bare embedding"), ("hybrid_blas1", "`hybrid`")):
            x = ms[name]
            lines.append(
                f"| *diagnostic:* {label}, numpy's BLAS held to 1 thread | {_f(x['p50'])} | {_f(x['p95'])} | {_f(x.get('cpu_p50'))} "
                f"| {_f(_ratio(x['p50'], embed))} | {_f(_ratio(x['p50'], rp50))} | | | | |"
            )
    if recipe:
        rq = lat["recipe"]["quality"]
        lines.append(
            f"| plain LangChain recipe (chunks of ~{lat['recipe']['mean_hit_chars']:.0f} chars) | {_f(rp50)} | {_f(recipe['p95'])} "
            f"| {_f(recipe.get('cpu_p50'))} | {_f(_ratio(rp50, embed))} | 1.00 | {_f(rq['recall@1'], 3)} | {_f(rq['recall@5'], 3)} | {_f(rq['recall@10'], 3)} | {_f(rq['mrr@10'], 3)} |"
        )
    hybrid = ms.get("hybrid", {}).get("p50", float("nan"))
    r_embed, r_recipe = _ratio(hybrid, embed), _ratio(hybrid, rp50)
    cpu = lambda d: (d or {}).get("cpu_p50", float("nan"))  # noqa: E731
    c_embed, c_recipe = _ratio(cpu(ms.get("hybrid")), cpu(ms["embed"])), _ratio(cpu(ms.get("hybrid")), cpu(recipe))
    summary.append(("hybrid p50 / bare embed p50", _f(r_embed), _target("hybrid_over_embed"), _verdict("hybrid_over_embed", r_embed)))
    summary.append(("hybrid p50 / recipe p50", _f(r_recipe), _target("hybrid_over_recipe"), _verdict("hybrid_over_recipe", r_recipe)))
    lines += [
        "",
        f"`hybrid`: p50 / bare embedding **{_f(r_embed)}** (target {_target('hybrid_over_embed')}) {_verdict('hybrid_over_embed', r_embed)}; "
        f"p50 / recipe **{_f(r_recipe)}** (target {_target('hybrid_over_recipe')}) {_verdict('hybrid_over_recipe', r_recipe)}. "
        f"On CPU time per query (what contention does not inflate): {_f(c_embed)} and {_f(c_recipe)}. "
        f"Inside it, bm25s scoring takes {_f(ms['keyword_scores']['p50'])} ms and the whole fused score (passage and "
        f"sentence cosines, bm25s, fusion, no embedding) {_f(ms['hybrid_scores']['p50'])} ms at p50.",
    ]
    if "hybrid+rerank" in ms:
        rr = ms["hybrid+rerank"]["p50"]
        lines.append(
            f"The default mode `hybrid+rerank` (with the configured reranker; the built-in reference re-scoring unless "
            f"one is set) is {_f(_ratio(rr, embed))}× the bare embedding and {_f(_ratio(rr, rp50))}× the recipe."
        )
    if r_embed == r_embed and not _met("hybrid_over_embed", r_embed):
        text = (
            f"*What limits hybrid / bare embedding:* not the scoring — the fused score takes {_f(ms['hybrid_scores']['p50'])} ms "
            f"(bm25s {_f(ms['keyword_scores']['p50'])} ms) — but the embedding inside a search: numpy's OpenBLAS threads "
            "spin for a while after each matrix product and take the two cores that torch's threads need for the next "
            f"embedding, so `hybrid` ({_f(hybrid)} ms) is slower than its embedding plus its scoring "
            f"({_f(embed)} + {_f(ms['hybrid_scores']['p50'])} ms)."
        )
        if "hybrid_blas1" in ms:
            text += (
                f" With BLAS held to one thread the same loop gives {_f(ms['hybrid_blas1']['p50'])} ms against "
                f"{_f(ms['embed_blas1']['p50'])} ms ({_f(_ratio(ms['hybrid_blas1']['p50'], ms['embed_blas1']['p50']))}×)."
            )
        lines.append(text)
    if r_recipe == r_recipe and not _met("hybrid_over_recipe", r_recipe):
        text = (
            "*What limits hybrid / recipe:* the recipe's `similarity_search` is one embedding of the question plus a flat "
            f"faiss search over {lat['recipe'].get('chunks', '?')} vectors; `hybrid` does that same embedding and then "
            f"scores {res['build']['encode_runs'][0]['passages'] if res.get('build') else '?'} passages, their sentences and "
            "bm25s, so on equal embeddings it cannot be faster."
        )
        if "embed_alone" in ms:
            text += (
                f" The bigger gap is the embedding itself: {_f(embed)} ms at p50 inside the search loop against "
                f"{_f(ms['embed_alone']['p50'])} ms when nothing runs between two embeddings, because numpy's OpenBLAS "
                "threads keep spinning after each matrix product and take the two cores torch's threads need."
            )
        if "hybrid_blas1" in ms:
            h1 = ms["hybrid_blas1"]["p50"]
            text += (
                f" With BLAS held to one thread (`threadpoolctl.threadpool_limits(1, 'blas')` around the scoring, a one-line "
                f"change outside this benchmark) hybrid takes {_f(h1)} ms: {_f(_ratio(h1, rp50))}× the recipe and "
                f"{_f(_ratio(h1, ms['embed_blas1']['p50']))}× its own bare embedding."
            )
        lines.append(text)
    lines += ["", _load_note([s, lat.get("recipe")])]
    return lines + [""]


def _render_memory(res) -> list[str]:
    lat, st = res.get("latency", {}), res.get("startup", {})
    if not lat.get("searcher"):
        return []
    s = lat["searcher"]
    lines = [
        "## 5. Peak memory",
        "",
        "Peak resident memory (`ru_maxrss`) of each process.",
        "",
        "| process | peak RSS MiB |",
        "|---|---|",
        f"| searcher: start-up only (median of {len(st.get('searcher', []))}) | {_f(statistics.median(x['job_peak_rss_mib'] for x in st['searcher']), 0) if st.get('searcher') else '–'} |",
        f"| searcher after {s['questions']} questions × {len(s['modes'])} modes | {_f(s['job_peak_rss_mib'], 0)} |",
    ]
    recipe = lat.get("recipe")
    if recipe:
        lines.append(f"| plain LangChain recipe after start-up and {s['questions']} questions | {_f(recipe['job_peak_rss_mib'], 0)} |")
    b = res.get("build")
    if b:
        lines.append(f"| build from scratch (`ingest_reports`) | {_f(max(r['job_peak_rss_mib'] for r in b['runs']), 0)} |")
    return lines + [""]


def _render_scale(res, summary) -> list[str]:
    scales = res.get("scale") or []
    if not scales:
        return []
    d0 = scales[0]
    lines = [
        "## 6. The vector index at scale",
        "",
        f"**Data.** n unit vectors, each a random one of our {d0['real_vectors']:,} real embeddings (passages with "
        f"header, and sentences) plus gaussian noise N(0, σ²/384) per dimension, renormalised, σ = {d0['sigma']:g}. "
        "σ was tuned so that neighbours are not trivial: while tuning at 100k, σ = 0.3 left each query's top 10 as "
        "near-identical copies of one real text (1.6 distinct sources); at σ = 1 a copy sits at cosine ≈ 0.71 from "
        "its real vector — about as far as a question from its best passage (median 0.70) and farther than two "
        "neighbouring real texts (median 0.80) — so a query's top 10 mix several sources whose copies interleave "
        "by small margins. Queries are the real embeddings of the 190 eval questions; truth is exact `IndexFlatIP`. "
        f"Every search is a single query, faiss with its default {d0['faiss_threads']} threads (production sets none).",
        "",
        "| n | cos copy→its real vector | cos question→top 1 / top 10 | distinct sources in a top 10 | top-10 share of the best source | exact p50 ms |",
        "|---|---|---|---|---|---|",
    ]
    for s in scales:
        d = s["data"]
        lines.append(
            f"| {s['n']:,} | {_f(d['cos_copy_to_its_real_vector_median'], 3)} | {_f(d['cos_question_top1_median'], 3)} / "
            f"{_f(d['cos_question_top10_median'], 3)} | {_f(d['distinct_real_sources_in_top10_mean'], 1)} | "
            f"{_f(d['top10_share_from_best_real_source'], 2)} | {_f(s['exact']['p50'], 1)} |"
        )
    for s in scales:
        if s.get("exact_by_size"):
            lines += [
                "",
                f"**Exact search by size** (single query, p50 ms; vectors from the {s['n']:,} set): as the searcher does it "
                "(numpy matrix-vector product + top 10) / as faiss `IndexFlatIP` does it.",
                "",
                "| vectors | " + " | ".join(f"{r['n']:,}" for r in s["exact_by_size"]) + " |",
                "|---|" + "---|" * len(s["exact_by_size"]),
                "| numpy / faiss ms | " + " | ".join(f"{_f(r['numpy_p50'])} / {_f(r['faiss_p50'])}" for r in s["exact_by_size"]) + " |",
            ]
            break
    lines += ["", "**Candidates** (build, memory the index holds, and the sweep of each one's search knob: recall@10 / p50 ms):", ""]
    lines += ["| n | index | build s | memory MiB | sweep: setting → recall@10 / p50 ms | cheapest setting meeting both targets |", "|---|---|---|---|---|---|"]
    for s in scales:
        p = s["production"]
        rows = [("production: " + p["kind"], p)] + [(c["kind"], c) for c in s.get("candidates", [])]
        for label, c in rows:
            sweep = c.get("sweep") or []
            knob = c.get("knob")
            cells = "; ".join(f"{r[knob]} → {_f(r['recall@10'], 3)} / {_f(r['p50'], 2)}" for r in sweep)
            pick = c.get("pick")
            pick_s = f"{knob} {pick[knob]}: {_f(pick['recall@10'], 3)} / {_f(pick['p50'], 2)} ms" if pick else "none"
            lines.append(f"| {s['n']:,} | {label} | {_f(c['build_s'], 0)} | {_f(c['memory_mib'], 0)} | {cells} | {pick_s} |")
    auto = d0["automatic_choice"]
    if d0.get("settings_exact_search_up_to") is not None:
        auto += f"; the searcher switches at `Settings.exact_search_up_to` = {d0['settings_exact_search_up_to']:,}"
    lines += ["", "**What `index/vectors.py` builds** above its exact threshold (" + auto + "), with its own settings:", ""]
    lines += ["| n | index | build s (CPU s) | memory MiB | recall@10 | p50 ms | p95 ms | CPU p50 ms | p50 ms for the searcher's k | job peak RSS MiB |", "|---|---|---|---|---|---|---|---|---|---|"]
    for s in scales:
        p = s["production"]
        lines.append(
            f"| {s['n']:,} | {p['kind']}, {p['knob']}={p['value']} | {_f(p['build_s'], 0)} ({_f(p['build_cpu_s'], 0)}) | {_f(p['memory_mib'], 0)} "
            f"| {_f(p['recall@10'], 3)} {_verdict('scale_recall', p['recall@10'])} | {_f(p['p50'], 2)} {_verdict('scale_p50_ms', p['p50'])} "
            f"| {_f(p['p95'], 2)} | {_f(p.get('cpu_p50'), 2)} | "
            + (f"{_f(p['candidates_query']['p50'], 2)} (k={p['candidates_k']:,})" if p.get("candidates_query") else "–")
            + f" | {_f(s['peak_rss_mib'], 0)} |"
        )
        summary.append((f"{s['n']:,} vectors: recall@10", _f(p["recall@10"], 3), _target("scale_recall"), _verdict("scale_recall", p["recall@10"])))
        summary.append((f"{s['n']:,} vectors: query p50", f"{_f(p['p50'], 2)} ms", f"{_target('scale_p50_ms')} ms", _verdict("scale_p50_ms", p["p50"])))
    lines += ["", _load_note(scales)]
    return lines + [""]


if __name__ == "__main__":
    sys.exit(main())
