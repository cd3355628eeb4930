"""BENCHMARKS.md's section of the shard benchmark (between its markers) and its rows of "Targets at a glance",
from a run's results (eval/results/shard_bench.json)."""

from __future__ import annotations

import statistics
from pathlib import Path

from reportrag.eval.markdown_sections import replace_section

START, END = "<!-- shards:start -->", "<!-- shards:end -->"
TARGET_TAG = "shards: "  # the first cell of this benchmark's rows in "Targets at a glance"
TARGETS_HEADING = "## Targets at a glance"
RECALL_GOAL = 0.95  # the goal BENCHMARKS.md §6 sets the approximate vector index


def write_markdown(res: dict, out: Path | None) -> str:
    """The section; with ``out``, also written into that file (replacing the marked section, else appended) with
    this benchmark's target rows."""
    targets: list[str] = []
    failed = [f"- {int(n):,} passages: `{e.strip().splitlines()[-1][:300]}`" for n, e in res.get("errors", {}).items()]
    lines = [START, "", *_header(res), *(["**Failed in this run:**", "", *failed, ""] if failed else []),
             *_comparison(res, targets), *_scale(res, targets), *_maintenance(res, targets), END]
    section = "\n".join(lines)
    if out is not None:
        text = out.read_text(encoding="utf-8")
        out.write_text(_with_targets(replace_section(text, START, END, section), targets), encoding="utf-8")
    return section


def _with_targets(text: str, rows: list[str]) -> str:
    """This benchmark's rows at the end of the targets table, in place of the ones an earlier run put there."""
    lines = text.split("\n")
    if TARGETS_HEADING not in lines:
        return text
    i = lines.index(TARGETS_HEADING) + 1
    while i < len(lines) and not lines[i].startswith("|"):
        i += 1
    end = i
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    table = [line for line in lines[i:end] if not line.startswith(f"| {TARGET_TAG}")]
    return "\n".join(lines[:i] + table + rows + lines[end:])


def _header(res: dict) -> list[str]:
    g, o, m, v = res["git"], res["originals"], res["machine"], res["versions"]
    dirty = f" with uncommitted changes in {len(g['dirty_files'])} files" if g["dirty_files"] else ""
    load0, load1 = res["loadavg_start"], res["loadavg_end"]
    others = [j["others_cores"] for j in res["jobs"]]
    return [
        "## An index of shards: adding, removing, scale (`eval/shard_bench.py`)",
        "",
        (f"Written by `python -m reportrag.eval.shard_bench` ({res['mode']} run, {res['total_s'] / 60:.1f} min) on "
        f"{res['date'][:10]}, commit `{g['commit']}`{dirty}. Command: `{res['command']}`. Re-run with "
        "`make bench-shards`; raw figures in `eval/results/shard_bench.json`. Every figure comes from a fresh process "
        "(its peak memory is its own `ru_maxrss`) in a temporary folder; `data/index` and `data/cache` are not used."),
        "",
        (f"**Corpus.** The two bundled reports ({o['passages']} passages, {o['sentences']:,} sentences) copied under "
        "distinct ids: a new report id, passage ids rewritten with it, a distinct short title (so every passage "
        "text differs) and, in each sentence, some spaces swapped for other spaces that spell the copy number (so "
        "sentence texts differ too; offsets unchanged). Copies are stored with `document_store.save` (record and "
        "catalog entry) and indexed by `refresh_search_index` with a *replay* embedder: the real all-MiniLM-L6-v2 "
        f"vector of the text copied (the {o['texts']:,} real vectors embedded once per run, {o['encode_s']:.0f} s) "
        f"plus gaussian noise, σ = {res['sigma']:g} as in §6 (a copy at cosine ≈ 0.71 from its real vector). "
        "Questions and the added report are embedded by the real model."),
        "",
        (f"**Machine.** {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, no GPU; {m['os']}; Python "
        f"{v['python']}, torch {v['torch']}, sentence-transformers {v['sentence-transformers']}, faiss-cpu "
        f"{v['faiss-cpu']} ({m['faiss_threads']} threads), numpy {v['numpy']}. (The machine table above is that of "
        "`eval/bench.py`'s run; this section's figures come from this one.)"),
        "",
        f"**Load.** Load average {load0[0]:.2f} at the start, {load1[0]:.2f} at the end; other processes used "
        f"{min(others):.2f}–{max(others):.2f} cores (mean {res['others_cores_mean']:.2f}) of the "
        f"{res['machine']['cores']} while the jobs ran (`others_cores` per job in the JSON)"
        + (": wall-clock figures are inflated and noisy." if res["others_cores_mean"] > 0.25 or load0[0] > 1.5
           else "."),
        "",
    ]


