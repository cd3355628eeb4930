"""The vector index at scale (a child job): synthetic vectors made from the reports' real ones, exact truth, the
approximate index index/vectors.py builds, and HNSW candidates swept over their search knob."""

from __future__ import annotations

from pathlib import Path

from reportrag.eval.bench.common import K, NOISE_SIGMA, TARGETS
from reportrag.eval.bench.jobs import settings_for
from reportrag.eval.bench.measure import Clock, Timed, peak_rss_mib, rss_mib

EXACT_SIZES = (5_000, 10_000, 20_000, 50_000, 100_000, 200_000)
EXACT_ALL_QUERIES_UP_TO = 200_000  # above, exact single queries are slow: only the first 60 questions are timed


def synthetic(base, n: int, *, sigma: float, seed: int):
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


def describe(index) -> tuple[str, str | None, int | None]:
    """A faiss index's kind, its search knob and the knob's value."""
    import faiss

    if isinstance(index, faiss.IndexHNSW):
        return f"HNSW M={index.hnsw.nb_neighbors(1)} efConstruction={index.hnsw.efConstruction}", "efSearch", index.hnsw.efSearch
    try:
        ivf = faiss.extract_index_ivf(index)
        return f"{type(index).__name__} nlist={ivf.nlist}", "nprobe", ivf.nprobe
    except (RuntimeError, TypeError, AttributeError):
        return type(index).__name__, None, None


def index_mib(index) -> float:
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


def set_knob(index, knob: str, value: int) -> None:
    import faiss

    if knob == "efSearch":
        index.hnsw.efSearch = value
    else:
        faiss.extract_index_ivf(index).nprobe = value


def single_queries(index, queries, truth, search, k: int = K) -> dict:
    """Each query alone (as a searcher asks); recall@10 against the exact neighbours."""
    import numpy as np

    timed, recalls = Timed(), []
    for i in range(len(queries)):
        _, found = timed("q", search, index, queries[i : i + 1], k)
        recalls.append(len(set(found[0][:K].tolist()) & set(truth[i].tolist())) / K)
    return {"recall@10": float(np.mean(recalls)), **timed.summary()["q"]}


def _numpy_top_k(vectors, query):
    """Exact search as the searcher does it: one matrix-vector product and an unordered top K."""
    import numpy as np

    return np.argpartition(-(vectors @ query), K)[:K]


def exact_by_size(x, queries, truth_n: int) -> list[dict]:
    """Exact search cost by corpus size, as the searcher does it (one matrix-vector product and a top-k) and
    as faiss's IndexFlatIP does it: where exact search stops being cheap decides EXACT_UP_TO."""
    import faiss
    import numpy as np

    rows = []
    for m in EXACT_SIZES:
        if m > truth_n or m > 200_000:
            break
        xm = np.ascontiguousarray(x[:m])
        flat = faiss.IndexFlatIP(xm.shape[1])
        flat.add(xm)
        timed = Timed()  # one loop each: interleaved, OpenBLAS's and faiss's OpenMP idle threads spin against each other
        for v in queries:
            timed("numpy", _numpy_top_k, xm, v)
        for v in queries:
            timed("faiss", flat.search, v[None, :], K)
        summary = timed.summary()
        rows.append({"n": m, "numpy_p50": summary["numpy"]["p50"], "faiss_p50": summary["faiss"]["p50"]})
        del flat, xm  # the next size's copy should not stack on this one's
    return rows


def sweep(index, knob, values, queries, truth, search) -> list[dict]:
    rows = []
    for value in values:
        set_knob(index, knob, value)
        rows.append({knob: value, **single_queries(index, queries, truth, search)})
    return rows


def pick(rows: list[dict], knob: str) -> dict | None:
    """The smallest setting (least work a query) meeting the recall and latency targets."""
    ok = [r for r in rows if r["recall@10"] >= TARGETS["scale_recall"][1] and r["p50"] <= TARGETS["scale_p50_ms"][1]]
    return min(ok, key=lambda r: r[knob]) if ok else None


def job_scale(work: Path, opts: dict) -> dict:
    """n synthetic vectors from the reports' real ones; the approximate index vectors.py builds, and candidates."""
    import faiss
    import numpy as np

    n = opts["n"]
    settings = settings_for(work)
    base = _real_vectors(settings)
    queries = np.load(work / "questions.npy", allow_pickle=False)  # written by the searcher's latency job
    out: dict = {"n": n, "real_vectors": len(base), "queries": len(queries), "sigma": NOISE_SIGMA, "faiss_threads": faiss.omp_get_max_threads()}

    with Clock() as gen:
        x, source = synthetic(base, n, sigma=NOISE_SIGMA, seed=n)
    out["generate_s"] = gen.wall
    sims, truth = _exact(x, queries, out)
    out["data"] = _difficulty(x, source, base, queries, sims, truth)
    out.update(_production(x, queries, truth, opts, settings))
    out["candidates"] = [_hnsw_candidate(x, queries, truth, spec) for spec in opts.get("candidates", [])]
    out["peak_rss_mib"] = peak_rss_mib()
    return out


