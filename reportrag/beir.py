"""Load a BEIR-layout data set and score a search function on it the way BEIR / pytrec_eval do.

Layout: ``corpus.jsonl`` (``{"_id", "title", "text"}``), ``queries.jsonl`` (``{"_id", "text"}``) and
``qrels/<split>.tsv`` (a ``query-id<TAB>corpus-id<TAB>score`` header, then one judgement a line).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from reportrag.errors import BadDataset
from reportrag.metrics import ndcg_at_k_graded, recall_at_k_ids

Corpus = dict[str, dict[str, str]]
Qrels = dict[str, dict[str, int]]


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, stripped line) for each non-blank line; a missing or undecodable file is a BadDataset."""
    if not path.is_file():
        raise BadDataset(f"{path}: file not found (expected a BEIR data set: corpus.jsonl, queries.jsonl, qrels/)")
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line.rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise BadDataset(f"{path}: not UTF-8 text ({exc.reason})") from exc


def _records(path: Path, fields: Sequence[str]) -> Iterator[tuple[str, dict[str, str]]]:
    for number, line in _lines(path):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadDataset(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict) or not isinstance(record.get("_id"), (str, int)):
            raise BadDataset(f'{path}:{number}: expected a JSON object with an "_id"')
        values = {field: record.get(field) or "" for field in fields}
        if not all(isinstance(value, str) for value in values.values()):
            raise BadDataset(f"{path}:{number}: {', '.join(fields)} must be strings")
        yield str(record["_id"]), values


def _qrels(path: Path) -> Qrels:
    qrels: Qrels = {}
    for index, (number, line) in enumerate(_lines(path)):
        cols = line.split("\t")
        if index == 0 and cols[0].strip() == "query-id":
            continue
        if len(cols) != 3:
            raise BadDataset(f"{path}:{number}: expected 3 tab-separated columns (query-id, corpus-id, score)")
        try:
            score = int(cols[2])
        except ValueError:
            raise BadDataset(f"{path}:{number}: score {cols[2]!r} is not an integer") from None
        qrels.setdefault(cols[0].strip(), {})[cols[1].strip()] = score
    return qrels


def load_beir(directory: str | Path, split: str = "test") -> tuple[Corpus, dict[str, str], Qrels]:
    """Read ``(corpus, queries, qrels)``; queries are only those judged in ``qrels/<split>.tsv``."""
    root = Path(directory)
    corpus = dict(_records(root / "corpus.jsonl", ("title", "text")))
    qrels = _qrels(root / "qrels" / f"{split}.tsv")
    all_queries = {qid: record["text"] for qid, record in _records(root / "queries.jsonl", ("text",))}
    missing = sorted(set(qrels) - set(all_queries))
    if missing:
        raise BadDataset(f"{root}/qrels/{split}.tsv: query ids not in queries.jsonl: {', '.join(missing[:5])}")
    queries = {qid: text for qid, text in all_queries.items() if qid in qrels}
    return corpus, queries, qrels


def evaluate_beir(
    search: Callable[[list[str]], list[list[str]]],
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    k_values: Sequence[int] = (10, 100),
) -> dict[str, Any]:
    """Mean nDCG@k and Recall@k over the judged queries, for each k in ``k_values``.

    ``search`` gets all query texts in one batch and returns ranked corpus ids for each. As in BEIR, a hit whose
    id equals its query's id is dropped. A query with no hits scores 0 (pytrec_eval would leave it out).
    Returns ``{"n_queries", "ndcg@k", "recall@k", …, "per_query": {qid: {metric: value}}}``.
    """
    qids = [qid for qid in queries if qid in qrels]
    if not qids:
        raise ValueError("no query has relevance judgements")
    results = search([queries[qid] for qid in qids])
    if len(results) != len(qids):
        raise ValueError(f"search returned {len(results)} result lists for {len(qids)} queries")
    depth = max(k_values)
    per_query: dict[str, dict[str, float]] = {}
    for qid, ranked in zip(qids, results):
        ranked = [doc for doc in ranked if doc != qid][:depth]
        scores: dict[str, float] = {}
        for k in k_values:
            scores[f"ndcg@{k}"] = ndcg_at_k_graded(ranked, qrels[qid], k)
            scores[f"recall@{k}"] = recall_at_k_ids(ranked, qrels[qid], k)
        per_query[qid] = scores
    names = list(next(iter(per_query.values())))
    summary: dict[str, Any] = {"n_queries": len(qids)}
    summary.update({name: sum(s[name] for s in per_query.values()) / len(qids) for name in names})
    summary["per_query"] = per_query
    return summary
