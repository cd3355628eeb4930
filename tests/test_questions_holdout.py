"""The held-out question set (written after the answer rules were chosen, never tuned on): big enough, well-formed,
fresh against the training split, and every gold quote stands in a report's canonical text as the eval matches it
(whitespace-insensitively, ``quote_spans``)."""

from __future__ import annotations

from collections import Counter

from reportrag.eval.metrics import normalize_ws, quote_spans

from reportrag.core.settings import PROJECT_ROOT
from tests.checks import read_questions

HOLDOUT = PROJECT_ROOT / "eval" / "questions_holdout.jsonl"
TRAINING = PROJECT_ROOT / "eval" / "questions.jsonl"
TYPES = {"fact", "paraphrase", "measures", "concluding-observations", "compare", "unanswerable"}
FIELDS = {"id", "question", "gold", "doc", "type", "answer"}


def _key(question: str) -> str:
    return normalize_ws(question).casefold()


def test_held_out_set_shape():
    questions = read_questions(HOLDOUT)
    assert len(questions) >= 60
    assert len({q["id"] for q in questions}) == len(questions)
    counts = Counter(q["type"] for q in questions)
    assert set(counts) <= TYPES, set(counts) - TYPES
    for q in questions:
        extra = {"differs"} if q["type"] == "compare" else set()
        assert set(q) == FIELDS | extra, q["id"]
        assert (q["type"] == "unanswerable") == (not q["gold"]), q["id"]
        assert (q["doc"] is None) == (q["type"] == "unanswerable"), q["id"]
        if q["type"] == "compare":
            assert isinstance(q["differs"], bool) and q["doc"] == "both", q["id"]
    # a comparison where the reports truly differ, and one where the figures only seem to
    assert {q["differs"] for q in questions if q["type"] == "compare"} == {True, False}


def test_held_out_questions_are_not_training_questions():
    training = read_questions(TRAINING)
    held_out = read_questions(HOLDOUT)
    assert not {q["id"] for q in training} & {q["id"] for q in held_out}
    seen = {_key(q["question"]) for q in training}
    assert not [q["id"] for q in held_out if _key(q["question"]) in seen]


def test_every_held_out_gold_quote_is_in_its_report(reports):
    texts = {doc_id: document.text for doc_id, (document, _) in reports.items()}
    for q in read_questions(HOLDOUT):
        where = set()
        for quote in q["gold"]:
            found = {d for d, text in texts.items() if quote_spans(normalize_ws(quote), text)}
            assert found, f"{q['id']}: gold quote not in any report: {quote[:60]}"
            where |= found
        if q["doc"] in texts:
            assert q["doc"] in where, q["id"]
        if q["doc"] == "both":
            assert where == set(texts), q["id"]