def _comparison(res: dict, targets: list[str]) -> list[str]:
    at = res.get("add_at")
    point = res["points"].get(str(at)) if at else None
    if not point or not point["baseline_add"]:
        return []
    ours, old, base = point["add"], point["baseline_add"], point["base"]
    add, old_add = _median(ours, "add_s"), _median(old, "add_s")
    alone, old_alone = _median_of_medians(ours), _median_of_medians(old)
    goal = 1.5 * alone + 2
    met = add <= goal
    first = ours[0]
    targets.append(f"| {TARGET_TAG}add one report to {base['passages']:,} passages (ingest + refresh, model loaded) "
                   f"| {add:.2f} s | ≤ 1.5 × embed alone + 2 s = {goal:.2f} s | {_verdict(met)} |")
    rows = [
        ("add (`ingest` + `refresh_search_index`), s: median (runs)", _runs(ours, "add_s"), _runs(old, "add_s")),
        ("… `ingest`: read, clean, chunk, store the report", _s(_median(ours, "ingest_s")), _s(_median(old, "ingest_s"))),
        ("… `refresh_search_index`", _s(_median(ours, "refresh_s")), _s(_median(old, "refresh_s"))),
        ("texts embedded", str(first["embedded_texts"]), str(old[0]["embedded_texts"])),
        ("… encoding them inside the add, s", _s(_median(ours, "encode_in_add_s")), _s(_median(old, "encode_in_add_s"))),
        ("embed alone: `encode` of the same texts, model warm, s (median of 5)", _s(alone), _s(old_alone)),
        ("add / embed alone", f"{add / alone:.1f}", f"{old_add / old_alone:.0f}"),
        ("model load, s (before the add, not in it)", _s(_median(ours, "model_load_s")), _s(_median(old, "model_load_s"))),
        ("peak memory of the process, MiB (model included)", _mib(_median(ours, "job_peak_rss_mib")),
         _mib(_median(old, "job_peak_rss_mib"))),
        ("other processes during the add and the embedding, cores (median)", _cores(ours), _cores(old)),
    ]
    out = [
        f"### Adding one report to {base['passages']:,} passages: a new shard against rebuilding everything",
        "",
        (f"The base: {base['reports']:,} reports ({base['copies']:,} copies of each bundled report), "
        f"{base['passages']:,} passages and {base['sentences']:,} "
        f"sentences in {base['shards']} shard{'s' if base['shards'] > 1 else ''}. Added: a new Markdown report (`eval/bench/common.py`'s "
        f"`SMALL_REPORT`, stored as `{first['added'][0]}`): {first['report_passages']} passages and "
        f"{first['report_sentences']} sentences, {first['embedded_texts']} texts. *Ours* is `ingest` + "
        "`refresh_search_index(settings, embedder, thorough=False)` under the writer lock, what `reportrag ingest FILE` "
        f"does once the model is loaded. *{res['baseline_commit']}* is that commit's `ingest` + "
        "`refresh_search_index(settings, embedder)` on the same stored reports, its cache in its own layout (one "
        f"`keys.json` and one vectors file) already holding all {point['baseline_cached']:,} base vectors, run from a "
        "git worktree of that commit by this venv's python. Each addition ran on its own copy of the base, in its own "
        f"process, the model loaded and warmed up first; {len(ours)} of ours and {len(old)} of {res['baseline_commit']}'s, "
        "interleaved. Each waited, model loaded, until the rest of the machine was quiet (≤ 0.3 cores over 3 s, at "
        "most 90 s), then timed the add and the embedding alone."),
        "",
        f"| | ours: one new shard | {res['baseline_commit']}: rebuild everything |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
        (f"**Target** add ≤ 1.5 × embed alone + 2 s: {add:.2f} s against {goal:.2f} s, {_verdict(met)}. Rebuilding "
        f"everything took **{old_add / add:.0f}×** as long as adding a shard, in the same run."),
        "",
        *([] if point.get("comparable", True) else [
            ("**Not comparable:** the two codes embedded different numbers of texts (see the table); the baseline's "
            "cache did not hold every base vector."), ""]),
        "Where the time went (first run of each; a phase inside another counts in both; under 0.01 s left out):",
        "",
        f"- ours: {_phases(first['phases'])}",
        f"- {res['baseline_commit']}: {_phases(old[0]['phases'])}",
        "",
        *_comparison_limits(res, point, first, old[0]),
        "",
    ]
    return out


