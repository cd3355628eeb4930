"""Retrieval quality on eval/questions.jsonl: Recall@1/5/10, MRR@10, nDCG@10 per configuration and question type,
recall@k curves, and the abstention trade-off on the unanswerable questions.

A configuration is a search mode of ours, or the plain LangChain recipe (see ``reportrag.langchain_recipe``); all
are scored by the same rule (``reportrag.metrics.passage_matches``) on the same questions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from reportrag.eval.metrics import mrr_at_k, ndcg_at_k, normalize_ws, recall_at_k, relevant_ranks, summarize

from reportrag.core.errors import BadDataset
from reportrag.core.jsonl import read_rows
from reportrag.retrieval.search import MODES, Searcher

CURVE_K = tuple(range(1, 11))
ABSTAIN_MODE = "hybrid+rerank"


def load_questions(path: Path) -> list[dict]:
    def row(obj: dict, n: int) -> dict:
        if not isinstance(obj.get("question"), str) or not isinstance(obj.get("gold"), list):
            raise ValueError
        return {"id": obj.get("id", str(n)), "type": obj.get("type", "untyped"), **obj}

    return read_rows(path, row, '{"id", "question", "gold": [...], "type", ...}', BadDataset)


def score_hits(questions: Sequence[dict], found: Sequence[Sequence], doc_texts: dict[str, str], seconds: float) -> dict:
    """Metrics for ranked hits (ours, or anything with doc_id/start/end/text and optionally also_at) per question."""
    rows = []
    for q, hits in zip(questions, found):
        passages = [getattr(h, "passage", h) for h in hits]
        ranks = relevant_ranks(passages, q["gold"], doc_texts)
        # a collapsed hit also stands where its copies stand: any of its places may hold the gold quote
        ranks += [i for i, h in enumerate(hits, 1) if relevant_ranks(list(getattr(h, "also_at", ())), q["gold"], doc_texts)]
        docs = {p.doc_id for p in passages[:5]}
        gold_docs = {d for d, t in doc_texts.items() if any(g in t for g in q["gold"])}
        row = {"id": q["id"], "type": q["type"], "mrr@10": mrr_at_k(ranks, 10), "ndcg@10": ndcg_at_k(ranks, 10, 1)}
        row.update({f"recall@{k}": recall_at_k(ranks, k) for k in CURVE_K})
        row["doc_recall@5"] = float(bool(docs & gold_docs))
        rows.append(row)
    summary = summarize(rows)
    summary["ms_per_query"] = 1000 * seconds / max(len(questions), 1)
    summary["misses@5"] = [r["id"] for r in rows if not r["recall@5"]]
    return summary


def evaluate(
    searcher: Searcher,
    questions: list[dict],
    modes: tuple[str, ...] = MODES,
    k: int = 10,
    baselines: dict[str, Callable[[list[str], int], list[list]]] | None = None,
) -> dict:
    """Results per configuration: our modes, then any baselines (name → search function over question texts)."""
    doc_texts = {doc_id: d.text for doc_id, d in searcher.documents.items()}
    answerable = [q for q in questions if q["gold"]]
    texts = [q["question"] for q in answerable]
    searches = {mode: (lambda qs, k, mode=mode: searcher.batch(qs, k=k, mode=mode)) for mode in modes}
    searches.update(baselines or {})
    results = {}
    for name, search in searches.items():
        started = time.perf_counter()
        found = search(texts, k)
        results[name] = score_hits(answerable, found, doc_texts, time.perf_counter() - started)
    return results


def answer_quality(searcher: Searcher, questions: list[dict], settings=None) -> dict:
    """The figures an answer is judged by: how often an answerable question is answered with gold evidence
    quoted, the share of an answer's quotes that hold gold evidence (quote precision), quotes per answer, and the
    answer layer's abstention on answerable (false) and unanswerable (wanted) questions."""
    from reportrag.answers.extractive import DEFAULTS, answer

    started = time.perf_counter()
    answers = [(q, answer(searcher, q["question"], settings=settings or DEFAULTS)) for q in questions]
    seconds = time.perf_counter() - started
    return {
        "rule": "evidence check (reportrag/answers/evidence.py)",
        **answer_figures([(q, [c.quote for c in a.citations] if a.answered else None) for q, a in answers]),
        "all_citations_verified": all(c.verified for _, a in answers for c in a.citations),
        "wrongly_flagged": [q["id"] for q, a in answers if q["gold"] and not a.answered],
        "missed": [q["id"] for q, a in answers if not q["gold"] and a.answered],
        "without_gold": [q["id"] for q, a in answers if q["gold"] and a.answered and a.citations
                         and not any(overlaps(c.quote, q["gold"]) for c in a.citations)],
        # "the reports give different figures" said exactly where the two reports truly differ ("differs" rows)
        "comparisons_right": [q["id"] for q, a in answers if "differs" in q and _notes_difference(a) == q["differs"]],
        "comparisons_wrong": [q["id"] for q, a in answers if "differs" in q and _notes_difference(a) != q["differs"]],
        "ms_per_question": 1000 * seconds / max(len(questions), 1),
    }


