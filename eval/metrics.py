"""Retrieval metrics: the gold-quote matching rule for the report questions, and rank metrics.

Matching rule (``passage_matches``). Whitespace is normalised by collapsing every run of whitespace to one
space and stripping the ends. A retrieved passage counts for a gold quote when

1. the normalised passage text contains the normalised quote; or
2. the quote straddles a passage boundary: for some occurrence ``[qs, qe)`` of the quote in the canonical text
   of the passage's own report (found whitespace-insensitively; any occurrence counts), the passage's span
   ``[start, end)`` covers at least ``min_overlap`` (default 0.6) of it:
   ``(min(end, qe) - max(start, qs)) / (qe - qs) >= min_overlap``.

A quote that occurs only in another report never matches through rule 2. An empty quote never matches.

Report-question metrics take the 1-based ranks of relevant hits (``relevant_ranks``) and treat gains as binary;
duplicate ranks count once. The BEIR metrics take ranked corpus ids and a query's qrels and follow pytrec_eval /
BEIR: a document is relevant when its qrels score is > 0; nDCG uses gain = score (negative scores give none),
discount ``log2(rank + 1)`` and an ideal ranking of all judged documents by score, both cut at k; a repeated id
counts at its first rank only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol


class Hit(Protocol):
    doc_id: str
    start: int
    end: int
    text: str


def normalize_ws(text: str) -> str:
    """Collapse runs of whitespace to one space and strip the ends."""
    return " ".join(text.split())


def quote_spans(gold: str, doc_text: str) -> list[tuple[int, int]]:
    """Every ``(start, end)`` where ``gold`` occurs in ``doc_text``, whitespace-insensitively."""
    words = gold.split()
    if not words:
        return []
    pattern = re.compile(r"\s+".join(map(re.escape, words)))
    return [m.span() for m in pattern.finditer(doc_text)]


def span_coverage(start: int, end: int, qs: int, qe: int) -> float:
    """Fraction of ``[qs, qe)`` covered by ``[start, end)``."""
    if qe <= qs:
        return 0.0
    return max(0, min(end, qe) - max(start, qs)) / (qe - qs)


def _matches(
    passage_norm: str, start: int, end: int, quote_norm: str, spans: list[tuple[int, int]], min_overlap: float
) -> bool:
    if quote_norm in passage_norm:
        return True
    return any(span_coverage(start, end, qs, qe) >= min_overlap for qs, qe in spans)


def passage_matches(
    passage_text: str, start: int, end: int, gold: str, doc_text: str, min_overlap: float = 0.6
) -> bool:
    """Whether a passage (text and span in ``doc_text``, its own report's canonical text) counts for ``gold``."""
    quote = normalize_ws(gold)
    if not quote:
        return False
    return _matches(normalize_ws(passage_text), start, end, quote, quote_spans(gold, doc_text), min_overlap)


def relevant_ranks(
    hits: Sequence[Hit], gold_quotes: Iterable[str], doc_texts: Mapping[str, str], min_overlap: float = 0.6
) -> list[int]:
    """1-based ranks of the hits that match any gold quote; ``doc_texts`` maps doc_id to canonical text."""
    quotes = [q for q in map(normalize_ws, gold_quotes) if q]
    spans: dict[tuple[str, str], list[tuple[int, int]]] = {}
    ranks = []
    for rank, hit in enumerate(hits, start=1):
        text = normalize_ws(hit.text)
        for quote in quotes:
            key = (hit.doc_id, quote)
            if key not in spans:
                spans[key] = quote_spans(quote, doc_texts.get(hit.doc_id, ""))
            if _matches(text, hit.start, hit.end, quote, spans[key], min_overlap):
                ranks.append(rank)
                break
    return ranks


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")


def recall_at_k(ranks: Iterable[int], k: int) -> float:
    """1.0 if any relevant rank is within the top k, else 0.0."""
    _check_k(k)
    return 1.0 if any(1 <= r <= k for r in ranks) else 0.0


def mrr_at_k(ranks: Iterable[int], k: int) -> float:
    """Reciprocal of the first relevant rank within the top k, else 0.0."""
    _check_k(k)
    within = [r for r in ranks if 1 <= r <= k]
    return 1.0 / min(within) if within else 0.0


def _discount(rank: int) -> float:
    return 1.0 / math.log2(rank + 1)


def ndcg_at_k(ranks: Iterable[int], k: int, n_relevant: int) -> float:
    """Binary-gain nDCG@k; the ideal puts min(n, k) relevant hits first, n = max(n_relevant, distinct ranks)."""
    _check_k(k)
    distinct = {r for r in ranks if r >= 1}
    n = min(max(n_relevant, len(distinct)), k)
    if n == 0:
        return 0.0
    dcg = sum(_discount(r) for r in distinct if r <= k)
    return dcg / sum(_discount(i) for i in range(1, n + 1))


def _dedupe(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def ndcg_at_k_graded(ranked_ids: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Graded nDCG@k as pytrec_eval's ``ndcg_cut``: gain = qrels score, ideal over all judged docs."""
    _check_k(k)
    top = _dedupe(ranked_ids)[:k]
    dcg = sum(max(qrels.get(doc, 0), 0) * _discount(i) for i, doc in enumerate(top, start=1))
    ideal = sorted((s for s in qrels.values() if s > 0), reverse=True)[:k]
    idcg = sum(s * _discount(i) for i, s in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k_ids(ranked_ids: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Fraction of relevant docs (qrels score > 0) found in the top k."""
    _check_k(k)
    relevant = {doc for doc, score in qrels.items() if score > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(_dedupe(ranked_ids)[:k])) / len(relevant)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value))


def _means(rows: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(rows)}
    for field in fields:
        values = [float(row[field]) for row in rows if _is_number(row.get(field))]
        out[field] = sum(values) / len(values) if values else None
    return out


def summarize(
    per_question: Sequence[Mapping[str, Any]], fields: Sequence[str] | None = None, group_by: str = "type"
) -> dict[str, Any]:
    """Mean of each metric field overall and per ``group_by`` value.

    Metric fields default to every key whose values are all numbers (bools count as 0/1) or None; a row whose
    value is missing or None is left out of that field's mean. Returns
    ``{"n": …, field: mean, …, "by_type": {group: {"n": …, field: mean, …}}}`` (``by_<group_by>`` in general).
    """
    if fields is None:
        keys = dict.fromkeys(key for row in per_question for key in row if key != group_by)
        fields = [
            key
            for key in keys
            if all(row.get(key) is None or _is_number(row.get(key)) for row in per_question)
            and any(_is_number(row.get(key)) for row in per_question)
        ]
    groups: dict[Any, list[Mapping[str, Any]]] = {}
    for row in per_question:
        groups.setdefault(row.get(group_by), []).append(row)
    summary = _means(per_question, fields)
    ordered = sorted(groups.items(), key=lambda item: str(item[0]))
    summary[f"by_{group_by}"] = {str(group): _means(rows, fields) for group, rows in ordered}
    return summary