def _comparison_limits(res: dict, point: dict, ours: dict, old: dict) -> list[str]:
    phases = ours["phases"]
    catalog = phases.get("read the catalog (every stored report's entry)", {}).get("s", 0.0)
    fixed = ours["add_s"] - ours["encode_in_add_s"]
    top_old = sorted(old["phases"].items(), key=lambda kv: -kv[1]["s"])[:3]
    return [
        f"*What limits it:* ours spends {ours['encode_in_add_s']:.2f} s encoding the report's "
        f"{ours['embedded_texts']} texts and {fixed:.2f} s on everything else: reading, cleaning and chunking the file "
        f"(`ingest`, {ours['ingest_s']:.2f} s, of which loading the tokenizer and reading the {point['base']['reports']:,} "
        f"catalog entries to see which report is new), reading them again in `refresh_search_index` ({catalog:.2f} s), "
        "then writing, hashing and fsyncing a shard of a few passages, a cache segment and the manifest. Only the "
        "catalog reads grow with the index (a few hundred bytes a report); nothing already indexed is read or "
        f"rewritten. {res['baseline_commit']} pays for the whole corpus on every addition: "
        + "; ".join(f"{name} {v['s']:.1f} s" for name, v in top_old)
        + ". None of that depends on the report added.",
    ]


