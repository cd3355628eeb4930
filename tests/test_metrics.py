"""Hand-computed cases for the matching rule and every metric in reportrag.metrics."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from reportrag.eval.metrics import (
    mrr_at_k,
    ndcg_at_k,
    ndcg_at_k_graded,
    normalize_ws,
    passage_matches,
    quote_spans,
    recall_at_k,
    recall_at_k_ids,
    relevant_ranks,
    summarize,
)

D1, D2 = 1.0, 1 / math.log2(3)  # discounts at ranks 1 and 2; rank 3 is 1/log2(4) = 0.5

# ---------------------------------------------------------------- matching rule

DOC = "Intro sentence here. The quick brown fox jumps over it. Closing words follow."
QUOTE = "The quick brown fox jumps over it."
QS = DOC.index(QUOTE)
QE = QS + len(QUOTE)  # 34 characters long


def test_normalize_ws():
    assert normalize_ws("  a\n\tb   c \u00a0") == "a b c"


def test_contained_quote_matches():
    assert passage_matches(DOC[:QE], 0, QE, QUOTE, DOC)


def test_contained_after_whitespace_normalisation():
    text = "The quick\n  brown fox\tjumps over it."
    assert passage_matches(text, 500, 500 + len(text), "The quick brown   fox jumps over it.", DOC)


def test_quote_spans_ignore_whitespace_and_find_every_occurrence():
    doc = "x The quick\nbrown fox. y The quick brown fox."
    assert quote_spans("The  quick brown fox.", doc) == [(2, 22), (25, 45)]
    assert quote_spans("   ", doc) == []


def test_straddling_quote_with_70_percent_overlap_counts():
    cut = QS + round(0.7 * len(QUOTE))  # passage ends 70% of the way into the quote
    assert QUOTE not in DOC[:cut]  # the text alone does not contain it
    assert passage_matches(DOC[:cut], 0, cut, QUOTE, DOC)
    # and from the other side: a passage starting 30% into the quote covers 70% of it
    start = QS + round(0.3 * len(QUOTE))
    assert passage_matches(DOC[start:], start, len(DOC), QUOTE, DOC)


def test_straddling_quote_with_30_percent_overlap_does_not_count():
    cut = QS + round(0.3 * len(QUOTE))
    assert not passage_matches(DOC[:cut], 0, cut, QUOTE, DOC)
    start = QS + round(0.7 * len(QUOTE))
    assert not passage_matches(DOC[start:], start, len(DOC), QUOTE, DOC)


def test_min_overlap_threshold_is_inclusive_and_configurable():
    quote = "0123456789"
    doc = "abc " + quote + " xyz"
    assert passage_matches(doc[:10], 0, 10, quote, doc)  # covers 4..10 = 6 of 10 chars: exactly 0.6
    assert not passage_matches(doc[:9], 0, 9, quote, doc)
    assert not passage_matches(doc[:10], 0, 10, quote, doc, min_overlap=0.7)


def test_any_occurrence_counts():
    doc = "Same words. Filler text between them. Same words."
    second = doc.rindex("Same words.")
    end = second + 8  # 8 of 11 chars of the second occurrence
    assert passage_matches(doc[second - 5 : end], second - 5, end, "Same words.", doc)


def test_empty_quote_never_matches():
    assert not passage_matches(DOC, 0, len(DOC), "  ", DOC)


def test_quote_from_another_report_does_not_count():
    other = "Unrelated report text " * 5
    # Same offsets as the quote in DOC, but the passage belongs to the other report.
    assert not passage_matches(other[QS:QE], QS, QE, QUOTE, other)
    hit = SimpleNamespace(doc_id="b", start=QS, end=QE, text=other[QS:QE])
    assert relevant_ranks([hit], [QUOTE], {"a": DOC, "b": other}) == []


def test_relevant_ranks():
    cut = QS + round(0.7 * len(QUOTE))
    hits = [
        SimpleNamespace(doc_id="a", start=0, end=QS, text=DOC[:QS]),  # no
        SimpleNamespace(doc_id="a", start=0, end=cut, text=DOC[:cut]),  # straddles 70%: yes
        SimpleNamespace(doc_id="b", start=0, end=14, text="Closing words."),  # contains the second quote: yes
        SimpleNamespace(doc_id="a", start=QS, end=QE, text=QUOTE),  # contains: yes
    ]
    docs = {"a": DOC, "b": "Closing words."}
    assert relevant_ranks(hits, [QUOTE, "Closing   words."], docs) == [2, 3, 4]
    assert relevant_ranks(hits, [], docs) == []
    assert relevant_ranks([], [QUOTE], docs) == []
    assert relevant_ranks(hits[:2], [QUOTE], docs, min_overlap=0.8) == []


# ---------------------------------------------------------------- rank metrics (binary)


@pytest.mark.parametrize(
    ("ranks", "k", "recall", "mrr"),
    [
        ([], 10, 0.0, 0.0),  # empty results / nothing relevant
        ([1], 10, 1.0, 1.0),
        ([3], 10, 1.0, 1 / 3),
        ([11], 10, 0.0, 0.0),
        ([11], 11, 1.0, 1 / 11),
        ([3, 1], 10, 1.0, 1.0),  # order of the list does not matter
        ([3, 3], 10, 1.0, 1 / 3),  # duplicates
        ([2, 11], 1, 0.0, 0.0),
    ],
)
def test_recall_and_mrr(ranks, k, recall, mrr):
    assert recall_at_k(ranks, k) == recall
    assert mrr_at_k(ranks, k) == pytest.approx(mrr)


@pytest.mark.parametrize(
    ("ranks", "k", "n_relevant", "expected"),
    [
        ([], 10, 0, 0.0),  # no relevant items at all
        ([], 10, 2, 0.0),  # relevant items exist, none retrieved
        ([1], 10, 1, 1.0),
        ([3], 10, 1, 0.5),  # 1/log2(4)
        ([11], 10, 1, 0.0),
        ([1, 3], 10, 2, (D1 + 0.5) / (D1 + D2)),  # 1.5 / 1.6309 = 0.9197
        ([3], 10, 2, 0.5 / (D1 + D2)),
        ([3, 3], 10, 1, 0.5),  # a duplicate rank counts once
        ([1, 2], 2, 5, 1.0),  # n_relevant > k: ideal has only k hits
        ([2], 2, 5, D2 / (D1 + D2)),
        ([1, 2], 10, 1, 1.0),  # more relevant hits than n_relevant: ideal grows, never above 1
    ],
)
def test_ndcg_binary(ranks, k, n_relevant, expected):
    assert ndcg_at_k(ranks, k, n_relevant) == pytest.approx(expected)


def test_ndcg_binary_hand_value():
    assert ndcg_at_k([1, 3], 10, 2) == pytest.approx(0.919721, abs=1e-6)


@pytest.mark.parametrize("fn", [lambda: recall_at_k([1], 0), lambda: mrr_at_k([1], 0), lambda: ndcg_at_k([1], 0, 1)])
def test_k_must_be_positive(fn):
    with pytest.raises(ValueError):
        fn()


# ---------------------------------------------------------------- graded metrics (BEIR)

QRELS = {"a": 2, "b": 1, "c": 0}


def test_ndcg_graded_hand_computed():
    # ranked b, x, a: DCG = 1/log2(2) + 2/log2(4) = 2.0; IDCG = 2/log2(2) + 1/log2(3) = 2.6309
    assert ndcg_at_k_graded(["b", "x", "a"], QRELS, 10) == pytest.approx(2.0 / (2 + D2))
    assert ndcg_at_k_graded(["b", "x", "a"], QRELS, 10) == pytest.approx(0.760188, abs=1e-6)
    # cut at 2: DCG = 1.0, ideal still a then b
    assert ndcg_at_k_graded(["b", "x", "a"], QRELS, 2) == pytest.approx(1.0 / (2 + D2))
    # cut at 1: ideal is a alone (gain 2)
    assert ndcg_at_k_graded(["b", "a"], QRELS, 1) == pytest.approx(0.5)


def test_ndcg_graded_edge_cases():
    assert ndcg_at_k_graded(["a", "b"], QRELS, 10) == pytest.approx(1.0)
    assert ndcg_at_k_graded(["a", "b", "c"], QRELS, 10) == pytest.approx(1.0)  # a judged 0 costs nothing
    assert ndcg_at_k_graded([], QRELS, 10) == 0.0
    assert ndcg_at_k_graded(["c", "x"], QRELS, 10) == 0.0
    assert ndcg_at_k_graded(["a"], {"a": 0}, 10) == 0.0  # no relevant docs
    assert ndcg_at_k_graded(["a", "a", "b"], QRELS, 10) == pytest.approx(1.0)  # duplicate counts once
    # ties: two docs with the same grade in either order score the same
    tied = {"a": 1, "b": 1}
    assert ndcg_at_k_graded(["a", "b"], tied, 10) == ndcg_at_k_graded(["b", "a"], tied, 10) == pytest.approx(1.0)


def test_recall_at_k_ids():
    assert recall_at_k_ids(["c", "a"], QRELS, 10) == 0.5  # c is judged 0: not relevant
    assert recall_at_k_ids(["x", "b", "a"], QRELS, 2) == 0.5
    assert recall_at_k_ids(["x", "b", "a"], QRELS, 3) == 1.0
    assert recall_at_k_ids(["a", "a"], QRELS, 10) == 0.5
    assert recall_at_k_ids([], QRELS, 10) == 0.0
    assert recall_at_k_ids(["a"], {}, 10) == 0.0


# ---------------------------------------------------------------- summarize


def test_summarize_means_and_groups():
    rows = [
        {"id": "q1", "type": "fact", "recall@5": 1.0, "mrr@5": 1.0, "answered": True, "first_rank": 1},
        {"id": "q2", "type": "fact", "recall@5": 0.0, "mrr@5": 0.0, "answered": False, "first_rank": None},
        {"id": "q3", "type": "section", "recall@5": 1.0, "mrr@5": 0.5, "answered": True, "first_rank": 2},
    ]
    out = summarize(rows)
    assert out["n"] == 3
    assert out["recall@5"] == pytest.approx(2 / 3)
    assert out["mrr@5"] == pytest.approx(0.5)
    assert out["answered"] == pytest.approx(2 / 3)
    assert out["first_rank"] == pytest.approx(1.5)  # None left out
    assert "id" not in out and "type" not in out
    assert out["by_type"] == {
        "fact": {"n": 2, "recall@5": 0.5, "mrr@5": 0.5, "answered": 0.5, "first_rank": 1.0},
        "section": {"n": 1, "recall@5": 1.0, "mrr@5": 0.5, "answered": 1.0, "first_rank": 2.0},
    }


def test_summarize_explicit_fields_and_empty():
    rows = [{"type": "a", "x": 1, "y": 3}, {"type": "b", "x": 0, "y": 5}]
    by_type = {"a": {"n": 1, "x": 1.0}, "b": {"n": 1, "x": 0.0}}
    assert summarize(rows, fields=["x"]) == {"n": 2, "x": 0.5, "by_type": by_type}
    assert summarize(rows, fields=["y"], group_by="x")["by_x"] == {"0": {"n": 1, "y": 5.0}, "1": {"n": 1, "y": 3.0}}
    assert summarize([]) == {"n": 0, "by_type": {}}
