"""The BEIR loader on a tiny fixture and the real SciFact copy, evaluate_beir with trivial searches, and run_beir
(our keyword / dense / hybrid retrieval) on a small BEIR-format data set with the real model."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from reportrag.eval.beir import (
    Variant,
    build_beir_index,
    evaluate_beir,
    format_markdown,
    load_beir,
    run_beir,
    write_results,
)

from reportrag.core.errors import BadDataset, ReportragError
from reportrag.core.settings import PROJECT_ROOT

# the shared benchmark sits beside the checkout (as the Makefile's SCIFACT default says); SCIFACT=DIR overrides it
SCIFACT = Path(os.environ.get("SCIFACT", PROJECT_ROOT.parent / "shared" / "benchmarks" / "scifact"))


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


def test_qrels_naming_unknown_doc(tmp_path):
    qrels = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td9\t1\n"
    with pytest.raises(BadDataset, match=r"test\.tsv:3: corpus-id 'd9' is not in corpus\.jsonl"):
        load_beir(write_fixture(tmp_path, qrels=qrels))


def test_empty_qrels(tmp_path):
    with pytest.raises(BadDataset, match=r"test\.tsv: no relevance judgements"):
        load_beir(write_fixture(tmp_path, qrels="query-id\tcorpus-id\tscore\n"))


# --- run_beir: our retrieval modes on a small data set, with the real model -----------------------------------------

DOCS = [
    ("volcano", "Volcanoes", "Lava flows down the slopes of an erupting volcano. Ash clouds can ground aircraft."),
    ("glacier", "Glaciers", "Glaciers are slow rivers of ice. Many are retreating as the climate warms."),
    ("bees", "Honeybees", "Honeybees pollinate crops and make honey. Colony collapse has hit hives in many countries."),
    ("chess", "Chess openings", "The Sicilian Defence is a popular chess opening. White usually answers with 2. Nf3."),
    ("bread", "Sourdough", "Sourdough bread rises with wild yeast and lactic acid bacteria instead of baker's yeast."),
    ("coral", "Coral reefs", "Ocean heatwaves bleach coral reefs. Reef fish lose their shelter when the corals die."),
]
QUERIES = {
    "q_volcano": "What comes out of an erupting volcano?",
    "q_glacier": "Are glaciers melting because of global warming?",
    "q_bees": "Why are honeybee colonies collapsing?",
    "q_bread": "How does sourdough rise without commercial yeast?",
    "q_warm": "warming seas and melting ice",  # graded: glacier 1, coral 2
}
QRELS = [
    ("q_volcano", "volcano", 1),
    ("q_glacier", "glacier", 1),
    ("q_bees", "bees", 1),
    ("q_bread", "bread", 1),
    ("q_warm", "coral", 2),
    ("q_warm", "glacier", 1),
    ("q_warm", "chess", 0),
]


def write_small_beir(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True)
    docs = [{"_id": i, "title": t, "text": x} for i, t, x in DOCS]
    (root / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    queries = [{"_id": q, "text": t} for q, t in QUERIES.items()] + [{"_id": "unjudged", "text": "chess"}]
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries), encoding="utf-8")
    qrels = "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in QRELS)
    (root / "qrels" / "test.tsv").write_text(qrels, encoding="utf-8")
    (root / "README.md").write_text(
        "# Small\n\n| system | nDCG@10 | Recall@100 |\n|---|---|---|\n| someone's BM25 | 0.5 | 0.9 |\n",
        encoding="utf-8",
    )
    (root / "PUBLISHED.txt").write_text(PUBLISHED, encoding="utf-8")
    return root


PUBLISHED = """Published numbers
=================

A. Some dense model
   Task    nDCG@10   Recall@100
   Small   0.50000   0.90000
   Other   0.10000   0.20000

B. BM25 (Table 2, nDCG@10)
   Other 0.3 | Small 0.42
   A different setup gave e.g. Small 0.99; do not compare.