def _scale(res: dict, targets: list[str]) -> list[str]:
    rows, notes = [], []
    for n in res["in_table"]:
        p = res["points"][str(n)]
        s, b = p["search"], p["base"]
        approx = s["approximate"]
        recall = f"{s['recall_at_10']:.3f}" if approx else "1 (both exact)"
        if approx:
            thinned = ", one sentence a passage (see the shards section)" if p["thinned"] else ""
            targets.append(f"| {TARGET_TAG}hybrid recall@10, default path vs exact scoring, {s['passages']:,} passages{thinned} "
                           f"| {s['recall_at_10']:.3f} | ≥ {RECALL_GOAL} (§6's goal) | {_verdict(s['recall_at_10'] >= RECALL_GOAL)} |")
        thin = " †" if p["thinned"] else ""
        rows.append(
            f"| {s['passages']:,}{thin} | {s['sentences']:,} | {s['shards']} ({b['shards']} + 1) | {_runs(p['add'], 'add_s')} "
            f"| {s['open_s']:.1f} | {_mib(s['job_peak_rss_mib'])} | {s['default']['p50_ms']:.1f} / {s['default']['p95_ms']:.1f} "
            f"| {s['exact']['p50_ms']:.1f} | {recall} | {_candidates(s)} | {_others(s)} |")
        if p["thinned"]:
            notes.append(f"† Thinned to fit this machine: all {s['passages']:,} passages stored and indexed whole "
                         "(text, vectors, keyword postings), but only each passage's first sentence kept "
                         f"({s['sentences']:,} sentences instead of about {round(s['passages'] * _sentence_ratio(res)):,}); "
                         "the figures are of that index, not of a full one.")
    return [
        "### Scale",
        "",
        ("Each point: a base of copies (one shard per ≤ "
        f"{res['shard_passages']:,} passages), then one small report added (the one above; median of "
        f"{len(res['points'][str(res['in_table'][0])]['add'])} additions, each on its own copy, model loaded first), "
        "then a fresh process opens the index after that addition (`open_searcher`: manifest, shards hashed and "
        "laid out, every stored report, the real model) and answers the 190 questions of `eval/questions.jsonl` in "
        "`hybrid` mode one at a time (real minilm query embedding included; numpy's BLAS held to one thread, as "
        "`Service` holds it): with the default path, then with exact scoring forced (`searcher.exact = True`). "
        "Recall@10: the default path's top 10 against exact scoring's, both ranking the same query vector, mean "
        f"over the questions. Up to `exact_search_up_to` = {res['points'][str(res['in_table'][0])]['search']['exact_up_to']:,} "
        "passages the default path is exact scoring itself. Peak memory: the whole searching process (model, index, "
        "reports, the passes over the questions). *Other processes*: the cores the rest of the machine used during "
        "the two timed passes (default / exact); each pass first waits until the rest of the machine is quiet "
        "(≤ 0.3 cores over 3 s, at most 2 min) and is run again while others used more than 0.3 cores during it "
        "(up to 3 passes; the quietest is kept)."),
        "",
        ("| passages | sentences | shards | add one report, s (runs) | open, s | peak memory, MiB | hybrid p50 / p95, ms "
        "| exact scoring forced, p50 ms | recall@10 vs exact | passages scored per query | other processes, cores |"),
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        *notes,
        *([""] if notes else []),
        *_query_parts(res),
        *_scale_limits(res),
        "",
    ]


PARTS = [("embed the query", "embed the query"), ("BM25 over every live passage", "BM25"),
         ("candidates (faiss per shard + keyword top)", "candidates"), ("… of which faiss, every shard", "… faiss"),
         ("fused scores (candidates, or every passage)", "fused scores")]


def _query_parts(res: dict) -> list[str]:
    """Where a question's time goes, mean ms, by path and size."""
    rows = []
    for n in res["in_table"]:
        s = res["points"][str(n)]["search"]
        for path in ("default", "exact"):
            if path == "exact" and not s["approximate"]:
                continue
            parts = s[path].get("parts_mean_ms", {})
            rest = _rank_ms(parts) - sum(
                parts.get(k, 0.0) for k in ("BM25 over every live passage", "candidates (faiss per shard + keyword top)",
                                            "fused scores (candidates, or every passage)"))
            cells = [f"{parts[k]:.1f}" if k in parts else "–" for k, _ in PARTS]
            label = "default (exact)" if not s["approximate"] else path
            rows.append(f"| {s['passages']:,} | {label} | {' | '.join(cells)} | {rest:.1f} | {s[path]['mean_ms']:.1f} |")
    return [("Where a question's time goes, mean ms per question over the timed pass (a part inside another counts "
            "in both; *sort, collapse* is the rest of ranking: ordering the scored rows (every passage on the exact path), "
            "folding duplicates):"),
            "",
            "| passages | path | " + " | ".join(label for _, label in PARTS) + " | sort, collapse | whole search |",
            "|---|---|" + "---|" * (len(PARTS) + 2),
            *rows, ""]


