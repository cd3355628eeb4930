"""Formatting shared by the BENCHMARKS.md sections: numbers, target verdicts, the load note under a table."""

from __future__ import annotations

import statistics

from reportrag.eval.bench.common import TARGETS, met


def fmt(value, digits: int = 2, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    return f"{value:,.{digits}f}{unit}"


def verdict(name: str, value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "not measured"
    return "**met**" if met(name, value) else "**missed**"


def load_note(jobs: list[dict]) -> str:
    """How busy the rest of the machine was during these jobs."""
    jobs = [j for j in jobs if j and "others_cores" in j]
    if not jobs:
        return ""
    others = [j["others_cores"] for j in jobs]
    return (
        f"*Load during these jobs: other processes used {min(others):.2f}–{max(others):.2f} cores "
        f"(mean {statistics.mean(others):.2f}) of the machine's cores.*"
    )


def target(name: str) -> str:
    op, value, _ = TARGETS[name]
    return f"{'≤' if op == '<=' else '≥'} {value:g}"
