"""The hand-built question set: well-formed, and every gold quote stands verbatim in its report."""

from __future__ import annotations

import json
from collections import Counter

from reportrag.core.settings import PROJECT_ROOT

QUESTIONS = PROJECT_ROOT / "eval" / "questions.jsonl"
MINIMUM = {"fact": 35, "paraphrase": 35, "section": 15, "cross-report": 15, "concluding-observations": 15,
           "identifier": 10, "unanswerable": 25}


def _questions() -> list[dict]:
    return [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_question_set_shape_and_counts():
    questions = _questions()
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
    for q in _questions():
        for quote in q["gold"]:
            assert 40 <= len(quote) <= 300, q["id"]
            where = [d for d, text in texts.items() if quote in text]
            assert where, f"{q['id']}: gold quote not in any report: {quote[:60]}"
            if q["doc"] in texts:
                assert q["doc"] in where, q["id"]
        if q["type"] == "cross-report":
            docs = {d for quote in q["gold"] for d, text in texts.items() if quote in text}
            assert docs == set(texts), q["id"]