"""


@pytest.fixture(scope="module")
def embedder():
    from reportrag.index.embed import Embedder
    from reportrag.index.model_path import default_model_path

    return Embedder(default_model_path())


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, embedder):
    root = write_small_beir(tmp_path_factory.mktemp("beir") / "small")
    cache = tmp_path_factory.mktemp("cache")
    messages: list[str] = []
    result = run_beir(root, embedder, cache_dir=cache, progress=messages.append)
    return root, cache, result, messages


def test_run_beir_figures(small_run):
    root, _, result, messages = small_run
    assert result["dataset"] == "small" and result["split"] == "test"
    assert result["corpus_size"] == 6 and result["n_queries"] == 5  # the unjudged query is not scored
    assert len(result["corpus_sha256"]) == 64
    assert result["index"]["embedded_new"] > 0 and result["index"]["build_seconds"] > 0
    assert set(result["modes"]) == {"keyword", "dense", "hybrid"}
    for name, mode in result["modes"].items():
        assert mode["n_queries"] == 5 and mode["ms_per_query"] > 0
        for qid in ("q_volcano", "q_glacier", "q_bees", "q_bread"):  # the obviously relevant doc ranks first
            assert mode["per_query"][qid]["mrr@10"] == 1.0, (name, qid)
            assert mode["per_query"][qid]["ndcg@10"] == pytest.approx(1.0), (name, qid)
        assert mode["recall@100"] == pytest.approx(1.0) or name == "keyword"
        for metric in ("ndcg@10", "recall@10", "recall@100", "mrr@10"):
            assert mode[metric] == pytest.approx(sum(q[metric] for q in mode["per_query"].values()) / 5)
    # dense: with 6 documents every one is ranked, so the graded query finds both relevant ones
    warm = result["modes"]["dense"]["per_query"]["q_warm"]
    assert warm["recall@10"] == 1.0 and 0 < warm["ndcg@10"] <= 1.0
    assert any("index built" in m for m in messages)


def test_run_beir_keyword_ndcg_by_hand(small_run):
    # "warming seas and melting ice" → stems warm, sea, melt, ice. Only the glacier abstract ("warms", "ice")
    # shares a stem; documents with no query word are not hits, so the ranking is [glacier] alone.
    # nDCG@10 = (1 / log2 2) / (2 / log2 2 + 1 / log2 3) with gains coral 2, glacier 1; recall 1 of 2 relevant.
    warm = small_run[2]["modes"]["keyword"]["per_query"]["q_warm"]
    assert warm["ndcg@10"] == pytest.approx(1.0 / (2.0 + 1.0 / math.log2(3)))
    assert warm["recall@100"] == pytest.approx(0.5)
    assert warm["mrr@10"] == 1.0


def test_run_beir_rerun_uses_cache_and_writes_results(small_run, embedder, tmp_path):
    root, cache, first, _ = small_run
    again = run_beir(root, embedder, cache_dir=cache, modes=("dense",), progress=lambda _: None)
    assert again["index"]["embedded_new"] == 0
    assert set(again["modes"]) == {"dense"}
    assert again["modes"]["dense"]["ndcg@10"] == pytest.approx(first["modes"]["dense"]["ndcg@10"], abs=1e-6)

    json_path, md_path = write_results(first, tmp_path / "out")
    assert json_path.name == "small.json" and md_path.name == "small.md"
    saved = json.loads(json_path.read_text(encoding="utf-8"))
    assert saved["modes"]["hybrid"]["ndcg@10"] == pytest.approx(first["modes"]["hybrid"]["ndcg@10"])
    assert "per_query" not in saved["modes"]["hybrid"]
    assert saved["modes"]["hybrid"]["weights"]["keyword"] == 0.1
    table = md_path.read_text(encoding="utf-8")
    assert "| reportrag dense (exact cosine) |" in table
    assert "| published: someone's BM25 | 0.5 | 0.9 |" in table
    assert saved["published"]["lines"] == [
        "A. Some dense model — Task nDCG@10 Recall@100: Small 0.50000 0.90000",
        "B. BM25 (Table 2, nDCG@10): Small 0.42",
    ]
    assert "- B. BM25 (Table 2, nDCG@10): Small 0.42" in table
    assert table == format_markdown(first)


def test_run_beir_tuned_variant_is_reported_beside_the_default(small_run, embedder):
    from reportrag.retrieval.scoring import Weights

    root, cache, first, _ = small_run
    assert first["title_sentence"] is True and first["modes"]["hybrid"]["title_sentence"] is True
    out = run_beir(
        root, embedder, cache_dir=cache, modes=("hybrid",),
        variants={"hybrid-kw0.5": Variant(Weights(keyword=0.5)), "no-titles": Variant(title_sentence=False)},
        progress=lambda _: None,
    )
    assert list(out["modes"]) == ["hybrid", "hybrid-kw0.5", "no-titles"]
    assert out["modes"]["hybrid"]["weights"]["keyword"] == 0.1
    assert out["modes"]["hybrid-kw0.5"]["weights"]["keyword"] == 0.5
    assert out["modes"]["no-titles"]["weights"] == out["modes"]["hybrid"]["weights"]
    assert out["modes"]["no-titles"]["title_sentence"] is False
    table = format_markdown(out)
    assert "| reportrag hybrid (search.fuse, default Weights(passage=0.5, sentence=0.5, keyword=0.1," in table
    assert "| reportrag hybrid-kw0.5 (variant: search.fuse, tuned Weights(passage=0.5, sentence=0.5, keyword=0.5" in (
        table
    )
    defaults = "passage=0.5, sentence=0.5, keyword=0.1, keyword_identifiers=0.8"
    assert f"| reportrag no-titles (variant: search.fuse, default Weights({defaults}), no title sentence) |" in table
    with pytest.raises(ValueError, match="'dense' is taken by a mode"):
        run_beir(root, None, cache_dir=cache, variants={"dense": Variant()}, progress=lambda _: None)  # checked first


def test_title_sentence_counts_in_best_sentence(small_run, embedder):
    from reportrag.retrieval.scoring import best_sentence

    root, cache, _, _ = small_run
    corpus, _, _ = load_beir(root)
    index = build_beir_index(corpus, embedder, cache, progress=lambda _: None)
    assert index.embedded_new == 0
    row = index.doc_ids.index("bees")
    vector = embedder.encode(["Honeybees"])[0]  # the title, word for word
    with_titles = best_sentence(index.sentences(True)[0] @ vector, index.sentences(True)[1], len(index.doc_ids))
    without = best_sentence(index.sentences(False)[0] @ vector, index.sentences(False)[1], len(index.doc_ids))
    assert with_titles[row] == pytest.approx(1.0, abs=1e-5) and without[row] < 0.9
    assert np.all(with_titles >= without)


def test_run_beir_unknown_mode(small_run, embedder):
    with pytest.raises(ValueError, match="'sparse' is not one of"):
        run_beir(small_run[0], embedder, modes=("sparse",), progress=lambda _: None)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda root: (root / "qrels" / "test.tsv").unlink(), r"qrels/test\.tsv: file not found"),
        (
            lambda root: (root / "corpus.jsonl").open("a", encoding="utf-8").write('{"_id": "x", "text": "cut\n'),
            r"corpus\.jsonl:7: not valid JSON",
        ),
        (
            lambda root: (root / "qrels" / "test.tsv").open("a", encoding="utf-8").write("q_bees\tnot-a-doc\t1\n"),
            r"test\.tsv:9: corpus-id 'not-a-doc' is not in corpus\.jsonl",
        ),
    ],
    ids=["missing-qrels", "malformed-corpus-line", "unknown-doc-in-qrels"],
)
def test_run_beir_bad_dataset(tmp_path, damage, message):
    root = write_small_beir(tmp_path / "small")
    damage(root)
    with pytest.raises(BadDataset, match=message) as caught:
        run_beir(root, None, cache_dir=tmp_path / "cache", progress=lambda _: None)  # fails before any embedding
    assert "\n" not in str(caught.value) and str(root) in str(caught.value)
