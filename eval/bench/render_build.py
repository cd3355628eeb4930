"""BENCHMARKS.md sections 1 and 2: the index build against bare encoding, and re-ingest."""

from __future__ import annotations

import statistics

from reportrag.eval.bench.common import QUIET_CORES, met, ratio
from reportrag.eval.bench.render_format import fmt, load_note, target, verdict


def build_section(res: dict, summary: list) -> list[str]:
    """1. The from-scratch build against bare encoding of the same texts."""
    b = res.get("build")
    if not b:
        return []
    run = min(b["runs"], key=lambda r: r["wall_s"])
    summary.append(("build from scratch / bare encode", fmt(b["ratio"]), target("build_over_encode"), verdict("build_over_encode", b["ratio"])))
    return _build_table(b, run) + _build_notes(b, run)


def _build_table(b: dict, run: dict) -> list[str]:
    enc = b["encode_runs"][0]
    calls = enc["calls"]
    return [
        "## 1. Index build vs bare encoding",
        "",
        f"The texts our index embeds, exactly as `index/build.py` makes them: {enc['passages']} passages with their "
        f"contextual header (report, section; mean {enc['mean_chars']['passage_texts']:.0f} characters) and their "
        f"{enc['sentences']} sentences (mean {fmt(enc['mean_chars']['sentence_texts'], 0)} characters); "
        f"{enc['texts']} distinct texts. Bare encoding is `Embedder.encode` over them, model already loaded, "
        f"after a warm-up. The build is `ingest_reports` into an empty index folder and an empty embedding cache "
        f"(read, clean, structure, chunk, load the model, embed, bm25s, faiss, write). Interleaved build, encode, "
        f"build, encode…; {len(b['runs'])} of each; the best "
        + (f"of those measured while other processes used ≤ {QUIET_CORES} cores." if b.get("quiet") else "of all (none was measured on a quiet machine)."),
        "",
        "| | wall s | CPU s |",
        "|---|---|---|",
        f"| bare encode, passages + sentences ({enc['texts']} texts) | {fmt(b['encode_s'], 1)} | {fmt(b['encode_cpu_s'], 1)} |",
        f"| bare encode, passages only ({calls[0]['texts']} texts, for reference) | {fmt(b['passages_only_s'], 1)} | {fmt(min(e['calls'][0]['cpu_s'] for e in b['encode_runs']), 1)} |",
        f"| build from scratch (`ingest_reports`) | {fmt(b['build_s'], 1)} | {fmt(b['build_cpu_s'], 1)} |",
        f"| … of which model load | {fmt(run['model_load_s'], 1)} | |",
        f"| … of which encoding ({run['embedded_texts']} texts in {run['encode_calls']} calls) | {fmt(run['encode_s'], 1)} | |",
        f"| … of which everything else (parse, chunk, bm25s, faiss, write) | {fmt(run['rest_s'], 1)} | |",
        f"| **build / bare encode** (target {target('build_over_encode')}) | **{fmt(b['ratio'])}** {verdict('build_over_encode', b['ratio'])} | {fmt(b['ratio_cpu'])} |",
        "",
        f"All runs (wall s): builds {', '.join(fmt(r['wall_s'], 1) for r in b['runs'])}; encodes "
        f"{', '.join(fmt(r['wall_s'], 1) for r in b['encode_runs'])}. " + load_note(b["runs"] + b["encode_runs"]),
    ]


def _build_notes(b: dict, run: dict) -> list[str]:
    """Why the ratio missed its target (when it did), and what embedding the sentences costs."""
    lines = []
    if not met("build_over_encode", b["ratio"]):
        lines += [
            "",
            f"*What limits it:* the build pays for the model load ({fmt(run['model_load_s'], 1)} s, nearly all of it "
            f"importing torch and sentence-transformers) and the pipeline around the encoder ({fmt(run['rest_s'], 1)} s) "
            f"on top of the encoding itself; encoding inside the build took {fmt(run['encode_s'], 1)} s against "
            f"{fmt(b['encode_s'], 1)} s bare. Without the model load the build is "
            f"{fmt(ratio(run['wall_s'] - run['model_load_s'], b['encode_s']))}× the bare encoding.",
        ]
    lines += [
        "",
        f"Embedding the sentences as well as the passages is the bulk of the cost: passages alone encode in "
        f"{fmt(b['passages_only_s'], 1)} s, passages + sentences in {fmt(b['encode_s'], 1)} s "
        f"({fmt(ratio(b['encode_s'], b['passages_only_s']), 1)}×); the best-sentence score is what lifts R@1 "
        f"(see the latency table's quality columns).",
        "",
    ]
    return lines


def reingest_section(res: dict, summary: list) -> list[str]:
    """2. Re-ingest steps, each a fresh process on a copy of the built index."""
    r = res.get("reingest")
    if not r:
        return []
    noop = statistics.median(x["wall_s"] for x in r["noop"])
    summary.append(("no-op re-ingest", f"{fmt(noop, 2)} s", f"{target('noop_reingest_s')} s", verdict("noop_reingest_s", noop)))
    add, rem = r["add"], r["remove"]
    new = add.get("new_report", {})
    row = _reingest_row
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
        f"No-op re-ingest, median of {len(r['noop'])}: **{fmt(noop, 2)} s** (target {target('noop_reingest_s')} s) "
        f"{verdict('noop_reingest_s', noop)}. Adding the report embedded {add['embedded_texts']} texts: its "
        f"{new.get('passages', '?')} passages and {new.get('sentences', '?')} sentences, nothing of the two bundled reports "
        f"(their vectors come from the cache; bm25s and faiss are rebuilt over everything). Removing it embedded "
        f"{rem['embedded_texts']} texts"
        + (
            f", but still loaded the model ({fmt(rem['model_load_s'], 1)} s of its {fmt(rem['wall_s'], 1)} s): the rebuild "
            "asks for an embedder before it knows every vector is cached."
            if rem["model_loads"] and not rem["embedded_texts"]
            else "."
        ),
        "",
        load_note(r["noop"] + [add, r["noop_after_add"], rem]),
        "",
    ]
    return lines


def _reingest_row(label: str, x: dict) -> str:
    return (
        f"| {label} | {fmt(x['wall_s'], 2)} | {fmt(x['process_s'], 2)} | {x['model_loads']} ({fmt(x['model_load_s'], 1)} s) "
        f"| {x['embedded_texts']} ({fmt(x['encode_s'], 2)} s) |"
    )
