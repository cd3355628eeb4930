"""Issue 15, the index of shards: adding reports one by one, in any order, ranks exactly as one build of all of them;
removing a report equals never having added it; compaction changes nothing a search returns; an addition rewrites
nothing but its own shard and the manifest.

Real reports (the two bundled ones, cleaned, structured and chunked for real, plus two small ones), the eval set's
questions, ``HashingEmbedder`` for vectors (the ranking arithmetic is the same whatever the model)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from reportrag.core.errors import IndexMismatch, IndexNotFound
from reportrag.core.settings import PROJECT_ROOT, Settings
from reportrag.index import document_store as documents
from reportrag.index import search_index as store
from reportrag.index.embed import EmbeddingCache
from reportrag.index.fake_embedder import HashingEmbedder
from reportrag.ingest.pipeline import info_for_file
from reportrag.retrieval.search import MODES, Searcher
from reportrag.service import ingesting as corpus
from tests.conftest import FAST_MODEL

HOUSING = """# Housing report

## Rental housing

The state built 4,000 rental flats for large families in 2022, and the waiting list fell by a third.

Young families may rent a flat for twenty years before they buy it at the price of its construction.
"""

SHELTERS = """# Shelters report

## Crisis centres

Crisis centres for victims of domestic violence operate in every region, with 1,200 places in 2023.

Women with children may stay in a crisis centre for up to six months and receive legal aid free of charge.

## Funding

