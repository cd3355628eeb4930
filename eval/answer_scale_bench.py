"""Answers over a large index: the term statistics answers weigh words by, kept by the shards against counted from
every sentence's text when first needed (as before), in the same run.

    .venv/bin/python -m reportrag.eval.answer_scale_bench [--sizes 10000,100000] [--rounds 2]

The corpus is the shard benchmark's (eval/shard_bench_data.py): the two bundled reports replicated under distinct
ids with replayed all-MiniLM-L6-v2 vectors, built by its ``base`` job. At each size, each way of getting the
statistics runs in a fresh process, the two interleaved ``--rounds`` times (taking turns to go first): open the
index (``open_searcher``, the real model), one search to warm the model, then the first answer (which pays for the
statistics), then every question of eval/questions.jsonl answered one at a time, timed apart for questions naming
a paragraph of the concluding observations (their own route). A digest of every answer (each quote, its report
and offsets) must be the same both ways. Writes eval/results/answer_scale.json and the "Answers over a large
index" section of BENCHMARKS.md; the temporary folder is removed at the end.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from pathlib import Path

from reportrag.eval import replicated_ways
from reportrag.eval.bench.measure import rss_mib

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "eval" / "results" / "answer_scale.json"
START, END = "<!-- answer-scale:start -->", "<!-- answer-scale:end -->"
WAYS = {"shards": "kept by the shards (default)", "texts": "counted from the texts on first use (before)"}



def job(folder: Path, way: str) -> dict:
    """One fresh process: open, warm, the first answer, then every question; seconds, memory and a digest."""
    from reportrag.answers import observations
    from reportrag.answers.extractive import answer
    from reportrag.eval.shard_bench_jobs import questions, settings_for
    from reportrag.service.ingesting import open_searcher

    started = time.perf_counter()
    searcher = open_searcher(settings_for(folder))
    opened = time.perf_counter() - started
    if way == "texts":
        searcher.corpus._counted = None  # as before the shards kept counts: every sentence tokenized on first use
    qs = questions()
    searcher.search(qs[0], k=10)  # the model's first pass, not an answer's cost
    rss_open, own_open = rss_mib(), rss_mib("RssAnon")
    digest = hashlib.sha256()
    timings: dict[str, list[float]] = {"routed": [], "other": []}
    first = None
    for q in qs:
        t = time.perf_counter()
        a = answer(searcher, q)
        seconds = time.perf_counter() - t
        first = seconds if first is None else first
        timings["routed" if observations.requested(q) else "other"].append(seconds)
        quotes = [(c.quote, c.place.doc_id, c.place.start) for c in a.citations]
        digest.update(json.dumps([a.answered, quotes]).encode())
    return {"passages": len(searcher.passages), "reports": len(searcher.documents), "open_s": opened,
            "first_answer_s": first, "answers": {k: len(v) for k, v in timings.items()},
            "median_ms": {k: 1000 * statistics.median(v) for k, v in timings.items() if v},
            "p95_ms": {k: 1000 * sorted(v)[int(0.95 * (len(v) - 1))] for k, v in timings.items() if v},
            "rss_open_mib": rss_open, "rss_end_mib": rss_mib(), "own_open_mib": own_open,
            "own_end_mib": rss_mib("RssAnon"), "digest": digest.hexdigest()}


def main(argv: list[str] | None = None) -> int:
    return replicated_ways.main(argv, "reportrag.eval.answer_scale_bench", __doc__.splitlines()[0], job=job, ways=list(WAYS),
                                median=_median, sizes="10000,100000", rounds=2, same="same_answers", results=RESULTS,
                                section=(START, END), render=render)


def _median(runs: list[dict]) -> dict:
    """Each figure's median over the rounds (the rounds' own values kept for the first answer and memory)."""
    def med(get):
        return statistics.median(get(r) for r in runs)

    first = runs[0]
    return {"open_s": med(lambda r: r["open_s"]), "first_answer_s": med(lambda r: r["first_answer_s"]),
            "first_answer_rounds_s": [r["first_answer_s"] for r in runs],
            "median_ms": {k: med(lambda r, k=k: r["median_ms"][k]) for k in first["median_ms"]},
            "p95_ms": {k: med(lambda r, k=k: r["p95_ms"][k]) for k in first["p95_ms"]},
            "answers": first["answers"], "rss_open_mib": med(lambda r: r["rss_open_mib"]),
            "rss_end_mib": med(lambda r: r["rss_end_mib"]), "own_open_mib": med(lambda r: r["own_open_mib"]),
            "own_end_mib": med(lambda r: r["own_end_mib"]), "peak_rss_mib": med(lambda r: r["job_peak_rss_mib"]),
            "others_cores": [round(r["others_cores"], 2) for r in runs]}


def render(out: dict) -> str:
    rows = []
    for point in out["points"].values():
        base = point["base"]
        for way, r in point["ways"].items():
            rounds = ", ".join(f"{s:.2f}" for s in r["first_answer_rounds_s"])
            others = ", ".join(f"{c:.2f}" for c in r["others_cores"])
            median, p95 = r["median_ms"], r["p95_ms"]
            rows.append(
                f"| {base['passages']:,} ({base['reports']:,} reports, {base['sentences']:,} sentences) | {WAYS[way]} "
                f"| {r['open_s']:.1f} | **{r['first_answer_s']:.2f}** ({rounds}) "
                f"| {median['other']:.0f} / {p95['other']:.0f} "
                f"| {median.get('routed', float('nan')):.0f} / {p95.get('routed', float('nan')):.0f} "
                f"| {r['rss_open_mib']:,.0f} → {r['rss_end_mib']:,.0f} "
                f"({r['own_open_mib']:,.0f} → {r['own_end_mib']:,.0f}) | {others} |")
    same = all(p["same_answers"] for p in out["points"].values())
    first = next(iter(out["points"].values()))["ways"]["shards"]["answers"]
    return "\n".join([
        START, "", "## Answers over a large index (`eval/answer_scale_bench.py`)", "",
        f"Written by `{out['command']}` on {out['date']}, commit `{out['git']['commit']}`"
        f"{' with uncommitted changes' if out['git']['dirty_files'] else ''}; raw figures in "
        "`eval/results/answer_scale.json`. The shard benchmark's corpus (the bundled reports replicated, replayed "
        "all-MiniLM-L6-v2 vectors; questions embedded by the real model). Each way of getting the term statistics "
        "that answers weigh a question's words by runs in a fresh process, the two interleaved and taking turns to "
        f"go first, {out['rounds']} rounds, medians shown: open the index, warm the model with one search, then "
        f"the {sum(first.values())} questions of `eval/questions.jsonl` answered one at a time "
        f"({first.get('routed', 0)} of them name a paragraph of the concluding observations and take that route). "
        "The first answer pays for the statistics where they are counted from the texts.", "",
        "| index | term statistics | open, s | first answer, s (rounds) | other answers, median / p95 ms "
        "| concluding-observations route, median / p95 ms "
        "| resident memory, open → after the answers (the process's own), MiB "
        "| other processes, cores |",
        "|---|---|---|---|---|---|---|---|", *rows, "",
        f"Same answers both ways (every quote, its report and offsets): **{'yes' if same else 'NO'}**. The shards "
        "keep, per report, how many of its sentences hold each term (written with the shard, merged by compaction, "
        "a removed report's counts left out): the statistics of a question's words are summed from them when "
        "asked, instead of tokenizing every sentence of the corpus when the first question comes.", "",
        ("*What limits it:* resident memory grows while answering mostly by the pages of the shard files that "
         "queries read (memory-mapped: shared between processes, reclaimed by the OS); the process's own memory "
         "grows by its bounded caches. The concluding-observations route grows with this corpus because every copy "
         "of the CEDAW report responds to the same Committee paragraphs: a question naming one gathers and scores the "
         "responding passages of every copy. In the treaty-body record such a question also needs to say whose "
         "concluding observations it means (a report filter does), or it draws on every State's answers."), "", END])


if __name__ == "__main__":
    raise SystemExit(main())
