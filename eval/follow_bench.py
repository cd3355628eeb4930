"""Following the index another process changes, under load: what a serving process's users see while a colleague
removes a report from a large index.

    .venv/bin/python -m reportrag.eval.follow_bench [--passages 200000] [--clients 4] [--before 15] [--after 20]

The shard benchmark's corpus (eval/shard_bench_data.py: the bundled reports replicated under distinct ids,
replayed all-MiniLM-L6-v2 vectors) is built in a temporary folder and served by ``python app.py`` (web app and API
in one process). ``--clients`` clients search it without pause (``/api/search``, the eval questions in turn, each
on its own keep-alive connection) while a watcher asks ``/api/health`` every 50 ms how many passages are served
and samples the server's resident memory. After ``--before`` seconds, ``reportrag remove`` takes one report out in
a process of its own; the server follows in the background. Reported: how long the removal took, how long after
it the server served the new index, and the clients' requests (count, rate, p50, p95, max, errors) before, while
following, and after, with the server's memory in each window. Writes eval/results/follow_bench.json and the
"Following the index another process changes" section of BENCHMARKS.md; the folder is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from reportrag.eval import replicated_ways
from reportrag.eval.loadtest import percentiles, question_set, request, rss_mib, start_app, stop_app

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "eval" / "results" / "follow_bench.json"
START, END = "<!-- follow-bench:start -->", "<!-- follow-bench:end -->"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reportrag.eval.follow_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--before", type=float, default=15.0, help="seconds of load before the removal")
    parser.add_argument("--after", type=float, default=20.0, help="seconds of load once the new index is served")
    args = parser.parse_args(argv)
    from reportrag.eval.shard_bench_jobs import MODEL, settings_for

    work = Path(tempfile.mkdtemp(prefix="reportrag-follow-"))
    try:
        replicated_ways.originals(work)
        base = replicated_ways.build(work, work / "index", args.passages)
        settings = settings_for(work / "index")
        env = {"REPORTRAG_INDEX_DIR": str(settings.index.index_dir), "REPORTRAG_CACHE_DIR": str(settings.index.cache_dir),
               "REPORTRAG_MODEL": MODEL, "REPORTRAG_WORK_DIR": str(work / "app")}
        proc, url, started_s = start_app(env, log=subprocess.DEVNULL, timeout_s=900)
        try:
            run = _under_load(url, proc.pid, env, args)
        finally:
            stop_app(proc)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = {**replicated_ways.header(" ".join(["python -m reportrag.eval.follow_bench", *(argv or sys.argv[1:])]), 1),
           "index": {k: base[k] for k in ("reports", "passages", "sentences", "shards")}, "clients": args.clients,
           "server_start_s": started_s, **run}
    replicated_ways.write_results(out, RESULTS, START, END, render)
    return 0 if run["windows"]["after"]["errors"] == 0 and run["served_after_s"] is not None else 1


def _under_load(url: str, pid: int, env: dict, args) -> dict:
    address = urlsplit(url)
    questions = question_set()
    stop = threading.Event()
    requests: list[tuple[float, float, bool]] = []  # (start, ms, ok)
    served: list[tuple[float, int]] = []  # (when, passages served)
    memory: list[tuple[float, float]] = []  # (when, MiB)

    def client(n: int) -> None:
        http = HTTPConnection(address.hostname, address.port, timeout=120)
        i = n
        while not stop.is_set():
            q = questions[i % len(questions)]
            i += args.clients
            t = time.perf_counter()
            try:
                status, body = request(http, "GET", "/api/search?" + urlencode({"q": q, "k": 10}))
                ok = status == 200 and isinstance(json.loads(body), list)
            except (OSError, HTTPException, ValueError):
                ok = False
                http.close()
            requests.append((t, (time.perf_counter() - t) * 1000, ok))
        http.close()

    def watcher() -> None:
        http = HTTPConnection(address.hostname, address.port, timeout=120)
        while not stop.is_set():
            t = time.perf_counter()
            try:
                status, body = request(http, "GET", "/api/health")
                if status == 200:
                    served.append((t, json.loads(body)["passages"]))
            except (OSError, HTTPException, ValueError):
                http.close()
            memory.append((t, rss_mib(pid)))
            time.sleep(0.05)
        http.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)] + [threading.Thread(target=watcher)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(args.before)
        first = served[-1][1]
        removed = _last_report(env)
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "reportrag.skins.cli", "remove", removed], env={**os.environ, **env},
                       cwd=ROOT, check=True, capture_output=True)
        done = time.perf_counter()
        deadline = done + 600
        while time.perf_counter() < deadline and not any(t > done and n != first for t, n in served):
            time.sleep(0.05)
        now = next((t for t, n in served if t > done and n != first), None)
        time.sleep(args.after)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    windows = {"before": (began - args.before, began), "removing": (began, done),
               "following": (done, now or done), "after": (now or done, (now or done) + args.after)}
    return {"removed": removed, "passages_before": first, "passages_after": served[-1][1],
            "remove_s": done - began, "served_after_s": None if now is None else now - done,
            "windows": {name: _window(requests, memory, a, b) for name, (a, b) in windows.items()}}


def _window(requests: list, memory: list, a: float, b: float) -> dict:
    inside = [(ms, ok) for t, ms, ok in requests if a <= t < b]
    mib = [m for t, m in memory if a <= t < b]
    return {"seconds": round(b - a, 2), "requests": len(inside), "errors": sum(not ok for _, ok in inside),
            "requests_per_s": round(len(inside) / (b - a), 1) if b > a else None,
            **percentiles([ms for ms, _ in inside]), "rss_mib": [round(min(mib)), round(max(mib))] if mib else None}


def _last_report(env: dict) -> str:
    from reportrag.index import document_store

    return document_store.doc_ids(Path(env["REPORTRAG_INDEX_DIR"]))[-1]


def render(out: dict) -> str:
    names = {"before": "before", "removing": "while `reportrag remove` runs (the writer lock held)",
             "following": "from the removal until the new index is served", "after": "after"}
    rows = [f"| {names[k]} | {w['seconds']:.1f} | {w['requests']:,} | {w['errors']} | {w['requests_per_s']} "
            f"| {w['p50_ms']} | {w['p95_ms']} | {w['max_ms']} | {w['rss_mib'][0]:,} – {w['rss_mib'][1]:,} |"
            for k, w in out["windows"].items() if w["requests"]]
    served = "never" if out["served_after_s"] is None else f"**{out['served_after_s']:.1f} s**"
    return "\n".join([
        START, "", "## Following the index another process changes (`eval/follow_bench.py`)", "",
        (f"Written by `{out['command']}` on {out['date']}, commit `{out['git']['commit']}`"
        f"{' with uncommitted changes' if out['git']['dirty_files'] else ''}; raw figures in "
        "`eval/results/follow_bench.json`. The shard benchmark's corpus "
        f"({out['index']['passages']:,} passages, {out['index']['reports']:,} reports, {out['index']['shards']} shard(s)), "
        f"served by `python app.py`; {out['clients']} clients search it without pause while `reportrag remove` "
        "takes one report out in a process of its own. The server was ready "
        f"{out['server_start_s']:.1f} s after it was started (model, index and every first-call cost paid)."), "",
        (f"The removal took {out['remove_s']:.1f} s; the server served the new index {served} after it "
        f"({out['passages_before']:,} → {out['passages_after']:,} passages), opened in the background."), "",
        "| window | seconds | requests | errors | requests/s | p50 ms | p95 ms | max ms | server resident memory, MiB |",
        "|---|---|---|---|---|---|---|---|---|", *rows, "",
        ("*Why it costs what it does:* the new index is opened by the serving process itself (no restart, no "
        "second process), in a thread that shares the interpreter with the requests; while it opens, the old "
        "index stays in memory and keeps answering."), "", END])


if __name__ == "__main__":
    raise SystemExit(main())
