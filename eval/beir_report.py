"""What a BEIR run reports: the published reference figures beside ours, as Markdown and JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any



from reportrag.eval.beir_data import dataset_name, default_results_dir


def published_references(dataset_dir: str | Path) -> dict[str, Any]:
    """Reference figures shipped with a data set: the rows of README.md's Markdown table, and PUBLISHED.txt lines
    that name the data set."""
    root = Path(dataset_dir)
    out: dict[str, Any] = {"table": [], "lines": []}
    readme = root / "README.md"
    if readme.is_file():
        rows = [line.strip() for line in readme.read_text(encoding="utf-8", errors="replace").splitlines()]
        rows = [line for line in rows if line.startswith("|") and line.endswith("|")]
        if len(rows) > 2 and set(rows[1].replace("|", "").strip()) <= set("-: "):
            header = [cell.strip() for cell in rows[0].strip("|").split("|")]
            for row in rows[2:]:
                cells = [cell.strip() for cell in row.strip("|").split("|")]
                out["table"].append(dict(zip(header, cells)))
        out["source"] = "README.md"
    published = root / "PUBLISHED.txt"
    if published.is_file():
        out["lines"] = _published_lines(published.read_text(encoding="utf-8", errors="replace"), dataset_name(root))
        out["source"] = "README.md, PUBLISHED.txt" if readme.is_file() else "PUBLISHED.txt"
    return out


def _published_lines(text: str, name: str) -> list[str]:
    """Rows of a PUBLISHED.txt that give figures for ``name`` (the name at a line's start or after "|", then a
    number), each with its section heading ("A. …") and column header (the last line above it naming nDCG)."""
    row = re.compile(rf"(?:^|\|)\s*({re.escape(name)}\s+\d*\.\d+[^|]*)", re.IGNORECASE)
    lines = text.splitlines()
    out: list[str] = []
    heading, header = "", ""
    for i, line in enumerate(lines):
        if re.match(r"[A-Z]\.\s", line):
            heading, header = line.strip(), ""
            continue
        if "ndcg" in line.lower() and not row.search(line):
            above = lines[i - 1] if i else ""
            lead = " ".join(above.split()) + " / " if above.strip() and above.startswith(" ") else ""
            header = lead + " ".join(line.split())
            continue
        match = row.search(line)
        if match and name:
            context = " — ".join(part for part in (heading, header) if part)
            figures = " ".join(match.group(1).split())
            out.append(f"{context}: {figures}" if context else figures)
    return out


def without_per_query(result: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(result)
    out["modes"] = {k: {f: v for f, v in m.items() if f != "per_query"} for k, m in result["modes"].items()}
    return out


def format_markdown(result: Mapping[str, Any]) -> str:
    def cell(value: Any) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    idx = result["index"]
    lines = [
        f"# BEIR {result['dataset']} ({result['split']} split)",
        "",
        f"{result['corpus_size']:,} documents, {result['n_queries']:,} queries; model {result['model']} "
        f"(max {result['max_seq_length']} tokens); document text {result['doc_text']}; "
        f"{result['n_sentences']:,} sentences (hybrid rows say whether each title is one more sentence). "
        f"Index built in {idx['build_seconds']:.1f} s ({idx['embedded_new']:,} texts embedded anew, "
        f"embedding {idx['embed_seconds']:.1f} s, BM25 {idx['keyword_seconds']:.1f} s). "
        f"corpus.jsonl sha256 `{result['corpus_sha256'][:16]}…`; run {result['created']}.",
        "",
        "| system | nDCG@10 | Recall@100 | Recall@10 | MRR@10 | ms/query |",
        "|---|---|---|---|---|---|",
    ]
    from reportrag.retrieval.scoring import Weights

    for label, m in result["modes"].items():
        what = {"keyword": "BM25: bm25s, our tokenizer", "dense": "exact cosine"}.get(label, "")
        if "weights" in m:
            weights = ", ".join(f"{k}={v}" for k, v in m["weights"].items())
            kind = "default" if m["weights"] == asdict(Weights()) else "tuned"
            what = f"{'' if label == 'hybrid' else 'variant: '}search.fuse, {kind} Weights({weights})"
            what += ", title as a sentence" if m.get("title_sentence") else ", no title sentence"
        lines.append(
            f"| reportrag {label} ({what}) | {cell(m['ndcg@10'])} | {cell(m['recall@100'])} | {cell(m['recall@10'])} "
            f"| {cell(m['mrr@10'])} | {m['ms_per_query']:.1f} |"
        )
    published = result.get("published") or {}
    for row in published.get("table", []):
        values = list(row.values())
        ndcg = next((v for k, v in row.items() if k.lower().startswith("ndcg")), "")
        recall = next((v for k, v in row.items() if k.lower().startswith("recall")), "")
        lines.append(f"| published: {values[0]} | {ndcg} | {recall} | | | |")
    if published.get("lines"):
        lines += ["", "Published figures for this data set in PUBLISHED.txt (section — columns: row):", ""]
        lines += [f"- {line}" for line in published["lines"]]
    elif published.get("source"):
        lines += ["", f"Published figures from the data set's {published['source']}."]
    notes = result.get("notes")
    if notes:
        lines += ["", "Notes:", ""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def write_results(result: Mapping[str, Any], out_dir: str | Path | None = None) -> tuple[Path, Path]:
    """``<out_dir>/<dataset>.json`` (figures without the per-query ones) and ``<dataset>.md`` (a table)."""
    from reportrag.core.files import write_atomic

    folder = Path(out_dir) if out_dir is not None else default_results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / f"{result['dataset']}.json", folder / f"{result['dataset']}.md"
    write_atomic(json_path, json.dumps(without_per_query(result), indent=2, ensure_ascii=False) + "\n")
    write_atomic(md_path, format_markdown(result))
    return json_path, md_path