def answer_figures(outcomes: Sequence[tuple[dict, Sequence[str] | None]]) -> dict:
    """The answer figures from each question's quotes (None: it abstained): the one definition the report
    (``answer_quality``) and the quote-choice tuning (``train_quotes``) share."""
    answerable = [quotes for q, quotes in outcomes if q["gold"]]
    unanswerable = [quotes for q, quotes in outcomes if not q["gold"]]
    holding = [[overlaps(t, q["gold"]) for t in quotes] for q, quotes in outcomes if q["gold"] and quotes]
    return {
        "unanswerable_flagged": sum(quotes is None for quotes in unanswerable) / max(len(unanswerable), 1),
        "answerable_flagged": sum(quotes is None for quotes in answerable) / max(len(answerable), 1),
        "answerable_quoting_gold": sum(any(h) for h in holding) / max(len(answerable), 1),
        "quote_precision": sum(sum(h) / len(h) for h in holding) / max(len(holding), 1),
        "quotes_per_answer": sum(len(h) for h in holding) / max(len(holding), 1),
    }


def _notes_difference(answer) -> bool:
    return any("same measure" in note for note in answer.differences)


def overlaps(quote: str, gold: list[str]) -> bool:
    """A quote holds gold evidence when it and a gold quote overlap: either contains the other (gold quotes may
    span sentences; a quote may carry the sentence before it)."""
    q = normalize_ws(quote)
    return any(q in normalize_ws(g) or normalize_ws(g) in q for g in gold)


def abstention_tradeoff(searcher: Searcher, questions: list[dict], mode: str = ABSTAIN_MODE, steps: int = 41) -> dict:
    """Abstaining when the best hit scores below a threshold: for each threshold, the share of unanswerable
    questions flagged (want high) and of answerable ones wrongly flagged (want ≤ 5 %)."""
    top = {q["id"]: hits[0].score if hits else float("-inf") for q, hits in zip(questions, searcher.batch([q["question"] for q in questions], k=1, mode=mode))}
    answerable = np.array([top[q["id"]] for q in questions if q["gold"]])
    unanswerable = np.array([top[q["id"]] for q in questions if not q["gold"]])
    if not len(answerable) or not len(unanswerable):
        return {"mode": mode, "rule": "top score below threshold", "curve": [], "at_5_percent": None}
    lo, hi = float(min(answerable.min(), unanswerable.min())), float(max(answerable.max(), unanswerable.max()))
    curve = [
        {
            "threshold": round(t, 4),
            "unanswerable_flagged": float((unanswerable < t).mean()),
            "answerable_flagged": float((answerable < t).mean()),
        }
        for t in np.linspace(lo, hi, steps)
    ]
    within = [c for c in curve if c["answerable_flagged"] <= 0.05]
    return {
        "mode": mode,
        "rule": "top score below threshold",
        "curve": curve,
        "at_5_percent": max(within, key=lambda c: (c["unanswerable_flagged"], -c["threshold"])) if within else None,
    }


def question_set_report(searcher: Searcher, questions: list[dict], modes: Sequence[str], *,
                        baselines: dict | None = None, beir_tables: Sequence[str] = (),
                        held_out: list[dict] | None = None, before: dict | None = None) -> dict:
    """Everything ``reportrag eval`` reports on a question set: retrieval per mode, abstention, answers; and the
    answer figures per split (``questions`` trains, ``held_out`` is only reported), beside ``before``."""
    from reportrag.eval import results

    report = {
        "provenance": results.provenance(),
        "model": searcher.embedder.name,
        "questions": len(questions),
        "answerable": sum(1 for q in questions if q["gold"]),
        "unanswerable": sum(1 for q in questions if not q["gold"]),
        "results": evaluate(searcher, questions, modes, baselines=baselines or {}),
        "abstention": abstention_tradeoff(searcher, questions),
        "answers": answer_quality(searcher, questions),
        "beir": list(beir_tables),
    }
    splits = {"train": split_figures(report["answers"], report["results"].get(ABSTAIN_MODE), len(questions))}
    if held_out:
        retrieval = evaluate(searcher, held_out, (ABSTAIN_MODE,))[ABSTAIN_MODE]
        splits["held-out"] = split_figures(answer_quality(searcher, held_out), retrieval, len(held_out))
    report["splits"] = splits
    report["before"] = before or {}
    return report


def split_figures(answers: dict, retrieval: dict | None, n: int) -> dict:
    """The figures an answer is judged by, for one split."""
    keys = ("answerable_quoting_gold", "quote_precision", "quotes_per_answer", "answerable_flagged", "unanswerable_flagged")
    return {"questions": n, **{k: answers[k] for k in keys}, "recall@5": (retrieval or {}).get("recall@5"),
            "wrongly_flagged": answers["wrongly_flagged"], "missed": answers["missed"], "without_gold": answers["without_gold"]}
