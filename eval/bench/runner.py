"""Both ends of a job's subprocess: the parent's ``Runner`` (spawns ``python -m reportrag.eval.bench --job NAME``,
reads the result line, notes how busy the rest of the machine was) and the child's ``run_child``; plus the machine,
git and package facts a run records."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from reportrag.eval.bench import PROCESS_START
from reportrag.eval.bench.common import RESULT_PREFIX, ROOT
from reportrag.eval.bench.jobs import job_build, job_encode, job_recipe, job_reingest, job_searcher
from reportrag.eval.bench.scale import job_scale

JOBS = {"build": job_build, "encode": job_encode, "reingest": job_reingest, "searcher": job_searcher, "recipe": job_recipe, "scale": job_scale}


def run_child(name: str, work: Path, opts: dict) -> None:
    """The child's side: run one job, add this process's own totals, print the result line the parent reads."""
    out = JOBS[name](work, opts)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.update(job_peak_rss_mib=usage.ru_maxrss / 1024, job_cpu_s=usage.ru_utime + usage.ru_stime, job_s=time.perf_counter() - PROCESS_START)
    print(RESULT_PREFIX + json.dumps(out), flush=True)


def cpu_busy_s() -> float:
    """CPU seconds every process on the machine has used since boot (from /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """CPU seconds of this process and its finished children: subtracted from cpu_busy_s to see everyone else."""
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    s = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime + s.ru_utime + s.ru_stime


def run_job(cmd: list[str], cwd: Path, env: dict, prefix: str, what: str, *, tail_lines: int) -> dict:
    """Run one benchmark job in a fresh process: its result (the last stdout line starting with ``prefix``, as JSON)
    with its wall time, the cores other processes used meanwhile and the load average at its start."""
    busy, ours, load = cpu_busy_s(), own_cpu_s(), os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    others = max(0.0, (cpu_busy_s() - busy) - (own_cpu_s() - ours)) / wall  # cores other processes used
    lines = [line for line in proc.stdout.splitlines() if line.startswith(prefix)]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-tail_lines:])
        raise RuntimeError(f"{what} failed (exit {proc.returncode}):\n{tail}")
    out = json.loads(lines[-1][len(prefix) :])
    out.update(process_wall_s=wall, others_cores=others, load_at_start=load)
    return out


class Runner:
    """Runs each job in a fresh process of this package and keeps a line per job for the results' ``jobs``."""

    def __init__(self, log) -> None:
        self.log = log
        self.jobs: list[dict] = []

    def run(self, name: str, work: Path, **opts) -> dict:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "reportrag.eval.bench", "--job", name, "--work", str(work)]
        cmd += ["--opts", json.dumps(opts)]
        out = run_job(cmd, ROOT, env, RESULT_PREFIX, f"job {name} {opts}", tail_lines=15)
        wall, others = out["process_wall_s"], out["others_cores"]
        shown = {k: Path(v).name if k == "path" else v for k, v in opts.items()}  # no temporary paths in results
        self.jobs.append({"job": name, "opts": shown, "process_wall_s": wall, "others_cores": others, "peak_rss_mib": out["job_peak_rss_mib"]})
        self.log(f"  {name} {opts or ''}: {wall:.1f}s, peak {out['job_peak_rss_mib']:.0f} MiB, other processes ~{others:.2f} cores")
        return out


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("torch", "faiss-cpu", "sentence-transformers", "transformers", "numpy", "bm25s", "langchain-community",
                "langchain-text-splitters", "langchain-core"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:"))
    os_name = platform.platform()
    try:
        pretty = next(line.split("=", 1)[1].strip('"') for line in Path("/etc/os-release").read_text().splitlines() if line.startswith("PRETTY_NAME="))
        os_name = f"{pretty} (Linux {platform.release()})"
    except (OSError, StopIteration):
        pass
    threads = None
    try:
        import faiss  # light enough here; torch's thread count is read in a job

        threads = faiss.omp_get_max_threads()
    except ImportError:
        pass
    return {"cores": os.cpu_count(), "ram_gib": round(mem / 1024 / 1024, 1), "cpu": cpu, "os": os_name, "faiss_threads": threads}


def git_state() -> dict:
    def run(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    dirty = [line[3:] for line in run("status", "--porcelain").splitlines() if line.strip()]
    return {"commit": run("rev-parse", "--short=12", "HEAD").strip(), "dirty_files": dirty}
