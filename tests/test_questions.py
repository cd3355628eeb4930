"""The hand-built question set: well-formed, and every gold quote stands verbatim in its report."""

from __future__ import annotations

from collections import Counter

from reportrag.core.settings import PROJECT_ROOT
from tests.checks import read_questions

QUESTIONS = PROJECT_ROOT / "eval" / "questions.jsonl"
MINIMUM = {"fact": 35, "paraphrase": 35, "section": 15, "cross-report": 15, "concluding-observations": 15,
           "identifier": 10, "unanswerable": 25}


def test_question_set_shape_and_counts():
    questions = read_questions(QUESTIONS)
    assert len(questions) >= 150
    assert len({q["id"] for q in questions}) == len(questions)
    for q in questions:
        assert set(q) == {"id", "question", "gold", "doc", "type", "answer"}, q["id"]
        assert q["type"] in MINIMUM, q["id"]
        assert (q["type"] == "unanswerable") == (not q["gold"]), q["id"]
    counts = Counter(q["type"] for q in questions)
    for kind, minimum in MINIMUM.items():
        assert counts[kind] >= minimum, kind


def test_every_gold_quote_is_in_its_report(reports):
    texts = {doc_id: document.text for doc_id, (document, _) in reports.items()}
    for q in read_questions(QUESTIONS):
        for quote in q["gold"]:
            assert 40 <= len(quote) <= 300, q["id"]
            where = [d for d, text in texts.items() if quote in text]
            assert where, f"{q['id']}: gold quote not in any report: {quote[:60]}"
            if q["doc"] in texts:
                assert q["doc"] in where, q["id"]
        if q["type"] == "cross-report":
            docs = {d for quote in q["gold"] for d, text in texts.items() if quote in text}
            assert docs == set(texts), q["id"]
