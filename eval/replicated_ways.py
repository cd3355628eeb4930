"""Benchmarks that compare ways of doing one thing over the shard benchmark's corpus (eval/shard_bench_data.py: the
bundled reports replicated under distinct ids, replayed all-MiniLM-L6-v2 vectors): an index of each size built by
the shard benchmark's ``base`` job, then each way in fresh processes, interleaved (taking turns to go first) so
neither gains from the machine's drift; the temporary folder is removed at the end."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from reportrag.eval.bench.runner import git_state, machine, run_job
from reportrag.eval.markdown_sections import replace_section
from reportrag.eval.shard_bench_legacy import RESULT_PREFIX, emit

ROOT = Path(__file__).resolve().parents[1]


ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def run(cmd: list[str], what: str) -> dict:
    """``python -m cmd…`` in a fresh process: its result line, with its wall time."""
    out = run_job([sys.executable, "-m", *cmd], ROOT, ENV, RESULT_PREFIX, what, tail_lines=20)
    print(f"{what}: {out['process_wall_s']:.1f}s", file=sys.stderr)
    return out


def originals(work: Path) -> None:
    """The bundled reports and their real vectors, once per run (what every size replicates)."""
    run(["reportrag.eval.shard_bench", "--work", str(work), "--job", "originals", "--opts", "{}"],
        "the bundled reports and their vectors")


def build(work: Path, folder: Path, n: int) -> dict:
    """An index of about ``n`` passages in ``folder`` (settings: ``shard_bench_jobs.settings_for``): its counts."""
    return run(["reportrag.eval.shard_bench", "--work", str(work), "--job", "base", "--opts",
                json.dumps({"dir": str(folder), "passages": n, "shard_passages": 200_000, "sigma": 1.0})],
               f"an index of {n:,} passages")


def compare_ways(module: str, ways: list[str], sizes: list[int], rounds: int) -> dict[str, dict]:
    """Per size: the base index's counts and each way's runs (``python -m module --job WAY --dir FOLDER``)."""
    work = Path(tempfile.mkdtemp(prefix="reportrag-ways-"))
    points = {}
    try:
        originals(work)
        for n in sizes:
            folder = work / f"n{n}"
            base = build(work, folder, n)
            runs: dict[str, list[dict]] = {way: [] for way in ways}
            for r in range(rounds):
                for way in (ways if r % 2 == 0 else ways[::-1]):  # neither way always goes first
                    runs[way].append(run([module, "--job", way, "--dir", str(folder)], f"{n:,} passages, {way}"))
            points[str(n)] = {"base": {k: base[k] for k in ("reports", "passages", "sentences", "shards")},
                              "runs": runs}
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return points


def write_results(out: dict, results: Path, start: str, end: str, render: Callable[[dict], str]) -> None:
    """The raw figures to ``results``, their section (between ``start`` and ``end``) to BENCHMARKS.md."""
    results.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    bench = ROOT / "BENCHMARKS.md"
    bench.write_text(replace_section(bench.read_text(encoding="utf-8"), start, end, render(out)), encoding="utf-8")
    print(render(out))
    print(f"written: {results.relative_to(ROOT)}, BENCHMARKS.md", file=sys.stderr)


def header(command: str, rounds: int) -> dict:
    return {"date": time.strftime("%Y-%m-%d"), "git": git_state(), "machine": machine(), "rounds": rounds,
            "command": command}


def main(argv: list[str] | None, module: str, description: str, *, job: Callable[[Path, str], dict], ways: list[str],
         median: Callable[[list[dict]], dict], sizes: str, rounds: int, same: str, results: Path,
         section: tuple[str, str], render: Callable[[dict], str]) -> int:
    """A benchmark's command line: run as ``--job WAY --dir FOLDER``, one fresh process's figures; else every way
    at every size, each way's ``median`` over the rounds, and ``same`` (whether every run's digest agrees) per size."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--sizes", default=sizes, help="passages of each index (comma-separated)")
    parser.add_argument("--rounds", type=int, default=rounds, help="fresh processes per way and size, interleaved")
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.job:
        emit(job(Path(args.dir), args.job))
        return 0
    points = {}
    for n, point in compare_ways(module, ways, [int(s) for s in args.sizes.split(",")], args.rounds).items():
        runs = point["runs"]
        points[n] = {"base": point["base"], "ways": {way: median(r) for way, r in runs.items()},
                     same: len({r["digest"] for rs in runs.values() for r in rs}) == 1}
    command = " ".join([f"python -m {module}", *(argv if argv is not None else sys.argv[1:])])
    out = {**header(command, args.rounds), "points": points}
    write_results(out, results, *section, render)
    return 0 if all(p[same] for p in points.values()) else 1
