"""Issue 16, sharded serving without Ray: holders of some shards each answer a scatter step, the router fuses, and
the result equals ``Searcher`` over the whole index — ids, scores, answers and citations. (tests/test_cluster.py
runs the same holders as Ray Serve replicas.)"""

from __future__ import annotations

import numpy as np
import pytest
from reportrag.index import document_store as documents
from reportrag.index.fake_embedder import HashingEmbedder

from reportrag.answers import extractive
from reportrag.core.errors import IndexMismatch
from reportrag.retrieval import search
from reportrag.retrieval.scatter import ScatterSearcher, ShardGroup
from reportrag.retrieval.scoring import UNSCORED, spans
from reportrag.retrieval.search import MODES, Filters, Searcher
from reportrag.service import ingesting as corpus
from tests.test_shards import QUESTIONS, add, pool, settings_at  # noqa: F401 (pool: the fixture)

MODEL = HashingEmbedder().name


@pytest.fixture(scope="module")
def four_shards(pool, tmp_path_factory):  # noqa: F811
    settings = settings_at(tmp_path_factory.mktemp("scatter"))
    add(pool, settings, "cedaw", "housing")
    add(pool, settings, "review")
    add(pool, settings, "shelters")
    documents.remove(settings.index.index_dir, "housing")  # as `reportrag remove` does: a tombstone, which the
    corpus.refresh_search_index(settings, HashingEmbedder(), thorough=False)  # holders must leave out
    add(pool, settings, "housing")  # and it comes back in a shard of its own
    return settings


def names(settings) -> list[str]:
    from reportrag.index import search_index as store

    return [e["name"] for e in store.read_manifest(settings.index.index_dir, model=MODEL)["shards"]]


def routers(settings):
    index_dir = settings.index.index_dir
    shards = names(settings)
    one = Searcher(index_dir, HashingEmbedder())
    split = ScatterSearcher(index_dir, HashingEmbedder(), [ShardGroup(index_dir, MODEL, shards[:2]),
                                                          ShardGroup(index_dir, MODEL, shards[2:])])
    return one, split


def test_scattered_search_equals_one_index_in_every_mode(four_shards):
    one, split = routers(four_shards)
    assert len(names(four_shards)) == 4
    for mode in MODES:
        for q, (a, b) in enumerate(zip(one.batch(QUESTIONS, k=10, mode=mode), split.batch(QUESTIONS, k=10, mode=mode))):
            assert [h.passage.passage_id for h in a] == [h.passage.passage_id for h in b], (mode, QUESTIONS[q])
            np.testing.assert_allclose([h.score for h in a], [h.score for h in b], rtol=0, atol=1e-5)


def test_scattered_answers_and_citations_equal_one_index(four_shards):
    one, split = routers(four_shards)
    for question in QUESTIONS[:40]:
        a, b = extractive.answer(one, question), extractive.answer(split, question)
        assert a.text == b.text
        assert [(c.quote, c.place, c.anchor, c.relevance) for c in a.citations] == \
               [(c.quote, c.place, c.anchor, c.relevance) for c in b.citations]


def test_the_approximate_path_scatters_too(four_shards):
    index_dir = four_shards.index.index_dir
    one = Searcher(index_dir, HashingEmbedder())
    split = ScatterSearcher(index_dir, HashingEmbedder(), [ShardGroup(index_dir, MODEL, [n]) for n in names(four_shards)])
    one.exact = split.exact = False  # as past exact_search_up_to: candidates from each shard's faiss and keywords
    same = 0
    for a, b in zip(one.batch(QUESTIONS, k=10), split.batch(QUESTIONS, k=10)):
        same += [h.passage.passage_id for h in a] == [h.passage.passage_id for h in b]
    # every replica proposes its own top keyword rows, a superset of one index's: rankings may differ only there
    assert same / len(QUESTIONS) >= 0.98


def test_a_filtered_approximate_search_scatters_the_filter_s_rows(four_shards, monkeypatch):
    """Past the threshold with few corpus-wide candidates, every row a filter allows is scored by the holder that
    has it: the filtered ranking equals one index's, with no unscored row listed."""
    monkeypatch.setattr(search, "CANDIDATES", 3)
    index_dir = four_shards.index.index_dir
    one = Searcher(index_dir, HashingEmbedder())
    split = ScatterSearcher(index_dir, HashingEmbedder(), [ShardGroup(index_dir, MODEL, [n]) for n in names(four_shards)])
    one.exact = split.exact = False
    for filters in (Filters(doc="review"), Filters(doc="housing"), Filters(section="Article 11")):
        for question in QUESTIONS[:10]:
            a, b = (s.search(question, k=5, filters=filters, mode="hybrid") for s in (one, split))
            assert a and [h.passage.passage_id for h in a] == [h.passage.passage_id for h in b], (filters, question)
            np.testing.assert_allclose([h.score for h in a], [h.score for h in b], rtol=0, atol=1e-5)
            assert min(h.score for h in a) > UNSCORED / 2, (filters, question)


def test_holders_must_cover_the_index_exactly_once(four_shards):
    index_dir = four_shards.index.index_dir
    shards = names(four_shards)
    with pytest.raises(IndexMismatch, match="exactly once"):
        ScatterSearcher(index_dir, HashingEmbedder(), [ShardGroup(index_dir, MODEL, shards[:2])])
    with pytest.raises(IndexMismatch, match="not in the live index"):
        ShardGroup(index_dir, MODEL, ["shard-000000000000"])


def test_spans_lays_out_each_row_s_sentences_as_a_loop_would():
    rng = np.random.default_rng(7)
    for _ in range(300):
        starts = np.sort(rng.integers(0, 60, rng.integers(0, 10)))
        ends = starts + rng.integers(0, 5, len(starts))  # some rows without a sentence
        loop = [np.arange(a, b) for a, b in zip(starts, ends)]
        assert np.array_equal(spans(starts, ends), np.concatenate(loop or [np.zeros(0, np.int64)]))


def test_the_router_weighs_words_by_the_shards_own_counts_and_refuses_damaged_ones(four_shards, tmp_path):
    """The router holds no shard, yet answers weigh a question's words as one index does: it sums the per-report
    sentence counts read from the shard files alone (a removed report's left out), never tokenizing every sentence
    of the corpus; a counts file changed since its shard was written is a clear error, not a wrong weight."""
    import shutil

    from reportrag.core.errors import IndexNotFound
    from reportrag.index import search_index as store
    from reportrag.index.keyword import tokenize

    one, split = routers(four_shards)
    assert split.corpus._counted is not None  # from the shard files, not the texts
    vocabulary = sorted({t for p in one.passages for t in tokenize(p.text)} | {"rental", "absentword"})
    mine, theirs = one.corpus.term_stats, split.corpus.term_stats
    assert mine.n == theirs.n and [mine.frequency(t) for t in vocabulary] == [theirs.frequency(t) for t in vocabulary]
    damaged = tmp_path / "index"
    shutil.copytree(four_shards.index.index_dir, damaged)
    manifest = store.read_manifest(damaged, model=MODEL)
    counts = damaged / "search" / "shards" / manifest["shards"][0]["name"] / "sentence_terms" / "tf.npy"
    np.save(counts, np.load(counts) + 1)  # every count one more: a valid file, the wrong numbers
    with pytest.raises(IndexNotFound, match="damaged.*sentence term counts changed.*reportrag ingest"):
        store.sentence_counts(damaged, manifest, model=MODEL)
