"""Write evaluation results where people look: eval/results/ (JSON, Markdown, PNG plots) and the README's table."""

from __future__ import annotations

import datetime as dt
import json
import platform
import re
import subprocess
from pathlib import Path

from reportrag.eval.runner import CURVE_K

from reportrag.core.files import write_atomic
from reportrag.core.settings import PROJECT_ROOT

README_START, README_END = "<!-- eval:start -->", "<!-- eval:end -->"
TYPES = ("fact", "paraphrase", "section", "cross-report", "concluding-observations", "identifier")


def provenance() -> dict:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"),
        "commit": commit or "unknown",
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}",
    }


ANSWER_FIGURES = (  # (key, heading, target on the held-out split)
    ("answerable_quoting_gold", "answers quoting gold evidence", "≥ 0.92"),
    ("quote_precision", "quote precision", "≥ 0.80"),
    ("quotes_per_answer", "quotes per answer", "≤ 2.5"),
    ("answerable_flagged", "false abstention", "≤ 0.05"),
    ("unanswerable_flagged", "abstention on unanswerable", "≥ 0.80"),
    ("recall@5", "retrieval R@5", "≥ 0.96"),
)


def answers_markdown(report: dict) -> list[str]:
    """Per split (train: choices were made on it; held-out: only reported), each figure beside the one before."""
    splits, before = report.get("splits") or {}, report.get("before") or {}
    if not splits:
        return []
    lines = [
        f"Answers (model {report['model']}): each figure now, then before (commit `{before.get('commit', '?')}`, "
        f"{before.get('model', '?')}) in brackets. Everything was chosen on the training split "
        "(`eval/questions.jsonl`); the held-out split (`eval/questions_holdout.jsonl`) is only reported.",
        "",
        "| split | questions | " + " | ".join(h for _, h, _ in ANSWER_FIGURES) + " |",
        "|---|---|" + "---|" * len(ANSWER_FIGURES),
    ]
    for name, figures in splits.items():
        old = before.get(name, {})
        cells = [_now_and_before(figures.get(k), old.get(k)) for k, _, _ in ANSWER_FIGURES]
        lines.append(f"| {name} | {figures['questions']} | " + " | ".join(cells) + " |")
    lines.append("| target (held-out) | | " + " | ".join(t for _, _, t in ANSWER_FIGURES) + " |")
    return lines + [""]


def _now_and_before(now, old) -> str:
    if now is None:
        return "–"
    return f"**{now:.3f}**" + (f" ({old:.3f})" if old is not None else "")


def markdown(report: dict) -> str:
    """The table the README shows: answers per split, one row per configuration, then recall@5 per question type."""
    meta, results = report["provenance"], report["results"]
    lines = answers_markdown(report) + [
        f"Retrieval on `eval/questions.jsonl` ({report['answerable']} answerable questions; model {report['model']}; "
        f"{meta['date']}, commit `{meta['commit']}`).",
        "",
        "| configuration | R@1 | R@5 | R@10 | MRR@10 | nDCG@10 | doc R@5 | ms/query |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['recall@1']:.3f} | **{r['recall@5']:.3f}** | {r['recall@10']:.3f} | {r['mrr@10']:.3f} | "
            f"{r['ndcg@10']:.3f} | {r['doc_recall@5']:.3f} | {r['ms_per_query']:.1f} |"
        )
    lines += ["", "Recall@5 per question type:", "", "| configuration | " + " | ".join(TYPES) + " |"]
    lines.append("|---|" + "---|" * len(TYPES))
    for name, r in results.items():
        cells = [f"{r['by_type'][t]['recall@5']:.2f}" if t in r["by_type"] else "–" for t in TYPES]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Counts per type: " + ", ".join(f"{t} {results[next(iter(results))]['by_type'].get(t, {}).get('n', 0)}" for t in TYPES) + ".")
    abstention = report.get("abstention")
    if abstention and abstention.get("at_5_percent"):
        best = abstention["at_5_percent"]
        lines += [
            "",
            f"Abstention ({abstention['rule']}, {abstention['mode']}, {report['unanswerable']} unanswerable questions): at "
            f"≤ 5 % of answerable questions wrongly flagged ({best['answerable_flagged']:.1%}), "
            f"{best['unanswerable_flagged']:.1%} of unanswerable ones are flagged (threshold {best['threshold']}).",
        ]
    answers = report.get("answers")
    if answers:
        lines += [
            "",
            f"Answer layer ({answers['rule']}): flags {answers['unanswerable_flagged']:.1%} of unanswerable questions and "
            f"{answers['answerable_flagged']:.1%} of answerable ones (target ≥ 80 % / ≤ 5 %); "
            f"{answers['answerable_quoting_gold']:.1%} of answerable questions are answered with a gold sentence quoted; "
            f"every citation verified: {'yes' if answers['all_citations_verified'] else 'NO'}.",
        ]
    for beir in report.get("beir", []):  # its own "# title" becomes a sub-heading here
        lines += ["", re.sub(r"^# ", "### ", beir.strip(), flags=re.M)]
    return "\n".join(lines) + "\n"