def _scale_limits(res: dict) -> list[str]:
    n = res["in_table"][-1]
    s = res["points"][str(n)]["search"]
    load, corpus = (s["open_phases"].get(k, {}).get("s", 0.0) for k in (
        "load the index (every shard's files hashed, live rows laid out)", "load the reports (every stored record)"))
    point = res["points"][str(n)]
    add = point["add"][0]
    small = res["points"][str(res["in_table"][0])]["search"]
    small_add = _median(res["points"][str(res["in_table"][0])]["add"], "add_s")
    catalog = _median([a["phases"].get("read the catalog (every stored report's entry)", {"s": 0.0}) for a in point["add"]], "s")
    parts = s["default"].get("parts_mean_ms", {})
    embed = parts.get("embed the query", 0.0)
    sort = _rank_ms(parts) - sum(
        parts.get(k, 0.0) for k in ("BM25 over every live passage", "candidates (faiss per shard + keyword top)",
                                    "fused scores (candidates, or every passage)"))
    latency = (
        f"Latency: at {s['passages']:,} passages a default-path question takes {s['default']['mean_ms']:.0f} ms on "
        f"average, of which only {embed:.0f} ms embed it; the rest grows with the corpus although only "
        f"{_candidates(s)} passages are scored: BM25 runs over every live passage's postings "
        f"({parts.get('BM25 over every live passage', 0.0):.0f} ms), each of the {s['shards']} shards is searched "
        f"by faiss for 1,000 passages and 1,000 sentences ({parts.get('… of which faiss, every shard', 0.0):.0f} ms), "
        "the fused score is laid out over full-length arrays, one slot a passage "
        f"({parts.get('fused scores (candidates, or every passage)', 0.0):.0f} ms), and `Searcher.rank` orders "
        f"the scored rows and folds duplicates ({sort:.0f} ms).") if s["approximate"] else ""
    recall = (
        f"Recall: {s['questions_below_1']} of {s['questions']} questions lost at least one of exact scoring's top 10 "
        f"at {s['passages']:,} passages (worst {s['recall_min']:.1f}): a passage that is in neither a shard's 1,000 "
        "nearest passages or sentences nor the 1,000 best keyword hits is never scored.") if s["approximate"] else ""
    return [
        f"*What limits it:* adding grows only with the number of stored reports: {small_add:.2f} s at "
        f"{small['passages']:,} passages, {_median(point['add'], 'add_s'):.2f} s at {s['passages']:,}, the same "
        f"{add['embedded_texts']} texts embedded and a shard of {add['report_passages']} passages written each time; "
        f"the difference is reading every report's catalog entry, once in `ingest` and again in "
        f"`refresh_search_index` ({catalog:.2f} s for the second read of {point['base']['reports']:,} entries). "
        f"Nothing indexed is read. Opening grows with the corpus: at {s['passages']:,} passages {load:.0f} s go to loading "
        "the index (every shard file hashed, the live rows laid out in one order) "
        f"and {corpus:.0f} s to reading every stored report, whole, into memory. Memory is what "
        f"stops a full index here: {_mib(s['rss_model_mib'])} MiB with the model loaded, {_mib(s['rss_open_mib'])} "
        f"MiB resident once the index is open{_own(s)}: the vectors and faiss's indexes stay memory-mapped from the "
        "shard files (a query reads the pages of the rows it scores; below the exact-search threshold the live "
        "vectors of several shards are copied into one array), but every report's full record (text, source text, "
        f"paragraphs, passages) is loaded into memory. {latency} {recall}".rstrip(),
        "",
    ]


def _rank_ms(parts: dict) -> float:
    """Ranking's mean ms (named "sort every passage" by runs before ranking sorted only the scored rows)."""
    return parts.get("rank: scores, sort the scored rows, collapse",
                     parts.get("rank: scores, sort every passage, collapse", 0.0))


def _own(s: dict) -> str:
    """How much of the resident memory is the process's own (not pages of mapped files), where measured."""
    if "own_open_mib" not in s:
        return ""
    return (f", of which {_mib(s['own_open_mib'])} MiB the process's own (anonymous) memory and the rest pages of "
            f"mapped files, which the OS shares between processes and reclaims ({_mib(s['own_end_mib'])} MiB own "
            "after the questions)")


