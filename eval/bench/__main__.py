"""``python -m reportrag.eval.bench``: a full run, ``--render`` from an earlier run's JSON, or (``--job``, hidden)
one job inside a child process."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import reportrag.eval.bench as bench
from reportrag.eval.bench.common import ROOT, TARGETS


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m reportrag.eval.bench", description=bench.__doc__.split("\n\n")[0])
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
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.job:
        from reportrag.eval.bench.runner import run_child

        run_child(args.job, args.work, json.loads(args.opts))
        return 0
    from reportrag.eval.bench.render import render

    if args.render:
        _write(args.out, render(json.loads(args.render.read_text(encoding="utf-8"))))
        return 0
    started = time.perf_counter()
    log = _logger(started)
    res = full_run(args, argv if argv is not None else sys.argv[1:], started, log)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=1, default=str) + "\n", encoding="utf-8")
    _write(args.out, render(res))
    log(f"done in {res['total_s']:.0f}s: {args.out.name}, {args.json.relative_to(ROOT) if args.json.is_relative_to(ROOT) else args.json.name}")
    return 0


def _write(out: Path, text: str) -> None:
    """Write BENCHMARKS.md, keeping what other scripts put in it (eval/serve_bench.py, eval/concurrency_bench.py,
    eval/shard_bench.py): each section between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``, and the rows of
    the targets table whose first cell starts with ``NAME: ``."""
    import re

    old = out.read_text(encoding="utf-8") if out.exists() else ""
    names = re.findall(r"<!-- (\w+):start -->", old)
    rows = [line for line in old.splitlines() if any(line.startswith(f"| {name}: ") for name in names)]
    if rows:
        lines = text.split("\n")
        i = lines.index("## Targets at a glance") + 3  # heading, blank line, header row: the separator row
        while i + 1 < len(lines) and lines[i + 1].startswith("|"):
            i += 1
        text = "\n".join(lines[: i + 1] + rows + lines[i + 1 :])
    for name in names:
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        if start not in text and end in old:
            text = text.rstrip("\n") + "\n\n" + old[old.index(start) : old.index(end) + len(end)] + "\n"
    out.write_text(text, encoding="utf-8")


def _logger(started: float):
    """Progress lines stamped with seconds since the run started."""

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f}s] {msg}", flush=True)

    return log


def full_run(args: argparse.Namespace, arg_list: list[str], started: float, log) -> dict:
    """Every section, each job in a fresh process, in a temporary folder; returns the results JSON's content."""
    from reportrag.eval.bench.runner import Runner, cpu_busy_s, git_state, machine, own_cpu_s, versions
    from reportrag.eval.bench.sections import run_sections

    started_at = dt.datetime.now(dt.timezone.utc)
    busy0, ours0 = cpu_busy_s(), own_cpu_s()
    scales = [int(s) for s in args.scale.split(",") if s.strip()]
    if args.quick:
        scales = [n for n in scales if n <= 100_000]
    candidates_at = {int(s) for s in args.candidates_at.split(",") if s.strip()}
    repeats = {"build": 1 if args.quick else 2, "build_max": 2 if args.quick else 4, "startup": 3, "recipe": 1 if args.quick else 3, "noop": 3}

    res: dict = {
        "mode": "quick" if args.quick else "full",
        "command": "python -m reportrag.eval.bench " + " ".join(arg_list),
        "date": started_at.isoformat(timespec="seconds"),
        "git": git_state(),
        "machine": machine(),
        "versions": versions(),
        "loadavg_start": os.getloadavg(),
        "targets": {k: {"op": v[0], "value": v[1], "what": v[2]} for k, v in TARGETS.items()},
        "errors": {},
    }
    log(f"bench ({res['mode']}), load average {res['loadavg_start'][0]:.2f}")
    tmp = Path(tempfile.mkdtemp(prefix="reportrag-bench-"))
    runner = Runner(log)
    try:
        run_sections(runner, tmp, res, scales, candidates_at, repeats, log)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    res["loadavg_end"] = os.getloadavg()
    res["total_s"] = time.perf_counter() - started
    res["others_cores_mean"] = max(0.0, (cpu_busy_s() - busy0) - (own_cpu_s() - ours0)) / res["total_s"]
    res["jobs"] = runner.jobs
    return res


if __name__ == "__main__":
    sys.exit(main())
