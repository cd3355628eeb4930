"""Many users at once, against one user, on a real server: throughput, p50/p95 latency, errors and memory, for
this checkout and (``--baseline DIR``) another commit's checkout in the same run, over the same index.

    .venv/bin/python -m reportrag.eval.concurrency_bench [--baseline DIR] [--clients 32] [--per-client 12]

Writes eval/results/concurrency.json and the "Many users at once" section of BENCHMARKS.md (between its markers).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

from reportrag.core.settings import PROJECT_ROOT, Settings
from reportrag.eval.loadtest import rss_mib, run_load, start_app, stop_app
from reportrag.eval.markdown_sections import replace_section

START, END = "<!-- concurrency:start -->", "<!-- concurrency:end -->"


def _questions() -> list[str]:
    lines = (PROJECT_ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def measure(tree: Path, env: dict[str, str], clients: int, per_client: int) -> dict:
    """One client, then ``clients`` at once, on a fresh server from ``tree``."""
    questions = _questions()
    proc, url, startup = start_app(env, tree=tree)
    try:
        run_load(url, questions, clients=4, per_client=4)  # warm-up: first-call costs out of the way
        rss_before = rss_mib(proc.pid)
        one = run_load(url, questions, clients=1, per_client=clients * per_client // 4).summary()
        many = run_load(url, questions, clients=clients, per_client=per_client).summary()
        rss_after = rss_mib(proc.pid)
    finally:
        stop_app(proc)
    return {"startup_s": round(startup, 1), "one_client": one, "many_clients": many,
            "throughput_ratio": round(many["requests_per_s"] / one["requests_per_s"], 2),
            "rss_mib": [round(rss_before), round(rss_after)]}


def render(result: dict) -> str:
    rows = ["| server | clients | requests | errors | req/s | p50 ms | p95 ms |", "|---|---|---|---|---|---|---|"]
    for name, run in result["runs"].items():
        for label in ("one_client", "many_clients"):
            r = run[label]
            rows.append(f"| {name} | {r['clients']} | {r['requests']} | {r['errors']} | {r['requests_per_s']} "
                        f"| {r['all']['p50_ms']} | {r['all']['p95_ms']} |")
    lines = [START, "", f"Measured {result['date']} on {result['cpus']} CPU cores, one run, both servers over the same "
             "index; requests alternate `/api/ask` and `/api/search` over the question set.", "", *rows, ""]
    for name, run in result["runs"].items():
        lines.append(f"- {name}: {run['many_clients']['clients']} clients get {run['throughput_ratio']}× one client's "
                     f"throughput; memory {run['rss_mib'][0]} → {run['rss_mib'][1]} MiB.")
    if "baseline" in result["runs"]:
        now, then = result["runs"]["this checkout"], result["runs"]["baseline"]
        lines.append(f"- p95 under load: {now['many_clients']['all']['p95_ms']} ms against "
                     f"{then['many_clients']['all']['p95_ms']} ms for the baseline "
                     f"({then['many_clients']['all']['p95_ms'] / now['many_clients']['all']['p95_ms']:.1f}× lower).")
    return "\n".join(lines + ["", END])


def main(argv: list[str] | None = None) -> int:
    import datetime as dt

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", type=Path, help="another checkout (e.g. a git worktree of an earlier commit)")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--per-client", type=int, default=12)
    ap.add_argument("--out", type=Path, default=PROJECT_ROOT / "BENCHMARKS.md")
    args = ap.parse_args(argv)
    settings = Settings.from_env()
    work = Path(tempfile.mkdtemp(prefix="reportrag-concurrency-"))
    try:
        env = {"REPORTRAG_INDEX_DIR": str(settings.index.index_dir), "REPORTRAG_WORK_DIR": str(work),
               "GRADIO_TEMP_DIR": str(work / "tmp")}
        result = {"date": dt.date.today().isoformat(), "cpus": os.cpu_count(), "runs": {}}
        result["runs"]["this checkout"] = measure(PROJECT_ROOT, env, args.clients, args.per_client)
        if args.baseline:
            result["runs"]["baseline"] = measure(args.baseline.resolve(), env, args.clients, args.per_client)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = PROJECT_ROOT / "eval" / "results" / "concurrency.json"
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    text = args.out.read_text(encoding="utf-8")
    section = render(result)
    args.out.write_text(replace_section(text, START, END, section), encoding="utf-8")
    print(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