def plot(report: dict, out_dir: Path) -> list[Path]:
    """PNG plots: recall@k per configuration, recall@5 per question type, the abstention trade-off."""
    import matplotlib

    matplotlib.use("Agg")  # no display here, and none needed
    import matplotlib.pyplot as plt

    results = report["results"]
    paths = []

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    for name, r in results.items():
        ax.plot(CURVE_K, [r[f"recall@{k}"] for k in CURVE_K], marker="o", ms=3, label=name)
    ax.set(xlabel="k (passages shown)", ylabel="recall@k", title="Gold passage within the top k", ylim=(0, 1.02))
    ax.set_xticks(CURVE_K)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    paths.append(_save(fig, out_dir / "recall_at_k.png"))

    fig, ax = plt.subplots(figsize=(7.6, 4.2), dpi=110)
    width = 0.8 / max(len(results), 1)
    for i, (name, r) in enumerate(results.items()):
        values = [r["by_type"].get(t, {}).get("recall@5") or 0 for t in TYPES]
        ax.bar([j + i * width for j in range(len(TYPES))], values, width, label=name)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(TYPES))], [t.replace("concluding-observations", "concl. obs.") for t in TYPES], fontsize=8)
    ax.set(ylabel="recall@5", title="Recall@5 per question type", ylim=(0, 1.05))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    paths.append(_save(fig, out_dir / "recall_by_type.png"))

    curve = (report.get("abstention") or {}).get("curve")
    if curve:
        fig, ax = plt.subplots(figsize=(5.2, 4.2), dpi=110)
        ax.plot([c["answerable_flagged"] for c in curve], [c["unanswerable_flagged"] for c in curve], marker=".",
                label="top score below a threshold")
        answers = report.get("answers")
        if answers:
            ax.plot([answers["answerable_flagged"]], [answers["unanswerable_flagged"]], "r*", ms=12, label="answer layer's evidence check")
        ax.legend(fontsize=7, loc="lower right")
        ax.axvline(0.05, color="grey", ls="--", lw=1)
        ax.axhline(0.80, color="grey", ls=":", lw=1)
        ax.set(xlabel="answerable questions wrongly flagged", ylabel="unanswerable questions flagged",
               title=f"Abstention: {report['abstention']['rule']}", xlim=(0, 1), ylim=(0, 1.02))
        ax.grid(alpha=0.3)
        paths.append(_save(fig, out_dir / "abstention.png"))
    return paths


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.tight_layout()
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
    return path


def write(report: dict, out_dir: Path, readme: Path | None = None) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    text = markdown(report)
    write_atomic(out_dir / "questions.json", json.dumps(report, indent=1, ensure_ascii=False))
    write_atomic(out_dir / "questions.md", text)
    paths = [out_dir / "questions.json", out_dir / "questions.md", *plot(report, out_dir)]
    if readme is not None and readme.is_file():
        update_readme(readme, text)
        paths.append(readme)
    return paths


def update_readme(readme: Path, table: str) -> None:
    """Replace what stands between the eval markers (left alone when the README has none)."""
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(README_START) + r".*?" + re.escape(README_END), re.S)
    if pattern.search(text):
        write_atomic(readme, pattern.sub(lambda _: f"{README_START}\n{table}{README_END}", text))
