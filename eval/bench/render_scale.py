"""BENCHMARKS.md section 6: the vector index at scale (how hard the synthetic data is, exact search by size, each
candidate's knob sweep, and the index index/vectors.py builds)."""

from __future__ import annotations

from reportrag.eval.bench.render_format import fmt, load_note, target, verdict


def scale_section(res: dict, summary: list) -> list[str]:
    scales = res.get("scale") or []
    if not scales:
        return []
    lines = _data_table(scales) + _exact_by_size_table(scales) + _candidates_table(scales)
    lines += _production_table(scales, summary)
    lines += ["", load_note(scales)]
    return lines + [""]


def _data_table(scales: list[dict]) -> list[str]:
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
            f"| {s['n']:,} | {fmt(d['cos_copy_to_its_real_vector_median'], 3)} | {fmt(d['cos_question_top1_median'], 3)} / "
            f"{fmt(d['cos_question_top10_median'], 3)} | {fmt(d['distinct_real_sources_in_top10_mean'], 1)} | "
            f"{fmt(d['top10_share_from_best_real_source'], 2)} | {fmt(s['exact']['p50'], 1)} |"
        )
    return lines


def _exact_by_size_table(scales: list[dict]) -> list[str]:
    """From the first scale that measured it (only the smaller scales do)."""
    for s in scales:
        if s.get("exact_by_size"):
            return [
                "",
                f"**Exact search by size** (single query, p50 ms; vectors from the {s['n']:,} set): as the searcher does it "
                "(numpy matrix-vector product + top 10) / as faiss `IndexFlatIP` does it.",
                "",
                "| vectors | " + " | ".join(f"{r['n']:,}" for r in s["exact_by_size"]) + " |",
                "|---|" + "---|" * len(s["exact_by_size"]),
                "| numpy / faiss ms | " + " | ".join(f"{fmt(r['numpy_p50'])} / {fmt(r['faiss_p50'])}" for r in s["exact_by_size"]) + " |",
            ]
    return []


def _candidates_table(scales: list[dict]) -> list[str]:
    lines = ["", "**Candidates** (build, memory the index holds, and the sweep of each one's search knob: recall@10 / p50 ms):", ""]
    lines += ["| n | index | build s | memory MiB | sweep: setting → recall@10 / p50 ms | cheapest setting meeting both targets |", "|---|---|---|---|---|---|"]
    for s in scales:
        p = s["production"]
        rows = [("production: " + p["kind"], p)] + [(c["kind"], c) for c in s.get("candidates", [])]
        for label, c in rows:
            sweep = c.get("sweep") or []
            knob = c.get("knob")
            cells = "; ".join(f"{r[knob]} → {fmt(r['recall@10'], 3)} / {fmt(r['p50'], 2)}" for r in sweep)
            pick = c.get("pick")
            pick_s = f"{knob} {pick[knob]}: {fmt(pick['recall@10'], 3)} / {fmt(pick['p50'], 2)} ms" if pick else "none"
            lines.append(f"| {s['n']:,} | {label} | {fmt(c['build_s'], 0)} | {fmt(c['memory_mib'], 0)} | {cells} | {pick_s} |")
    return lines


def _production_table(scales: list[dict], summary: list) -> list[str]:
    """The index index/vectors.py builds above its exact threshold, with its own settings, against the targets."""
    d0 = scales[0]
    auto = d0["automatic_choice"]
    if d0.get("settings_exact_search_up_to") is not None:
        auto += f"; the searcher switches at `Settings.exact_search_up_to` = {d0['settings_exact_search_up_to']:,}"
    lines = ["", "**What `index/vectors.py` builds** above its exact threshold (" + auto + "), with its own settings:", ""]
    lines += ["| n | index | build s (CPU s) | memory MiB | recall@10 | p50 ms | p95 ms | CPU p50 ms | p50 ms for the searcher's k | job peak RSS MiB |", "|---|---|---|---|---|---|---|---|---|---|"]
    for s in scales:
        p = s["production"]
        lines.append(
            f"| {s['n']:,} | {p['kind']}, {p['knob']}={p['value']} | {fmt(p['build_s'], 0)} ({fmt(p['build_cpu_s'], 0)}) | {fmt(p['memory_mib'], 0)} "
            f"| {fmt(p['recall@10'], 3)} {verdict('scale_recall', p['recall@10'])} | {fmt(p['p50'], 2)} {verdict('scale_p50_ms', p['p50'])} "
            f"| {fmt(p['p95'], 2)} | {fmt(p.get('cpu_p50'), 2)} | "
            + (f"{fmt(p['candidates_query']['p50'], 2)} (k={p['candidates_k']:,})" if p.get("candidates_query") else "–")
            + f" | {fmt(s['peak_rss_mib'], 0)} |"
        )
        summary.append((f"{s['n']:,} vectors: recall@10", fmt(p["recall@10"], 3), target("scale_recall"), verdict("scale_recall", p["recall@10"])))
        summary.append((f"{s['n']:,} vectors: query p50", f"{fmt(p['p50'], 2)} ms", f"{target('scale_p50_ms')} ms", verdict("scale_p50_ms", p["p50"])))
    return lines
