"""Choose the fusion weights for the model the index was built with, on the training split only.

    python -m reportrag.eval.tune_fusion [--questions eval/questions.jsonl]

Each question is embedded once; every grid point re-scores the same vectors (hybrid+rerank), and the point with
the best Recall@5 (ties: MRR@10) is printed as ``--set`` assignments and ``REPORTRAG_*`` settings. The held-out
split is never read. The defaults in reportrag/core/settings.py are set from this script's output.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

from reportrag.core.settings import PROJECT_ROOT, Settings
from reportrag.eval.runner import load_questions, score_hits
from reportrag.retrieval.scoring import Weights
from reportrag.retrieval.search import Filters, clean_query

GRID = {
    "passage": (0.3, 0.5, 0.7),
    "sentence": (0.3, 0.5, 0.7),
    "keyword": (0.05, 0.1, 0.2),
    "keyword_identifiers": (0.4, 0.8, 1.2),
}


def tune(searcher, questions: list[dict]) -> list[dict]:
    """Every grid point's R@5 and MRR@10 on ``questions``, best first."""
    answerable = [q for q in questions if q["gold"]]
    texts = [clean_query(q["question"]) for q in answerable]
    vectors = searcher.embedder.encode(texts)
    doc_texts = {doc_id: d.text for doc_id, d in searcher.documents.items()}
    rows = []
    for values in itertools.product(*GRID.values()):
        searcher.weights = Weights(**dict(zip(GRID, values)))
        found = [searcher.rank(t, v, 10, "hybrid+rerank", Filters()) for t, v in zip(texts, vectors)]
        summary = score_hits(answerable, found, doc_texts, 0.0)
        rows.append({**dict(zip(GRID, values)), "recall@5": summary["recall@5"], "mrr@10": summary["mrr@10"]})
    return sorted(rows, key=lambda r: (-r["recall@5"], -r["mrr@10"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=PROJECT_ROOT / "eval" / "questions.jsonl")
    args = parser.parse_args(argv)
    from reportrag.service.service import Service

    searcher = Service(Settings.from_env()).searcher  # REPORTRAG_MODEL=minilm trains the fast model's
    rows = tune(searcher, load_questions(args.questions))
    print(f"model {searcher.embedder.name}; top of {len(rows)} grid points on {args.questions.name}:", file=sys.stderr)
    for row in rows[:5]:
        print(json.dumps({k: round(v, 4) for k, v in row.items()}))
    best = rows[0]
    print("best: " + " ".join(f"--set {k}_weight={best[k]}" for k in GRID))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
