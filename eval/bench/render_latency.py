"""BENCHMARKS.md section 4: warm query latency, ours per mode and the LangChain recipe's, with retrieval quality
beside it and, where a target is missed, what limits it."""

from __future__ import annotations

from reportrag.eval.bench.common import K, met, ratio
from reportrag.eval.bench.render_format import fmt, load_note, target, verdict

NAN = float("nan")


def latency_section(res: dict, summary: list) -> list[str]:
    lat = res.get("latency", {})
    s = lat.get("searcher")
    if not s:
        return []
    ms = s["latency_ms"]
    embed = ms["embed"]["p50"]
    recipe = lat.get("recipe", {}).get("latency_ms")
    rp50 = recipe["p50"] if recipe else NAN
    lines = _latency_table(lat, embed, rp50) + _hybrid_verdict(ms, embed, recipe, rp50, summary)
    lines += _hybrid_limits(res, ms, embed, rp50)
    lines += ["", load_note([s, lat.get("recipe")])]
    return lines + [""]


def _latency_table(lat: dict, embed: float, rp50: float) -> list[str]:
    s = lat["searcher"]
    ms, q = s["latency_ms"], s["quality"]
    recipe = lat.get("recipe", {}).get("latency_ms")
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
        f"| bare query embedding | {fmt(embed)} | {fmt(ms['embed']['p95'])} | {fmt(ms['embed'].get('cpu_p50'))} | 1.00 | {fmt(ratio(embed, rp50))} | | | | |",
    ]
    for mode in s["modes"]:
        x, qm = ms[mode], q[mode]
        lines.append(
            f"| `{mode}` | {fmt(x['p50'])} | {fmt(x['p95'])} | {fmt(x.get('cpu_p50'))} | {fmt(ratio(x['p50'], embed))} | {fmt(ratio(x['p50'], rp50))} "
            f"| {fmt(qm['recall@1'], 3)} | {fmt(qm['recall@5'], 3)} | {fmt(qm['recall@10'], 3)} | {fmt(qm['mrr@10'], 3)} |"
        )
    lines += _diagnostic_rows(ms, embed, rp50)
    if recipe:
        rq = lat["recipe"]["quality"]
        lines.append(
            f"| plain LangChain recipe (chunks of ~{lat['recipe']['mean_hit_chars']:.0f} chars) | {fmt(rp50)} | {fmt(recipe['p95'])} "
            f"| {fmt(recipe.get('cpu_p50'))} | {fmt(ratio(rp50, embed))} | 1.00 | {fmt(rq['recall@1'], 3)} | {fmt(rq['recall@5'], 3)} | {fmt(rq['recall@10'], 3)} | {fmt(rq['mrr@10'], 3)} |"
        )
    return lines


def _diagnostic_rows(ms: dict, embed: float, rp50: float) -> list[str]:
    """Rows for the diagnostics the latency job measured: embedding alone, and with numpy's BLAS on one thread."""
    lines = []
    if "embed_alone" in ms:
        lines.append(
            f"| *diagnostic:* bare embedding, calls back to back with nothing between | {fmt(ms['embed_alone']['p50'])} "
            f"| {fmt(ms['embed_alone']['p95'])} | {fmt(ms['embed_alone'].get('cpu_p50'))} | {fmt(ratio(ms['embed_alone']['p50'], embed))} "
            f"| {fmt(ratio(ms['embed_alone']['p50'], rp50))} | | | | |"
        )
    if "hybrid_blas1" in ms:
        for name, label in (("embed_blas1", "bare embedding"), ("hybrid_blas1", "`hybrid`")):
            x = ms[name]
            lines.append(
                f"| *diagnostic:* {label}, numpy's BLAS held to 1 thread | {fmt(x['p50'])} | {fmt(x['p95'])} | {fmt(x.get('cpu_p50'))} "
                f"| {fmt(ratio(x['p50'], embed))} | {fmt(ratio(x['p50'], rp50))} | | | | |"
            )
    return lines


def _cpu_p50(timing: dict | None) -> float:
    return (timing or {}).get("cpu_p50", NAN)