def _real_vectors(settings):
    """The built index's passage and sentence vectors: what the synthetic ones are copies of."""
    import numpy as np
    from reportrag.index import search_index as store
    from reportrag.index.model_path import model_name

    from reportrag.service.ingesting import model_dir

    real = store.load(settings.index.index_dir, model=model_name(model_dir(settings)))
    return np.concatenate([real.passage_vectors, real.sentence_vectors]).astype(np.float32)


def _exact(x, queries, out: dict):
    """Exact neighbours (the truth), and what exact search costs one query at a time; into ``out``."""
    import faiss
    from reportrag.index import vectors as vector_index

    n = len(x)
    with Clock() as c:
        flat = faiss.IndexFlatIP(x.shape[1])
        flat.add(x)
    sims, truth = flat.search(queries, K)
    n_exact = len(queries) if n <= EXACT_ALL_QUERIES_UP_TO else 60
    exact = single_queries(flat, queries[:n_exact], truth[:n_exact], vector_index.search)
    out["exact"] = {"build_s": c.wall, "memory_mib": index_mib(flat), **exact}
    del flat  # freed before the next index is built, so peak memory is one index at a time
    if n <= EXACT_ALL_QUERIES_UP_TO:
        out["exact_by_size"] = exact_by_size(x, queries, truth_n=n)
    return sims, truth


def _difficulty(x, source, base, queries, sims, truth) -> dict:
    """How hard the neighbours are: how far copies sit from their source, and how mixed a top 10 is."""
    import numpy as np

    real_sim = base @ base.T
    np.fill_diagonal(real_sim, -1)
    best_real = (queries @ base.T).argmax(1)
    sample = slice(0, min(len(x), 20_000))
    return {
        "cos_copy_to_its_real_vector_median": float(np.median(np.sum(x[sample] * base[source[sample]], axis=1))),
        "cos_real_vector_to_its_nearest_real_median": float(np.median(real_sim.max(1))),
        "cos_question_to_best_real_median": float(np.median((queries @ base.T).max(1))),
        "cos_question_top1_median": float(np.median(sims[:, 0])),
        "cos_question_top10_median": float(np.median(sims[:, K - 1])),
        "distinct_real_sources_in_top10_mean": float(np.mean([len(set(source[row].tolist())) for row in truth])),
        "top10_share_from_best_real_source": float(np.mean(source[truth] == best_real[:, None])),
    }


def _production(x, queries, truth, opts: dict, settings) -> dict:
    """The production choice: vectors.py's approximate index (forced: exact_up_to below n), its knob swept."""
    from reportrag.index import vectors as vector_index

    rss = rss_mib()
    with Clock() as c:
        index = vector_index.build(x, exact_up_to=0)
    kind, knob, value = describe(index)
    prod = {"kind": kind, "knob": knob, "value": value, "build_s": c.wall, "build_cpu_s": c.cpu, "memory_mib": index_mib(index), "rss_growth_mib": rss_mib() - rss}
    prod.update(single_queries(index, queries, truth, vector_index.search))
    try:  # what the searcher asks an approximate index for: its candidate pool, not 10
        from reportrag.retrieval.search import CANDIDATES

        prod["candidates_k"] = CANDIDATES
        prod["candidates_query"] = single_queries(index, queries, truth, vector_index.search, k=CANDIDATES)
    except ImportError:
        pass
    if knob:
        values = sorted({v for v in opts.get("sweep", {}).get(knob, []) if v != value} | {value})
        prod["sweep"] = sweep(index, knob, values, queries, truth, vector_index.search)
        set_knob(index, knob, value)
    prod_rows = prod.get("sweep") or [{**{k: v for k, v in prod.items() if k in ("recall@10", "p50", "p95")}, knob: value}]
    prod["pick"] = pick(prod_rows, knob) if knob else None
    automatic = describe(vector_index.build(x[:1], exact_up_to=vector_index.EXACT_UP_TO))[0] + (
        f" up to {vector_index.EXACT_UP_TO:,} vectors (index/vectors.py's default), {kind} above"
    )
    return {
        "production": prod,
        "automatic_choice": automatic,
        "settings_exact_search_up_to": getattr(settings, "exact_search_up_to", None),
    }


def _hnsw_candidate(x, queries, truth, spec: dict) -> dict:
    """Another candidate (an HNSW variant), built here with the same data and queries; its efSearch swept."""
    import faiss
    from reportrag.index import vectors as vector_index

    rss = rss_mib()
    with Clock() as c:
        index = faiss.IndexHNSWFlat(x.shape[1], spec["M"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = spec["efConstruction"]
        index.add(x)
    row = {"kind": describe(index)[0], "knob": "efSearch", "build_s": c.wall, "build_cpu_s": c.cpu, "memory_mib": index_mib(index), "rss_growth_mib": rss_mib() - rss}
    row["sweep"] = sweep(index, "efSearch", spec["efSearch"], queries, truth, vector_index.search)
    row["pick"] = pick(row["sweep"], "efSearch")
    return row
