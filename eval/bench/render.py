"""BENCHMARKS.md from a run's results JSON: the header, this machine, the load, then one section a measurement,
and a table of targets (collected while the sections render) placed above the machine table."""

from __future__ import annotations

from reportrag.eval.bench.render_build import build_section, reingest_section
from reportrag.eval.bench.render_format import fmt
from reportrag.eval.bench.render_latency import latency_section
from reportrag.eval.bench.render_scale import scale_section
from reportrag.eval.bench.render_startup import memory_section, startup_section

MACHINE_HEADING = "## This machine"  # the targets table goes right above it


def render(res: dict) -> str:
    out = _about_the_run(res) + _machine_table(res) + _load_paragraph(res)
    if res["errors"]:
        out += ["**Sections that failed in this run:**", ""] + [f"- {k}: `{e[:300]}`" for k, e in res["errors"].items()] + [""]
    summary: list[tuple[str, str, str, str]] = []  # (target, measured, goal, verdict), appended by the sections
    out += build_section(res, summary)
    out += reingest_section(res, summary)
    out += startup_section(res, summary)
    out += latency_section(res, summary)
    out += memory_section(res)
    out += scale_section(res, summary)
    head = ["## Targets at a glance", "", "| target | measured | goal | |", "|---|---|---|---|"]
    head += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in summary] + [""]
    i = out.index(MACHINE_HEADING)
    return "\n".join(out[:i] + head + out[i:]) + "\n"


def _about_the_run(res: dict) -> list[str]:
    g = res["git"]
    return [
        "# Benchmarks",
        "",
        f"Written by `python -m reportrag.eval.bench` ({res['mode']} run, {fmt(res['total_s'] / 60, 1)} min) on {res['date'][:10]}, "
        f"commit `{g['commit']}`" + (f" with uncommitted changes in {len(g['dirty_files'])} files ({', '.join(g['dirty_files'][:8])}{'…' if len(g['dirty_files']) > 8 else ''})." if g["dirty_files"] else "."),
        f"Command: `{res.get('command', 'eval/bench.py').strip()}`. Re-run with `make bench` or `.venv/bin/python -m reportrag.eval.bench [--quick]`; "
        "the raw figures are in `eval/results/bench.json`.",
        "Every measurement is a fresh process of the script in a temporary folder (so start-up is real and each",
        "peak memory is that job's own `ru_maxrss`); the project's `data/index` and `data/cache` are not used.",
        "",
    ]


def _machine_table(res: dict) -> list[str]:
    m, v = res["machine"], res["versions"]
    return [
        MACHINE_HEADING,
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {m['cpu']}, {m['cores']} cores, no GPU |",
        f"| RAM | {m['ram_gib']} GiB |",
        f"| OS | {m['os']} |",
        f"| Python | {v['python']} |",
        f"| torch / sentence-transformers / transformers | {v['torch']} / {v['sentence-transformers']} / {v['transformers']} |",
        f"| faiss-cpu (threads) / numpy / bm25s | {v['faiss-cpu']} ({m['faiss_threads']}) / {v['numpy']} / {v['bm25s']} |",
        f"| LangChain recipe | langchain-community {v['langchain-community']} (its HuggingFaceEmbeddings), "
        f"langchain-text-splitters {v['langchain-text-splitters']}, langchain-core {v['langchain-core']} |",
        "| model | all-MiniLM-L6-v2 (384-d), from the bundled package folder |",
        "",
    ]


def _load_paragraph(res: dict) -> list[str]:
    """How busy the machine was over the whole run, and what that means for the figures."""
    load0, load1 = res["loadavg_start"], res.get("loadavg_end", [float("nan")] * 3)
    others = res.get("others_cores_mean", 0.0)
    contention = others > 0.25 or load0[0] > 1.5 or load1[0] > 1.5
    return [
        f"**Load.** Load average {load0[0]:.2f} / {load0[1]:.2f} / {load0[2]:.2f} (1/5/15 min) at the start, "
        f"{load1[0]:.2f} / {load1[1]:.2f} / {load1[2]:.2f} at the end; other processes used on average "
        f"{others:.2f} of the {res['machine']['cores']} cores while the bench ran (from `/proc/stat` minus the bench's own CPU time)."
        + (
            " **The machine was shared with other heavy jobs during this run**: wall-clock figures are inflated "
            "and noisy, so each section also gives CPU seconds and the other processes' load during each job "
            "(`others_cores` in the JSON). Ratios of two figures measured close together (build vs encode, hybrid vs "
            "embedding, which run interleaved) are affected less than absolute times."
            if contention
            else " The machine was otherwise quiet."
        ),
        "",
    ]
