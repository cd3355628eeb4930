"""Constants and targets shared by the jobs, the runner and the Markdown renderer."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # eval/bench/common.py -> the checkout
QUESTIONS = ROOT / "eval" / "questions.jsonl"
RESULT_PREFIX = "BENCH-RESULT "  # the one stdout line a child's result travels on; anything else it prints is noise
K = 10
NOISE_SIGMA = 1.0  # synthetic vectors: real vector + N(0, σ²/d) per dimension, renormalised (see scale.synthetic)
SMALL_REPORT_ID = "bench-small-report"
QUIET_CORES = 0.25  # a job counts as measured on a quiet machine when other processes used at most this many cores

TARGETS = {  # name: (comparison, value, what)
    "build_over_encode": ("<=", 1.15, "index build from scratch / bare encoding of the same texts"),
    "noop_reingest_s": ("<=", 2.0, "no-op re-ingest, seconds"),
    "startup_speedup": (">=", 10.0, "recipe start-up / our start-up"),
    "hybrid_over_embed": ("<=", 1.5, "hybrid p50 / bare query embedding p50"),
    "hybrid_over_recipe": ("<=", 1.0, "hybrid p50 / recipe similarity_search p50"),
    "scale_p50_ms": ("<=", 10.0, "approximate index, single-query p50, ms"),
    "scale_recall": (">=", 0.95, "approximate index, recall@10 vs exact"),
}

SMALL_REPORT = """# Monitoring note on free legal aid, 2024

## Access to guaranteed legal aid

In 2024 the regional bar associations reported that requests for guaranteed legal aid in rural districts rose
by a fifth, while the number of advocates registered outside the regional centres stayed almost flat.

Applicants most often asked for help with alimony claims, disputes over land plots and appeals against fines.
Many of them learned about the service only after a court hearing had already been scheduled.

The monitoring team visited forty-two district courts and found that only nineteen displayed information on how
to apply for free legal assistance in both state and Russian languages.

## Recommendations

Court offices should hand every party a one-page leaflet on guaranteed legal aid when a claim is registered.

The ministry should publish quarterly figures on refused applications, with the reasons, so that gaps between
regions can be seen and discussed with the bar.

Mobile consultation days in remote villages, run jointly with local akimats, should become a regular practice
rather than a pilot.
"""


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def met(name: str, value: float) -> bool:
    op, target, _ = TARGETS[name]
    return value <= target if op == "<=" else value >= target
