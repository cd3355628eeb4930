"""Speed and memory benchmarks: build vs bare encoding, re-ingest, start-up, warm query latency, peak memory,
and the vector index at 100k / 1M vectors. Writes BENCHMARKS.md and eval/results/bench.json.

    .venv/bin/python -m reportrag.eval.bench [--quick] [--scale 100000,1000000]

Every measurement runs in a fresh subprocess (``python -m reportrag.eval.bench --job NAME``): start-up is a real
start-up and each job's peak memory (``ru_maxrss``) is its own. Everything happens in a temporary folder: the
project's data/index and data/cache are never read or written (the reports are read from data/reports). The model is
loaded from the bundled folder only (``HF_HUB_OFFLINE=1`` in the jobs, as a guard).

``--quick`` skips scales above 100k and repeats less (one build, one recipe start-up).

Modules: ``runner`` (the parent's Runner and the child's dispatch), ``sections`` (what a full run measures),
``jobs`` and ``scale`` (the measurements, run inside a child), ``measure`` (clocks and memory), ``render*``
(BENCHMARKS.md from the results JSON), ``common`` (constants and targets).
"""

import time

# Runs before anything else of the package (``-m`` imports this file first): a job's start-up time counts its heavy
# imports, as a user's start-up would. Keep imports above this line to the standard library's ``time``.
PROCESS_START = time.perf_counter()
