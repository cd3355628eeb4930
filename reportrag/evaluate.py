"""Retrieval quality on eval/questions.jsonl: Recall@1/5/10, MRR@10, nDCG@10 per search mode and question type."""

from __future__ import annotations

import json
import time
from pathlib import Path

from reportrag.metrics import mrr_at_k, ndcg_at_k, recall_at_k, relevant_ranks, summarize
from reportrag.search import MODES, Searcher


def load_questions(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate(searcher: Searcher, questions: list[dict], modes: tuple[str, ...] = MODES, k: int = 10) -> dict:
    doc_texts = {doc_id: d.text for doc_id, d in searcher.documents.items()}
    answerable = [q for q in questions if q["gold"]]
    results = {}
    for mode in modes:
        started = time.perf_counter()
        hits = searcher.batch([q["question"] for q in answerable], k=k, mode=mode)
        seconds = time.perf_counter() - started
        rows = []
        for q, found in zip(answerable, hits):
            # a collapsed hit also stands where its copies stand: any of its places may hold the gold quote
            ranks = relevant_ranks([h.passage for h in found], q["gold"], doc_texts)
            ranks += [h.rank for h in found if relevant_ranks(list(h.also_at), q["gold"], doc_texts)]
            docs = {h.passage.doc_id for h in found[:5]}
            gold_docs = {d for d, t in doc_texts.items() if any(g in t for g in q["gold"])}
            rows.append(
                {
                    "id": q["id"],
                    "type": q["type"],
                    "recall@1": recall_at_k(ranks, 1),
                    "recall@5": recall_at_k(ranks, 5),
                    "recall@10": recall_at_k(ranks, 10),
                    "mrr@10": mrr_at_k(ranks, 10),
                    "ndcg@10": ndcg_at_k(ranks, 10, 1),
                    "doc_recall@5": float(bool(docs & gold_docs)),
                }
            )
        summary = summarize(rows)
        summary["ms_per_query"] = 1000 * seconds / max(len(answerable), 1)
        summary["misses@5"] = [r["id"] for r in rows if not r["recall@5"]]
        results[mode] = summary
    return results