def _maintenance(res: dict, targets: list[str]) -> list[str]:
    at = res.get("add_at")
    point = res["points"].get(str(at)) if at else None
    if not point or "remove" not in point:
        return []
    r, c = point["remove"], point["compact"]
    targets.append(f"| {TARGET_TAG}remove a report from {point['base']['passages']:,} passages: model loads "
                   f"| {r['model_loads']} ({r['remove_s']:.2f} s) | 0 | {_verdict(r['model_loads'] == 0)} |")
    return [
        f"### Removing and compacting at {point['base']['passages']:,} passages",
        "",
        ("On the first copy above, after its addition (the base shard and the small report's shard): "
        f"`remove_report` of `{r['doc_id']}`, a copy held in the base shard, then `compact`, each in its own process."),
        "",
        "| step | s | model loads | result |",
        "|---|---|---|---|",
        (f"| `remove_report` | {r['remove_s']:.2f} | {r['model_loads']} | a tombstone: {r['removed_listed']} report listed "
        f"as removed; {r['passages_after']:,} live passages in {r['shards_after']} shards{_during(r)} |"),
        (f"| `compact` | {c['compact_s']:.1f} | {c['model_loads']} | {c['shards_before']} shards → {c['shards']}, "
        f"{c['passages']:,} passages; embedding cache {_mib(c['cache_mib_before'])} → {_mib(c['cache_mib_after'])} MiB "
        f"on disk; peak memory {_mib(c['job_peak_rss_mib'])} MiB{_during(c)} |"),
        "",
        f"Where compaction's time went: {_phases(c['phases'])}.",
        "",
        ("*What limits it:* removal reads the catalog and the manifest and writes a new manifest; it never opens a "
        "shard or the model. Compaction rewrites everything live: it hashes and reads every shard, copies their "
        "vectors and postings into one, trains and fills new faiss IVF indexes (embedding nothing), writes, hashes "
        "and fsyncs the merged shard, and rewrites the live vectors of the embedding cache as one segment; it is the "
        "one operation whose cost is the whole index, which is why it runs only on request or past `max_shards`."),
        "",
    ]


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _median_of_medians(runs: list[dict]) -> float:
    return statistics.median(statistics.median(r["embed_alone_s"]) for r in runs)


def _runs(runs: list[dict], key: str) -> str:
    values = [r[key] for r in runs]
    digits = 2 if statistics.median(values) < 10 else 1
    shown = f"**{statistics.median(values):.{digits}f}**"
    return shown + (f" ({', '.join(f'{v:.{digits}f}' for v in values)})" if len(values) > 1 else "")


def _phases(phases: dict) -> str:
    ranked = sorted(phases.items(), key=lambda kv: -kv[1]["s"])
    return "; ".join(f"{name} {v['s']:.2f} s" for name, v in ranked if v["s"] >= 0.01)


def _others(s: dict) -> str:
    shown = f"{s['default']['others_cores']:.2f} / {s['exact']['others_cores']:.2f}"
    passes = max(len(s[p].get("passes_others_cores", [0])) for p in ("default", "exact"))
    return shown + (f" (quietest of up to {passes} passes)" if passes > 1 else "")


def _candidates(s: dict) -> str:
    if not s["approximate"]:
        return f"all {s['passages']:,}"
    return f"{s['candidates_mean']:,.0f}"


def _sentence_ratio(res: dict) -> float:
    o = res["originals"]
    return o["sentences"] / o["passages"]


def _during(job: dict) -> str:
    return f"; other processes {job['others_during_s']:.2f} cores meanwhile" if "others_during_s" in job else ""


def _cores(runs: list[dict]) -> str:
    if not all("others_during_s" in r for r in runs):
        return "–"
    return f"{_median(runs, 'others_during_s'):.2f}"


def _s(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _mib(value: float) -> str:
    return f"{value:,.0f}"


def _verdict(met: bool) -> str:
    return "**met**" if met else "**missed**"
