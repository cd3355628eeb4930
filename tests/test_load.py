"""Many users at once, in the bounded form CI can afford: 32 clients × 25 requests to /api/ask and /api/search on
a real server on 127.0.0.1, twice. Zero errors; memory after the second round within a few percent of the first.
Latency and memory figures for the full 2,000-request run live in BENCHMARKS.md (eval/serve_bench.py)."""

from __future__ import annotations

import json

from reportrag.eval.loadtest import question_set, rss_mib, run_load


def test_32_clients_25_requests_each_no_errors_and_no_memory_growth(app_process):
    url, proc = app_process
    first = run_load(url, question_set()[:60], clients=32, per_client=25)
    assert first.errors == [], first.errors[:5]
    assert sum(len(v) for v in first.latencies_ms.values()) == 800
    after_first = rss_mib(proc.pid)
    second = run_load(url, question_set()[:60][::-1], clients=32, per_client=25)
    assert second.errors == [], second.errors[:5]
    after_second = rss_mib(proc.pid)
    print(json.dumps({"first": first.summary(), "second": second.summary(),
                      "rss_mib": [round(after_first), round(after_second)]}))
    assert after_second <= after_first * 1.05 + 20, (after_first, after_second)
    assert proc.poll() is None  # still serving
