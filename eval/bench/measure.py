"""Clocks, per-call timings, memory readings and the embedder meter the jobs measure with."""

from __future__ import annotations

import resource
import statistics
import time
from pathlib import Path


class Clock:
    """Wall and CPU seconds of a block (CPU: every thread of this process)."""

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def rss_mib(field: str = "VmRSS") -> float:
    """Resident memory now; ``field="RssAnon"``: the process's own, without the pages of files it maps (shard
    files), which the OS shares between processes and reclaims."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def percentile(values, q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def summary_ms(seconds: list[float], cpu_seconds: list[float] | None = None) -> dict:
    """p50/p95 of wall times in ms, and the p50 of the same calls' CPU time (this process, every thread)."""
    ms = [1000 * s for s in seconds]
    out = {"p50": percentile(ms, 50), "p95": percentile(ms, 95), "mean": statistics.mean(ms), "n": len(ms)}
    if cpu_seconds:
        out["cpu_p50"] = percentile([1000 * s for s in cpu_seconds], 50)
    return out


class Timed:
    """Per-call wall and CPU seconds, collected under a name."""

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def __call__(self, name: str, fn, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn(*args, **kwargs)
        self.cpu.setdefault(name, []).append(time.process_time() - cpu)
        self.wall.setdefault(name, []).append(time.perf_counter() - wall)
        return out

    def summary(self) -> dict:
        return {name: summary_ms(self.wall[name], self.cpu[name]) for name in self.wall}


class EmbedMeter:
    """Counts what is embedded and how long model loads take, by wrapping ``Embedder`` in this process only."""

    def __init__(self) -> None:
        from reportrag.index.embed import Embedder

        self.loads, self.load_s, self.calls, self.texts, self.encode_s = 0, 0.0, 0, 0, 0.0
        init, encode, meter = Embedder.__init__, Embedder.encode, self

        def timed_init(embedder, *args, **kwargs):
            started = time.perf_counter()
            init(embedder, *args, **kwargs)
            meter.loads += 1
            meter.load_s += time.perf_counter() - started

        def timed_encode(embedder, texts):
            started = time.perf_counter()
            out = encode(embedder, texts)
            meter.calls += 1
            meter.texts += len(texts)
            meter.encode_s += time.perf_counter() - started
            return out

        Embedder.__init__, Embedder.encode = timed_init, timed_encode

    def as_dict(self) -> dict:
        return {
            "model_loads": self.loads,
            "model_load_s": self.load_s,
            "encode_calls": self.calls,
            "embedded_texts": self.texts,
            "encode_s": self.encode_s,
        }