def _hybrid_verdict(ms: dict, embed: float, recipe: dict | None, rp50: float, summary: list) -> list[str]:
    """`hybrid` against the bare embedding and against the recipe, on wall and CPU time; the default mode's cost."""
    hybrid = ms.get("hybrid", {}).get("p50", NAN)
    r_embed, r_recipe = ratio(hybrid, embed), ratio(hybrid, rp50)
    hybrid_cpu = _cpu_p50(ms.get("hybrid"))
    c_embed, c_recipe = ratio(hybrid_cpu, _cpu_p50(ms["embed"])), ratio(hybrid_cpu, _cpu_p50(recipe))
    summary.append(("hybrid p50 / bare embed p50", fmt(r_embed), target("hybrid_over_embed"), verdict("hybrid_over_embed", r_embed)))
    summary.append(("hybrid p50 / recipe p50", fmt(r_recipe), target("hybrid_over_recipe"), verdict("hybrid_over_recipe", r_recipe)))
    lines = [
        "",
        f"`hybrid`: p50 / bare embedding **{fmt(r_embed)}** (target {target('hybrid_over_embed')}) {verdict('hybrid_over_embed', r_embed)}; "
        f"p50 / recipe **{fmt(r_recipe)}** (target {target('hybrid_over_recipe')}) {verdict('hybrid_over_recipe', r_recipe)}. "
        f"On CPU time per query (what contention does not inflate): {fmt(c_embed)} and {fmt(c_recipe)}. "
        f"Inside it, bm25s scoring takes {fmt(ms['keyword_scores']['p50'])} ms and the whole fused score (passage and "
        f"sentence cosines, bm25s, fusion, no embedding) {fmt(ms['hybrid_scores']['p50'])} ms at p50.",
    ]
    if "hybrid+rerank" in ms:
        rr = ms["hybrid+rerank"]["p50"]
        lines.append(
            f"The default mode `hybrid+rerank` (with the configured reranker; the built-in reference re-scoring unless "
            f"one is set) is {fmt(ratio(rr, embed))}× the bare embedding and {fmt(ratio(rr, rp50))}× the recipe."
        )
    return lines


def _hybrid_limits(res: dict, ms: dict, embed: float, rp50: float) -> list[str]:
    """What limits `hybrid`, for each of its two latency targets it missed (nothing when both were met)."""
    hybrid = ms.get("hybrid", {}).get("p50", NAN)
    r_embed, r_recipe = ratio(hybrid, embed), ratio(hybrid, rp50)
    lines = []
    if r_embed == r_embed and not met("hybrid_over_embed", r_embed):
        lines.append(_limits_against_embedding(ms, embed, hybrid))
    if r_recipe == r_recipe and not met("hybrid_over_recipe", r_recipe):
        lines.append(_limits_against_recipe(res, ms, embed, rp50))
    return lines


def _limits_against_embedding(ms: dict, embed: float, hybrid: float) -> str:
    text = (
        f"*What limits hybrid / bare embedding:* not the scoring — the fused score takes {fmt(ms['hybrid_scores']['p50'])} ms "
        f"(bm25s {fmt(ms['keyword_scores']['p50'])} ms) — but the embedding inside a search: numpy's OpenBLAS threads "
        "spin for a while after each matrix product and take the two cores that torch's threads need for the next "
        f"embedding, so `hybrid` ({fmt(hybrid)} ms) is slower than its embedding plus its scoring "
        f"({fmt(embed)} + {fmt(ms['hybrid_scores']['p50'])} ms)."
    )
    if "hybrid_blas1" in ms:
        text += (
            f" With BLAS held to one thread the same loop gives {fmt(ms['hybrid_blas1']['p50'])} ms against "
            f"{fmt(ms['embed_blas1']['p50'])} ms ({fmt(ratio(ms['hybrid_blas1']['p50'], ms['embed_blas1']['p50']))}×)."
        )
    return text


def _limits_against_recipe(res: dict, ms: dict, embed: float, rp50: float) -> str:
    text = (
        "*What limits hybrid / recipe:* the recipe's `similarity_search` is one embedding of the question plus a flat "
        f"faiss search over {res['latency']['recipe'].get('chunks', '?')} vectors; `hybrid` does that same embedding and then "
        f"scores {res['build']['encode_runs'][0]['passages'] if res.get('build') else '?'} passages, their sentences and "
        "bm25s, so on equal embeddings it cannot be faster."
    )
    if "embed_alone" in ms:
        text += (
            f" The bigger gap is the embedding itself: {fmt(embed)} ms at p50 inside the search loop against "
            f"{fmt(ms['embed_alone']['p50'])} ms when nothing runs between two embeddings, because numpy's OpenBLAS "
            "threads keep spinning after each matrix product and take the two cores torch's threads need."
        )
    if "hybrid_blas1" in ms:
        h1 = ms["hybrid_blas1"]["p50"]
        text += (
            f" With BLAS held to one thread (`threadpoolctl.threadpool_limits(1, 'blas')` around the scoring, a one-line "
            f"change outside this benchmark) hybrid takes {fmt(h1)} ms: {fmt(ratio(h1, rp50))}× the recipe and "
            f"{fmt(ratio(h1, ms['embed_blas1']['p50']))}× its own bare embedding."
        )
    return text