Local budgets fund the centres; non-governmental organizations run 40 of them under state contracts.
"""

ALL = ("cedaw", "housing", "review", "shelters")


def _questions() -> list[str]:
    lines = []
    for name in ("questions.jsonl", "questions_holdout.jsonl"):
        lines += (PROJECT_ROOT / "eval" / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


QUESTIONS = _questions()


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def encode(self, texts):
        self.texts += len(texts)
        return super().encode(texts)


class NoEmbedder(HashingEmbedder):
    """For steps that must not embed anything."""

    def encode(self, texts):
        raise AssertionError(f"embedded {len(texts)} texts")


@pytest.fixture(scope="module")
def pool(fake_settings, tokens, tmp_path_factory) -> Path:
    """An index folder holding the stored records of four reports (nothing indexed), to copy reports from."""
    root = tmp_path_factory.mktemp("pool")
    shutil.copytree(fake_settings.index.index_dir / "documents", root / "documents")
    shutil.copytree(fake_settings.index.index_dir / "catalog", root / "catalog")
    items = []
    for name, text in (("housing", HOUSING), ("shelters", SHELTERS)):
        path = root / f"{name}.md"
        path.write_text(text, encoding="utf-8")
        items.append((info_for_file(path, set()), path))
    result = corpus.ingest(root, items, tokens, max_bytes=10**7, max_tokens=fake_settings.ingest.max_passage_tokens)
    assert result.added == ["housing", "shelters"], result
    assert documents.doc_ids(root) == list(ALL)
    return root


def settings_at(root: Path, **kw) -> Settings:
    return Settings(index_dir=root / "index", cache_dir=root / "cache", model=FAST_MODEL, **kw)


def add(pool: Path, settings: Settings, *doc_ids: str, embedder=None) -> None:
    """Store reports (copied from the pool, as an ingest would write them) and bring the search index up to them."""
    for doc_id in doc_ids:
        for folder in ("documents", "catalog"):
            (settings.index.index_dir / folder).mkdir(parents=True, exist_ok=True)
            shutil.copy2(pool / folder / f"{doc_id}.json", settings.index.index_dir / folder / f"{doc_id}.json")
    corpus.refresh_search_index(settings, embedder or HashingEmbedder(), thorough=False)


def ranking(settings: Settings, modes=("hybrid+rerank",), questions=QUESTIONS) -> dict:
    searcher = Searcher(settings.index.index_dir, HashingEmbedder())
    return {mode: [[(h.passage.passage_id, h.score) for h in hits] for hits in searcher.batch(questions, k=10, mode=mode)]
            for mode in modes}


def assert_same(got: dict, want: dict) -> None:
    for mode in want:
        assert len(got[mode]) == len(want[mode])
        for q, (g, w) in enumerate(zip(got[mode], want[mode])):
            assert [pid for pid, _ in g] == [pid for pid, _ in w], (mode, QUESTIONS[q])
            np.testing.assert_allclose([s for _, s in g], [s for _, s in w], rtol=0, atol=1e-5)


def distinct_texts(where: Settings | Path, doc_ids) -> set[str]:
    """What indexing ``doc_ids`` embeds: each passage with its header, each sentence (the same text once)."""
    texts = set()
    for doc_id in doc_ids:
        document, passages = documents.load(where.index.index_dir if isinstance(where, Settings) else where, doc_id)
        texts |= {store.embedding_text(p, document.info.short_title) for p in passages}
        texts |= {document.text[s.start:s.end] for p in passages for s in p.sentences}
    return texts


def shard_names(settings: Settings) -> list[str]:
    return [e["name"] for e in store.read_manifest(settings.index.index_dir, model=HashingEmbedder().name)["shards"]]


@pytest.fixture(scope="module")
def one_build(pool, tmp_path_factory):
    """All four reports indexed in one step: the reference every other path must equal."""
    settings = settings_at(tmp_path_factory.mktemp("one-build"))
    add(pool, settings, *ALL)
    assert len(shard_names(settings)) == 1
    return settings, ranking(settings, MODES)


@pytest.mark.parametrize("order", [ALL, ("shelters", "review", "housing", "cedaw"), ("review", "cedaw", "shelters", "housing")])
def test_adding_reports_one_by_one_in_any_order_ranks_as_one_build(pool, one_build, tmp_path, order):
    settings = settings_at(tmp_path)
    for doc_id in order:
        add(pool, settings, doc_id)
    assert len(shard_names(settings)) == 4
    modes = MODES if order == ALL else ("hybrid+rerank", "keyword")
    assert_same(ranking(settings, modes), {m: one_build[1][m] for m in modes})


def test_removing_a_report_equals_never_adding_it(pool, tmp_path):
    never = settings_at(tmp_path / "never")
    add(pool, never, "cedaw", "housing", "shelters")
    removed = settings_at(tmp_path / "removed")
    add(pool, removed, "cedaw", "review")
    add(pool, removed, "housing", "shelters")
    before = {p.relative_to(removed.index.index_dir): p.stat().st_mtime_ns
              for p in (removed.index.index_dir / "search" / "shards").rglob("*")}
    # as `reportrag remove` does it; NoEmbedder: nothing is embedded, so the model never loads
    documents.remove(removed.index.index_dir, "review")
    corpus.refresh_search_index(removed, NoEmbedder(), thorough=False)
    manifest = store.read_manifest(removed.index.index_dir, model=HashingEmbedder().name)
    assert [e["removed"] for e in manifest["shards"]] == [["review"], []]  # a tombstone, the shard untouched
    assert {p.relative_to(removed.index.index_dir): p.stat().st_mtime_ns
            for p in (removed.index.index_dir / "search" / "shards").rglob("*")} == before
    assert set(manifest["corpus"]) == {"cedaw", "housing", "shelters"}
    assert_same(ranking(removed, MODES), ranking(never, MODES))


def three_shards_housing_removed(pool: Path, tmp_path: Path) -> Settings:
    """Three shards: cedaw and housing, review, shelters; then housing removed (a tombstone in the first)."""
    settings = settings_at(tmp_path)
    add(pool, settings, "cedaw", "housing")
    add(pool, settings, "review")
    add(pool, settings, "shelters")
    documents.remove(settings.index.index_dir, "housing")
    corpus.refresh_search_index(settings, NoEmbedder(), thorough=False)
    return settings


def test_compaction_merges_shards_drops_removed_passages_and_ranks_the_same(pool, tmp_path):
    settings = three_shards_housing_removed(pool, tmp_path)
    before = ranking(settings, MODES)
    result = corpus.compact(settings, model=HashingEmbedder().name)
    assert (result["shards_before"], result["shards"]) == (3, 1)
    [name] = shard_names(settings)
    assert [p.name for p in (settings.index.index_dir / "search" / "shards").iterdir()] == [name]  # old shards gone
    shard = store.read_shard(settings.index.index_dir, name, model=HashingEmbedder().name)
    assert list(shard.reports) == ["cedaw", "review", "shelters"]
    assert not any(pid.startswith("housing") for pid in shard.passage_ids)
    cache = EmbeddingCache(settings.index.cache_dir / "embeddings", HashingEmbedder().name, 384)
    live, gone = distinct_texts(pool, ["cedaw", "review", "shelters"]), distinct_texts(pool, ["housing"])
    assert cache.missing(sorted(live)) == 0 and cache.missing(sorted(gone - live)) == len(gone - live) > 0  # GC
    assert_same(ranking(settings, MODES), before)


def test_too_many_shards_merge_the_smallest_and_rank_the_same(pool, one_build, tmp_path):
    settings = settings_at(tmp_path, max_shards=2)
    counter = CountingEmbedder()
    for doc_id in ALL:
        add(pool, settings, doc_id, embedder=counter)
        assert len(shard_names(settings)) <= 2
    assert_same(ranking(settings), {"hybrid+rerank": one_build[1]["hybrid+rerank"]})
    assert counter.texts == len(distinct_texts(settings, ALL))  # merging copies vectors: each text embedded once


def test_an_addition_rewrites_nothing_but_its_shard_and_the_manifest(pool, tmp_path):
    settings = settings_at(tmp_path)
    add(pool, settings, "review", "cedaw")
    index_dir = settings.index.index_dir

    def files():
        return {p.relative_to(index_dir).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
                for p in index_dir.rglob("*") if p.is_file()}

    before = files()
    counter = CountingEmbedder()
    add(pool, settings, "housing", embedder=counter)
    after = files()
    changed = sorted(f for f in after if before.get(f) != after[f])
    new_shard = shard_names(settings)[-1]
    assert all(f.startswith(f"search/shards/{new_shard}/") or f in {
        "search/manifest.json", "documents/housing.json", "catalog/housing.json"} for f in changed), changed
    assert set(before) <= set(after)  # nothing deleted
    assert counter.texts == len(distinct_texts(settings, ["housing"]))  # only the new report embedded


def test_a_changed_report_replaces_its_old_passages(pool, tmp_path, tokens):
    settings = settings_at(tmp_path)
    add(pool, settings, "review", "housing")
    path = tmp_path / "housing.md"
    path.write_text(HOUSING.replace("4,000 rental flats", "5,500 rental flats"), encoding="utf-8")
    info = documents.load(pool, "housing")[0].info
    result = corpus.ingest(settings.index.index_dir, [(info, path)], tokens, max_bytes=10**7,
                           max_tokens=settings.ingest.max_passage_tokens)
    assert result.added == ["housing"]
    corpus.refresh_search_index(settings, HashingEmbedder(), thorough=False)
    manifest = store.read_manifest(settings.index.index_dir, model=HashingEmbedder().name)
    assert [e["removed"] for e in manifest["shards"]] == [["housing"], []]
    searcher = Searcher(settings.index.index_dir, HashingEmbedder())
    texts = [h.passage.text for h in searcher.search("rental flats for large families", k=3, mode="keyword")]
    assert any("5,500" in t for t in texts) and not any("4,000" in t for t in texts)


def test_an_index_of_the_earlier_single_build_layout_is_rebuilt_by_ingest(pool, tmp_path):
    settings = settings_at(tmp_path)
    add(pool, settings, "housing")
    search = settings.index.index_dir / "search"
    (search / "manifest.json").unlink()
    (search / "build-0123456789ab").mkdir()
    (search / "CURRENT").write_text("build-0123456789ab")
    with pytest.raises(IndexMismatch, match="older format.*reportrag ingest"):
        Searcher(settings.index.index_dir, HashingEmbedder())
    corpus.refresh_search_index(settings, HashingEmbedder())
    assert sorted(p.name for p in search.iterdir()) == ["manifest.json", "shards"]
    assert Searcher(settings.index.index_dir, HashingEmbedder()).search("rental flats")[0].passage.doc_id == "housing"


@pytest.mark.parametrize("damage", ["not json", "a shard it does not have", "a shard of other reports"])
def test_a_damaged_manifest_is_a_clear_error_and_ingest_mends_it(pool, tmp_path, damage):
    settings = settings_at(tmp_path)
    add(pool, settings, "housing")
    add(pool, settings, "shelters")
    path = settings.index.index_dir / "search" / "manifest.json"
    manifest = json.loads(path.read_text())
    if damage == "not json":
        path.write_text("{")
    elif damage == "a shard it does not have":
        manifest["shards"][0]["name"] = "shard-000000000000"
        path.write_text(json.dumps(manifest))
    else:
        manifest["shards"][0]["name"], manifest["shards"][1]["name"] = manifest["shards"][1]["name"], manifest["shards"][0]["name"]
        path.write_text(json.dumps(manifest))
    with pytest.raises(IndexNotFound, match="reportrag ingest"):
        Searcher(settings.index.index_dir, HashingEmbedder())
    corpus.refresh_search_index(settings, HashingEmbedder())
    assert {h.passage.doc_id for h in Searcher(settings.index.index_dir, HashingEmbedder()).search("crisis centres rental flats")} == {"housing", "shelters"}


@pytest.mark.parametrize("exact_up_to", [100_000, 1_000])  # a flat index, an IVF one
def test_a_stored_vector_index_is_memory_mapped_not_copied(tmp_path, exact_up_to):
    """Loading a shard's faiss index maps its file: the process's own memory barely grows (a copy would add the
    vectors' 59 MiB), and it finds what the index it was saved from finds."""
    from reportrag.index import vectors as vector_index

    vectors = np.random.default_rng(0).standard_normal((40_000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    built = vector_index.build(vectors, exact_up_to=exact_up_to)
    vector_index.save(built, tmp_path / "v.faiss")

    def anonymous_mib() -> float:
        status = Path("/proc/self/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("RssAnon:"))) / 1024

    before = anonymous_mib()
    loaded = vector_index.load(tmp_path / "v.faiss")
    assert anonymous_mib() - before < 15
    for a, b in zip(vector_index.search(built, vectors[:20], 50), vector_index.search(loaded, vectors[:20], 50)):
        assert np.array_equal(a, b)


def test_the_answers_term_statistics_are_the_shards_counts_and_equal_counting_every_sentence(pool, tmp_path):
    """Answers weigh a question's words by how rare they are among the corpus's sentences. The shards keep each
    report's counts, so a searcher over a million passages never tokenizes them all again: the counts of the live
    reports (a removed one left out, after compaction too) equal counting every sentence, term by term; a shard
    written before the counts were kept is read as before and counted from the texts, and compaction gives it counts."""
    from reportrag.index.keyword import tokenize
    from reportrag.retrieval.term_stats import TermStats

    settings = three_shards_housing_removed(pool, tmp_path)
    words = {doc_id: {t for text in distinct_texts(pool, [doc_id]) for t in tokenize(text)} for doc_id in ALL}
    vocabulary = sorted(set().union(*words.values()))
    own_words = words["housing"] - words["cedaw"] - words["review"] - words["shelters"]

    def check() -> Searcher:
        searcher = Searcher(settings.index.index_dir, HashingEmbedder())
        c = searcher.corpus
        counted = TermStats.over(c.documents[p.doc_id].text[s.start:s.end] for p in c.passages for s in p.sentences)
        stats = c.term_stats
        assert (stats is c._counted) == (searcher.index.sentence_counts is not None)  # from the shards where kept
        assert stats is not counted and stats.n == counted.n == sum(len(p.sentences) for p in c.passages)
        assert [stats.frequency(t) for t in vocabulary] == [counted.frequency(t) for t in vocabulary]
        assert own_words and all(stats.frequency(t) == 0 for t in own_words)  # the removed report counts nowhere
        return searcher

    assert check().index.sentence_counts is not None
    corpus.compact(settings, model=HashingEmbedder().name)
    assert len(check().index.sentence_counts) == 1
    # a shard from before the counts: no counts folder, its header listing none
    [name] = shard_names(settings)
    folder = settings.index.index_dir / "search" / "shards" / name
    shutil.rmtree(folder / "sentence_terms")
    header = json.loads((folder / "shard.json").read_text())
    header["files"] = {f: h for f, h in header["files"].items() if not f.startswith("sentence_terms/")}
    (folder / "shard.json").write_text(json.dumps(header))
    assert check().index.sentence_counts is None
    # compaction brings such an index up to the counts, from the stored reports (nothing embedded), leaving out a
    # report removed from that shard meanwhile
    documents.remove(settings.index.index_dir, "shelters")
    corpus.refresh_search_index(settings, NoEmbedder(), thorough=False)
    result = corpus.compact(settings, model=HashingEmbedder().name)
    assert result["shards_before"] == result["shards"] == 1 and shard_names(settings) != [name]
    assert check().index.sentence_counts is not None
