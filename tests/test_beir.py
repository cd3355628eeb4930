"""The BEIR loader on a tiny fixture and the real SciFact copy, and evaluate_beir with trivial searches."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from reportrag.beir import evaluate_beir, load_beir
from reportrag.errors import BadDataset, ReportragError

SCIFACT = Path("/work/shared/benchmarks/scifact")


def write_fixture(root: Path, qrels: str | None = None) -> Path:
    docs = [
        {"_id": "d1", "title": "Cats", "text": "Cats purr."},
        {"_id": "d2", "title": "Dogs", "text": "Dogs bark."},
        {"_id": "d3", "text": "Birds sing."},  # no title
    ]
    queries = [
        {"_id": "q1", "text": "Which pets make sounds?", "metadata": {}},
        {"_id": "q2", "text": "Do birds sing?"},
        {"_id": "q3", "text": "Not judged in test."},
    ]
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    (root / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries), encoding="utf-8")
    if qrels is None:
        qrels = "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t1\nq2\td3\t1\nq2\td1\t0\n"
    (root / "qrels" / "test.tsv").write_text(qrels, encoding="utf-8")
    (root / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nq3\td2\t1\n", encoding="utf-8")
    return root


def test_load_fixture(tmp_path):
    corpus, queries, qrels = load_beir(write_fixture(tmp_path))
    assert corpus == {
        "d1": {"title": "Cats", "text": "Cats purr."},
        "d2": {"title": "Dogs", "text": "Dogs bark."},
        "d3": {"title": "", "text": "Birds sing."},
    }
    assert queries == {"q1": "Which pets make sounds?", "q2": "Do birds sing?"}  # q3 has no test qrels
    assert qrels == {"q1": {"d1": 2, "d2": 1}, "q2": {"d3": 1, "d1": 0}}
    _, train_queries, _ = load_beir(tmp_path, split="train")
    assert train_queries == {"q3": "Not judged in test."}


def test_qrels_without_header_also_load(tmp_path):
    _, queries, qrels = load_beir(write_fixture(tmp_path, qrels="q2\td3\t1\n"))
    assert queries == {"q2": "Do birds sing?"} and qrels == {"q2": {"d3": 1}}


def test_missing_file(tmp_path):
    write_fixture(tmp_path)
    (tmp_path / "queries.jsonl").unlink()
    with pytest.raises(BadDataset, match=r"queries\.jsonl: file not found"):
        load_beir(tmp_path)
    with pytest.raises(ReportragError, match="file not found"):
        load_beir(tmp_path / "nowhere")


def test_malformed_corpus_line(tmp_path):
    write_fixture(tmp_path)
    with (tmp_path / "corpus.jsonl").open("a", encoding="utf-8") as f:
        f.write('{"_id": "d4", "text": \n')
    with pytest.raises(BadDataset, match=r"corpus\.jsonl:4: not valid JSON"):
        load_beir(tmp_path)


def test_corpus_line_without_id(tmp_path):
    write_fixture(tmp_path)
    (tmp_path / "corpus.jsonl").write_text('{"_id": "d1", "text": "x"}\n\n["no", "id"]\n', encoding="utf-8")
    with pytest.raises(BadDataset, match=r'corpus\.jsonl:3: expected a JSON object with an "_id"'):
        load_beir(tmp_path)


@pytest.mark.parametrize(
    ("qrels", "message"),
    [
        ("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1 d2 1\n", r"test\.tsv:3: expected 3 tab-separated columns"),
        ("query-id\tcorpus-id\tscore\nq1\td1\tyes\n", r"test\.tsv:2: score 'yes' is not an integer"),
        ("query-id\tcorpus-id\tscore\nq9\td1\t1\n", r"test\.tsv: query ids not in queries\.jsonl: q9"),
    ],
)
def test_malformed_qrels(tmp_path, qrels, message):
    with pytest.raises(BadDataset, match=message):
        load_beir(write_fixture(tmp_path, qrels=qrels))


def test_not_utf8(tmp_path):
    write_fixture(tmp_path)
    (tmp_path / "corpus.jsonl").write_bytes(b'{"_id": "d1", "text": "\xff\xfe"}\n')
    with pytest.raises(BadDataset, match=r"corpus\.jsonl: not UTF-8"):
        load_beir(tmp_path)


def test_evaluate_perfect_and_reversed(tmp_path):
    _, queries, qrels = load_beir(write_fixture(tmp_path))
    perfect = {"q1": ["d1", "d2", "d3"], "q2": ["d3", "d1", "d2"]}
    seen: list[list[str]] = []

    def search(texts: list[str]) -> list[list[str]]:
        seen.append(texts)
        by_text = {text: qid for qid, text in queries.items()}
        return [perfect[by_text[t]] for t in texts]

    out = evaluate_beir(search, queries, qrels)
    assert seen == [["Which pets make sounds?", "Do birds sing?"]]  # one batch
    assert out["n_queries"] == 2
    assert out["ndcg@10"] == out["recall@10"] == out["recall@100"] == pytest.approx(1.0)
    assert out["per_query"]["q1"]["ndcg@10"] == pytest.approx(1.0)

    # same ranking d3, d2, d1 for every query: q1 DCG = 1/log2(3) + 2/log2(4), IDCG = 2 + 1/log2(3); q2 = 1.0
    out = evaluate_beir(lambda texts: [["d3", "d2", "d1"] for _ in texts], queries, qrels, k_values=(1, 10))
    q1 = (1 / math.log2(3) + 1.0) / (2 + 1 / math.log2(3))
    assert out["ndcg@10"] == pytest.approx((q1 + 1.0) / 2)
    assert out["ndcg@1"] == pytest.approx(0.5)  # q1 gets 0 at rank 1, q2 gets 1
    assert out["recall@1"] == pytest.approx(0.5)
    assert out["recall@10"] == pytest.approx(1.0)


def test_evaluate_empty_results_and_identical_ids():
    queries = {"x": "query x", "y": "query y"}
    qrels = {"x": {"a": 1}, "y": {"b": 1}}
    # "x" retrieving itself is dropped, so "a" moves to rank 1; "y" gets nothing and scores 0
    out = evaluate_beir(lambda texts: [["x", "a"], []], queries, qrels, k_values=(1,))
    assert out["per_query"]["x"] == {"ndcg@1": 1.0, "recall@1": 1.0}
    assert out["per_query"]["y"] == {"ndcg@1": 0.0, "recall@1": 0.0}
    assert out["ndcg@1"] == pytest.approx(0.5)


def test_evaluate_rejects_wrong_number_of_results():
    with pytest.raises(ValueError, match="1 result lists for 2 queries"):
        evaluate_beir(lambda texts: [["a"]], {"x": "q", "y": "q"}, {"x": {"a": 1}, "y": {"a": 1}})


@pytest.mark.skipif(not (SCIFACT / "corpus.jsonl").is_file(), reason="SciFact copy not present")
def test_load_real_scifact():
    corpus, queries, qrels = load_beir(SCIFACT)
    assert len(corpus) == 5183
    assert len(queries) == len(qrels) == 300
    assert sum(len(judged) for judged in qrels.values()) == 339
    assert all(score == 1 for judged in qrels.values() for score in judged.values())  # binary
    assert all(doc in corpus for judged in qrels.values() for doc in judged)
    assert not set(queries) & set(corpus)  # so dropping identical ids has no effect here
