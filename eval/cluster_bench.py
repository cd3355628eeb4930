"""Distributed ingest against the single-process path, on this machine, in one run and on the same corpus: ingest
throughput with one and two worker processes (a local Ray cluster: reportrag.cluster.local) and in one process, Ray's
overhead per task, and from the measured per-worker rates the projection for a corpus the size of the treaty-body
record.

    .venv/bin/python -m reportrag.eval.cluster_bench [--quick]

The corpus is the two bundled reports (``--quick``: four small reports cut from one, eval/cluster_corpus.py); every
run starts from an empty index and an empty embedding cache, with all-MiniLM-L6-v2. Writes eval/results/cluster.json
and the cluster section of BENCHMARKS.md (between its markers).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from reportrag.eval.cluster_corpus import write_reports
from reportrag.eval.cluster_projection import END, START, render
from reportrag.eval.markdown_sections import replace_section
from reportrag.ingest.pipeline import read_manifest
from reportrag.ingest.tokens import TokenCounter

from reportrag.cluster.ingest import ingest_on_cluster
from reportrag.cluster.local import LocalCluster
from reportrag.core.settings import PROJECT_ROOT, Settings
from reportrag.service import ingesting

BATCH = 64


class _Timed:
    """The model, with the seconds and texts of its ``encode`` calls counted."""

    def __init__(self, embedder) -> None:
        self.embedder, self.seconds, self.texts = embedder, 0.0, 0
        self.name, self.dimension, self.max_seq_length = embedder.name, embedder.dimension, embedder.max_seq_length

    def encode(self, texts):
        started = time.perf_counter()
        vectors = self.embedder.encode(texts)
        self.seconds += time.perf_counter() - started
        self.texts += len(texts)
        return vectors


def single_process(settings: Settings, paths: list[Path]) -> dict:
    """The single-machine ingest, step by step as ``ingest_reports`` runs it, each step timed."""
    started = time.perf_counter()
    items = ingesting.ingest_items(settings, paths)
    tokens = TokenCounter(ingesting.tokenizer_dir(settings))
    result = ingesting.ingest(settings.index.index_dir, items, tokens, max_bytes=settings.ingest.max_file_bytes,
                              max_tokens=settings.ingest.max_passage_tokens)
    read = time.perf_counter()
    embedder = ingesting.make_embedder(settings)
    embedder.model  # noqa: B018 — loaded here, to time it apart
    loaded = time.perf_counter()
    timed = _Timed(embedder)
    ingesting.update_search_index(settings, bool(result.added), timed)
    done = time.perf_counter()
    return {"path": "single process", "workers": 1, "texts": timed.texts, "wall_s": done - started,
            "read_s": read - started, "model_s": loaded - read, "embed_s": timed.seconds,
            "embed_rate": timed.texts / timed.seconds, "passages": _passages(settings)}


def on_cluster(settings: Settings, paths: list[Path], folder: Path, workers: int) -> dict:
    """A fresh local cluster of ``workers`` one-CPU nodes; the ingest timed from the driver's start (the cluster's
    own start-up apart). The embedding rate is taken once every actor has delivered a batch (model loads apart)."""
    booting = time.perf_counter()
    with LocalCluster(folder, workers=workers) as cluster:
        booted = time.perf_counter() - booting
        marks: list[tuple[float, int]] = []  # (when, batches so far)
        said: dict[str, float] = {}

        def progress(line: str) -> None:
            if line.startswith("cluster: embedding"):  # reading done, the actors start
                said.setdefault("embedding", time.perf_counter())

        started = time.perf_counter()
        result = ingest_on_cluster(settings, paths, progress, address=cluster.address, batch=BATCH,
                                   on_batch=lambda n, _: marks.append((time.perf_counter(), n)))
        done = time.perf_counter()
        overhead = ray_overhead(cluster.address) if workers == 2 else None
    steady = [m for m in marks if m[1] >= workers]
    first_t, first_n = steady[0]
    embed_rate = (result.embedded - first_n * BATCH) / (marks[-1][0] - first_t) if len(steady) > 1 else None
    return {"path": "Ray cluster", "workers": workers, "texts": result.embedded, "wall_s": done - started,
            "read_s": said.get("embedding", done) - started, "embed_rate": embed_rate,
            "first_batch_s": marks[0][0] - said.get("embedding", started), "retried": result.retried,
            "cluster_start_s": booted, "overhead": overhead}


def _noop() -> None:
    return None


class _Echo:
    def ping(self) -> None:
        return None


def ray_overhead(address: str, rounds: int = 200) -> dict:
    """A no-op task's round trip (submit, schedule on a worker, return, fetch), one at a time: the median; an
    actor call's likewise; and how many no-op tasks a second the cluster completes when 1,000 are sent at once."""
    import ray

    ray.init(address=address, logging_level="ERROR", log_to_driver=False)
    try:
        noop = ray.remote(num_cpus=1)(_noop)
        ray.get([noop.remote() for _ in range(20)])  # workers started, function exported
        trips = []
        for _ in range(rounds):
            started = time.perf_counter()
            ray.get(noop.remote())
            trips.append(time.perf_counter() - started)
        started = time.perf_counter()
        ray.get([noop.remote() for _ in range(1000)])
        burst = 1000 / (time.perf_counter() - started)
        echo = ray.remote(num_cpus=1)(_Echo).remote()
        ray.get(echo.ping.remote())
        calls = []
        for _ in range(rounds):
            started = time.perf_counter()
            ray.get(echo.ping.remote())
            calls.append(time.perf_counter() - started)
        ray.kill(echo)
    finally:
        ray.shutdown()
    return {"task_ms": statistics.median(trips) * 1000, "task_p95_ms": sorted(trips)[int(rounds * 0.95)] * 1000,
            "actor_call_ms": statistics.median(calls) * 1000, "tasks_per_s": burst}


def _passages(settings: Settings) -> int:
    manifest = json.loads((settings.index.index_dir / "search" / "manifest.json").read_text(encoding="utf-8"))
    return int(manifest["passages"])


def run(quick: bool) -> dict:
    root = Path(tempfile.mkdtemp(prefix="cluster-bench-"))
    if quick:
        paths, corpus = write_reports(root / "reports", reports=4, paragraphs=3), "four small reports (quick)"
    else:
        paths, corpus = [path for _, path in read_manifest(Settings().ingest.reports_manifest)], "the two bundled reports"
    runs = []
    for name, measure in [("single", lambda s: single_process(s, paths)),
                          ("one", lambda s: on_cluster(s, paths, root / "c1", 1)),
                          ("two", lambda s: on_cluster(s, paths, root / "c2", 2))]:
        settings = Settings(index_dir=root / name / "index", cache_dir=root / name / "cache", model="minilm")
        runs.append(measure(settings))
        print(json.dumps(runs[-1]), flush=True)
    return {"date": datetime.date.today().isoformat(), "cpus": os.cpu_count(), "corpus": corpus, "batch": BATCH,
            "runs": runs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="four small reports instead of the bundled ones")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "BENCHMARKS.md")
    parser.add_argument("--results", type=Path, default=PROJECT_ROOT / "eval" / "results" / "cluster.json")
    parser.add_argument("--render", action="store_true", help="only rewrite the section from the saved results")
    args = parser.parse_args(argv)
    if args.render:
        result = json.loads(args.results.read_text(encoding="utf-8"))
    else:
        result = run(args.quick)
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(result, indent=1), encoding="utf-8")
    section = render(result)
    text = args.out.read_text(encoding="utf-8")
    args.out.write_text(replace_section(text, START, END, section), encoding="utf-8")
    print(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
