"""Shards' vectors seen as one array without a copy (index/stacked_rows.py): every access the scorer makes gives
what the concatenated copy gives, on removed rows and interleaved reports too; and a multi-shard index past the
exact-search threshold uses it, ranking as one build of the same reports."""

from __future__ import annotations

import numpy as np
import pytest
from reportrag.index import search_index as store
from reportrag.index.fake_embedder import HashingEmbedder
from reportrag.index.stacked_rows import StackedRows

from reportrag.retrieval.search import Filters, Searcher
from tests.test_shards import ALL, QUESTIONS, add, pool, settings_at  # noqa: F401 (pool: the fixture)


def stacked_and_copy(seed: int) -> tuple[StackedRows, np.ndarray]:
    rng = np.random.default_rng(seed)
    parts = [rng.standard_normal((int(rng.integers(0, 30)), 8)).astype(np.float32) for _ in range(4)]
    slots = [(k, i) for k, part in enumerate(parts) for i in range(len(part)) if rng.random() > 0.2]  # some removed
    order = rng.permutation(len(slots))  # the index's rows interleave the shards
    row_maps = [np.full(len(part), -1, np.int64) for part in parts]
    copy = np.zeros((len(slots), 8), np.float32)
    for row, j in enumerate(order):
        k, i = slots[j]
        row_maps[k][i] = row
        copy[row] = parts[k][i]
    return StackedRows(parts, row_maps, len(slots), 8), copy


@pytest.mark.parametrize("seed", range(20))
def test_every_access_equals_the_concatenated_copy(seed):
    stacked, copy = stacked_and_copy(seed)
    n = len(copy)
    assert len(stacked) == n and stacked.shape == copy.shape
    np.testing.assert_array_equal(np.asarray(stacked), copy)
    rows = np.random.default_rng(seed).integers(0, max(n, 1), 15) if n else np.zeros(0, np.int64)
    np.testing.assert_array_equal(stacked[rows], copy[rows])
    np.testing.assert_array_equal(stacked[2:9], copy[2:9])
    vector = np.arange(8, dtype=np.float32) / 8
    np.testing.assert_allclose(stacked @ vector, copy @ vector, rtol=0, atol=1e-6)
    if n:
        np.testing.assert_array_equal(stacked[n - 1], copy[n - 1])
        np.testing.assert_array_equal(stacked[-1], copy[-1])
        with pytest.raises(IndexError):
            stacked[np.array([n])]


def test_a_multi_shard_index_past_the_threshold_maps_instead_of_copying_and_ranks_as_one_build(pool, tmp_path):  # noqa: F811
    one, split = settings_at(tmp_path / "one", exact_search_up_to=50), settings_at(tmp_path / "split", exact_search_up_to=50)
    add(pool, one, *ALL)
    add(pool, split, "review", "housing")
    add(pool, split, "cedaw", "shelters")  # reports interleave: cedaw sorts before housing, shelters after review
    index = store.load(split.index.index_dir, model=HashingEmbedder().name)
    assert len(index.shards) == 2
    assert isinstance(index.passage_vectors, StackedRows) and isinstance(index.sentence_vectors, StackedRows)
    searchers = [Searcher(s.index.index_dir, HashingEmbedder()) for s in (one, split)]
    assert not any(s.exact for s in searchers)
    for s in searchers:
        s.exact = True  # every passage scored: the stacked product against one shard's array
    for mode in ("hybrid+rerank", "dense"):
        a, b = (s.batch(QUESTIONS[:40], k=10, mode=mode) for s in searchers)
        assert [[h.passage.passage_id for h in hits] for hits in a] == [[h.passage.passage_id for h in hits] for hits in b]
        np.testing.assert_allclose([h.score for hits in a for h in hits], [h.score for hits in b for h in hits], atol=1e-5)
    for s in searchers:
        s.exact = False  # candidates gathered from the stacked rows; a filter's passages are all scored
    for filters in (Filters(doc="review"), Filters(doc="shelters"), Filters(section="Article 11")):
        a, b = (s.batch(QUESTIONS[:20], k=5, filters=filters) for s in searchers)
        assert [[h.passage.passage_id for h in hits] for hits in a] == [[h.passage.passage_id for h in hits] for hits in b]
        np.testing.assert_allclose([h.score for hits in a for h in hits], [h.score for hits in b for h in hits], atol=1e-5)
