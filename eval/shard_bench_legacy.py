"""The shard benchmark's child-side helpers, and its one job on another checkout: adding a report with the code of
commit 0df1039 (before shards), which rebuilt bm25s and faiss over every report and rewrote the whole embedding
cache (one keys.json and one vectors file) on each addition.

Run by eval/shard_bench.py as ``python -m reportrag.eval.shard_bench_legacy --tree DIR --work DIR --opts JSON``
with the working directory and PYTHONPATH at that checkout. Only the standard library is imported at the top: the
project's modules must come from ``--tree``. PYTHONPATH alone is not enough for that: this venv's editable install
maps ``reportrag.index`` and ``reportrag.ingest`` to this checkout's folders (a meta-path finder that answers when
the older tree's ``reportrag/`` has no such subfolder), so ``_use_tree`` puts a finder for the tree's own folders
first, and the job reports the files its modules came from.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.util
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Self

RESULT_PREFIX = "SHARD-BENCH-RESULT "  # the one stdout line a child's result travels on
PROCESS_START = time.perf_counter()


class Phases:
    """Wall seconds and calls spent in named functions, by wrapping them where they are looked up (a module's or
    a class's attribute). Nested phases each count their own time (encoding inside a cache lookup counts in both)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, owner, attr: str, label: str | None = None) -> None:
        import inspect

        label = label or attr
        static = inspect.getattr_static(owner, attr)
        original = getattr(owner, attr)  # bound for a classmethod, plain function for an instance method
        phases = self

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                phases.seconds[label] = phases.seconds.get(label, 0.0) + time.perf_counter() - started
                phases.calls[label] = phases.calls.get(label, 0) + 1

        setattr(owner, attr, staticmethod(timed) if isinstance(static, (classmethod, staticmethod)) else timed)

    def as_dict(self) -> dict:
        return {k: {"s": round(v, 4), "calls": self.calls[k]} for k, v in self.seconds.items()}


class Recorder:
    """An embedder that passes every call to the real one and keeps the texts and seconds of each."""

    def __init__(self, embedder) -> None:
        self.inner = embedder
        self.name, self.dimension = embedder.name, embedder.dimension
        self.max_seq_length = getattr(embedder, "max_seq_length", 256)
        self.texts: list[str] = []
        self.seconds = 0.0

    def encode(self, texts):
        started = time.perf_counter()
        out = self.inner.encode(texts)
        self.seconds += time.perf_counter() - started
        self.texts += list(texts)
        return out


QUIET_CORES = 0.3  # a measurement counts as quiet when the rest of the machine used at most this many cores


def cpu_busy_s() -> float:
    """CPU seconds every process on the machine has used since boot (from /proc/stat)."""
    import os

    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """CPU seconds of this process and its finished children."""
    u, s = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime + s.ru_utime + s.ru_stime


class Others:
    """How many cores the rest of the machine used during a block (``cores`` once it ends)."""

    def __enter__(self) -> Self:
        self._busy, self._own, self._wall = cpu_busy_s(), own_cpu_s(), time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        wall = max(time.perf_counter() - self._wall, 1e-6)
        self.cores = max(0.0, (cpu_busy_s() - self._busy) - (own_cpu_s() - self._own)) / wall


def wait_quiet(max_wait_s: float = 180.0, sample_s: float = 3.0) -> float:
    """Wait (up to ``max_wait_s``) until the rest of the machine uses at most ``QUIET_CORES`` over ``sample_s``:
    two cores shared with a busy neighbour make every barrier of torch's and faiss's thread pools wait for a time
    slice, and a 10 ms query embedding takes 100-300 ms. Returns the seconds waited."""
    started = time.perf_counter()
    while True:
        with Others() as o:
            time.sleep(sample_s)
        if o.cores <= QUIET_CORES or time.perf_counter() - started >= max_wait_s:
            return time.perf_counter() - started - sample_s


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(result: dict) -> None:
    """The child's result line, with its process's own totals."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result.update(job_peak_rss_mib=usage.ru_maxrss / 1024, job_cpu_s=usage.ru_utime + usage.ru_stime,
                  job_s=time.perf_counter() - PROCESS_START)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def load_model(make_embedder, settings) -> tuple[object, dict]:
    """The real model, loaded and warmed up: (embedder, seconds of the load and of the first encode)."""
    started = time.perf_counter()
    embedder = make_embedder(settings)
    embedder.model  # noqa: B018 — the load itself (the model loads lazily, on first use)
    loaded = time.perf_counter()
    embedder.encode(["A warm-up sentence about legal aid in rural districts."])
    return embedder, {"model_load_s": loaded - started, "warm_up_s": time.perf_counter() - loaded}


def embed_alone(embedder, texts: list[str], runs: int = 5) -> list[float]:
    """Seconds of ``embedder.encode(texts)``, model loaded and warm, ``runs`` times."""
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        embedder.encode(texts)
        out.append(time.perf_counter() - started)
    return out


class _TreeFinder(importlib.abc.MetaPathFinder):
    def __init__(self, folders: dict[str, Path]) -> None:
        self.folders = folders

    def find_spec(self, fullname, path=None, target=None):
        folder = self.folders.get(fullname)
        if folder is None:
            return None
        return importlib.util.spec_from_file_location(fullname, folder / "__init__.py",
                                                      submodule_search_locations=[str(folder)])


def _use_tree(tree: Path) -> None:
    """Import the project's folder packages from ``tree`` (see the module's docstring)."""
    sys.meta_path.insert(0, _TreeFinder({"reportrag.index": tree / "index", "reportrag.ingest": tree / "ingest"}))


def job_legacy_add(tree: Path, work: Path, opts: dict) -> dict:
    """0df1039's ``reportrag ingest FILE`` minus the model load: ``ingest`` then ``refresh_search_index`` (which
    loads every report, rebuilds bm25s and faiss over all of them and rewrites the cache)."""
    _use_tree(tree)
    from reportrag.index import build, document_store, embed, keyword, search_index, vectors
    from reportrag.ingest.pipeline import info_for_file
    from reportrag.ingest.tokens import TokenCounter

    from reportrag.core.settings import Settings
    from reportrag.service import ingesting

    folder = Path(opts["dir"])
    settings = Settings(model="minilm", index_dir=folder / "index", cache_dir=folder / "cache")
    embedder, model = load_model(ingesting.make_embedder, settings)
    phases = Phases()
    for owner, attr, label in [(document_store, "build_info", "read every stored record's build info (ingest)"),
                               (document_store, "load", "load every stored report"),
                               (embed.EmbeddingCache, "__init__", "load the whole embedding cache"),
                               (embed.EmbeddingCache, "embed", "cache lookups (+ encoding)"),
                               (embed.EmbeddingCache, "save", "rewrite the whole embedding cache"),
                               (keyword.KeywordIndex, "build", "bm25s over every passage"),
                               (vectors, "build", "faiss over every passage and sentence"),
                               (search_index, "save", "write the whole search index")]:
        phases.wrap(owner, attr, label)
    recorder = Recorder(embedder)
    path = Path(opts["report"])
    waited = wait_quiet(max_wait_s=90)
    with Others() as others:
        started = time.perf_counter()
        items = [(info_for_file(path, document_store.doc_ids(settings.index.index_dir)), path)]
        result = ingesting.ingest(settings.index.index_dir, items, TokenCounter(ingesting.tokenizer_dir(settings)),
                                  max_bytes=settings.ingest.max_file_bytes, max_tokens=settings.ingest.max_passage_tokens)
        ingested = time.perf_counter()
        ingesting.refresh_search_index(settings, recorder)
        done = time.perf_counter()
        alone = embed_alone(embedder, recorder.texts)
    modules = {m.__name__: Path(m.__file__).resolve().relative_to(tree.resolve()).as_posix()
               for m in (ingesting, build, embed, search_index, keyword)}
    return {"add_s": done - started, "ingest_s": ingested - started, "refresh_s": done - ingested,
            "added": result.added, "failed": result.failed, "embedded_texts": len(recorder.texts),
            "encode_in_add_s": recorder.seconds, "embed_alone_s": alone, **model, "phases": phases.as_dict(),
            "modules": modules, "peak_rss_after_add_mib": peak_rss_mib(), "waited_quiet_s": waited,
            "others_during_s": others.cores}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="one job of the shard benchmark on another checkout")
    ap.add_argument("--tree", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--opts", default="{}")
    args = ap.parse_args(argv)
    emit(job_legacy_add(args.tree, args.work, json.loads(args.opts)))
    return 0


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


if __name__ == "__main__":
    raise SystemExit(main())
