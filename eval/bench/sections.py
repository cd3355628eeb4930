"""What a full run measures, section by section, each job in its own process through a ``Runner``."""

from __future__ import annotations

import shutil
from pathlib import Path

from reportrag.eval.bench.common import QUIET_CORES, SMALL_REPORT, SMALL_REPORT_ID, ratio
from reportrag.eval.bench.runner import Runner

HNSW_CANDIDATES = [
    {"M": 16, "efConstruction": 40, "efSearch": [32, 64, 128, 256, 512]},
    {"M": 32, "efConstruction": 80, "efSearch": [32, 64, 128, 256, 512]},
]
KNOB_SWEEP = {"nprobe": [4, 8, 16, 32, 64, 128, 256], "efSearch": [32, 64, 128, 256, 512]}


def section(res: dict, name: str, log):
    """Run one section; a failure is recorded (and shown in BENCHMARKS.md) instead of losing the whole run."""

    class _Guard:
        def __enter__(self):
            log(f"{name}")
            return self

        def __exit__(self, kind, error, tb):
            if error is not None and kind is not KeyboardInterrupt:
                res["errors"][name] = f"{kind.__name__}: {error}"
                log(f"{name} FAILED: {error}")
                return True
            return False

    return _Guard()


def run_sections(runner: Runner, tmp: Path, res: dict, scales, candidates_at, repeats, log) -> None:
    """Every section in order; the first build's folder is the index the later jobs read."""
    main_work = tmp / "build0"
    with section(res, "build", log):
        res["build"] = _build_vs_encode(runner, tmp, main_work, repeats)
    with section(res, "startup", log):
        res["startup"] = {"searcher": [runner.run("searcher", main_work) for _ in range(repeats["startup"])]}
    with section(res, "latency", log):
        res["latency"] = {"searcher": runner.run("searcher", main_work, latency=True)}
    with section(res, "recipe", log):
        recipe = [runner.run("recipe", main_work, latency=(i == 0)) for i in range(repeats["recipe"])]
        res.setdefault("startup", {})["recipe"] = recipe
        res.setdefault("latency", {})["recipe"] = recipe[0]
    with section(res, "reingest", log):
        res["reingest"] = _reingest(runner, tmp, main_work, repeats)
    res["scale"] = []
    for n in scales:
        with section(res, f"scale {n:,}", log):
            candidates = HNSW_CANDIDATES if n in candidates_at else []
            res["scale"].append(runner.run("scale", main_work, n=n, candidates=candidates, sweep=KNOB_SWEEP))


def _build_vs_encode(runner: Runner, tmp: Path, main_work: Path, repeats: dict) -> dict:
    """Interleaved build, encode, build, encode…; more pairs (up to a limit) while no quiet pair was measured."""
    builds, encodes = [], []
    while True:
        work = tmp / f"build{len(builds)}"
        work.mkdir()
        builds.append(runner.run("build", work))
        encodes.append(runner.run("encode", main_work))
        quiet_builds = [b for b in builds if b["others_cores"] <= QUIET_CORES]
        quiet_encodes = [e for e in encodes if e["others_cores"] <= QUIET_CORES]
        if len(builds) >= repeats["build"] and ((quiet_builds and quiet_encodes) or len(builds) >= repeats["build_max"]):
            break
    quiet = bool(quiet_builds and quiet_encodes)
    best_build = min(quiet_builds if quiet else builds, key=lambda b: b["wall_s"])
    best_encode = min(quiet_encodes if quiet else encodes, key=lambda e: e["wall_s"])
    return {
        "runs": builds,
        "encode_runs": encodes,
        "quiet": quiet,
        "build_s": best_build["wall_s"],
        "build_cpu_s": min(b["cpu_s"] for b in builds),
        "encode_s": best_encode["wall_s"],
        "encode_cpu_s": min(e["cpu_s"] for e in encodes),
        "passages_only_s": min(e["calls"][0]["wall_s"] for e in encodes),
        "ratio": ratio(best_build["wall_s"], best_encode["wall_s"]),
        "ratio_cpu": ratio(min(b["cpu_s"] for b in builds), min(e["cpu_s"] for e in encodes)),
    }


def _reingest(runner: Runner, tmp: Path, main_work: Path, repeats: dict) -> dict:
    """No-op, add a small report, no-op again, remove it: on a copy, so the other sections' index stays as built."""
    work = tmp / "reingest"
    shutil.copytree(main_work, work)
    small = tmp / f"{SMALL_REPORT_ID}.md"
    small.write_text(SMALL_REPORT, encoding="utf-8")
    noop = [runner.run("reingest", work, step="noop") for _ in range(repeats["noop"])]
    add = runner.run("reingest", work, step="add", path=str(small))
    noop_after = runner.run("reingest", work, step="noop")
    remove = runner.run("reingest", work, step="remove")
    return {"noop": noop, "add": add, "noop_after_add": noop_after, "remove": remove}
