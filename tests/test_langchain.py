"""LangChain interfaces: langchain-tests' standard suites, then our own contract over the real reports and model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.runnables import RunnableLambda, RunnablePassthrough
from langchain_tests.integration_tests import (
    EmbeddingsIntegrationTests,
    RetrieversIntegrationTests,
    VectorStoreIntegrationTests,
)
from langchain_tests.unit_tests import EmbeddingsUnitTests
from reportrag.index.embed import Embedder
from reportrag.index.model_path import default_model_path

from reportrag.core.errors import BadQuery, IndexMismatch, IndexNotFound
from reportrag.retrieval.search import Filters
from reportrag.skins.langchain_adapters import ReportragEmbeddings, ReportragRetriever, ReportragVectorStore

QUERY = "shelters for victims of domestic violence"

# The suites' async tests are plain ``async def``; pytest-asyncio runs them only when marked (strict mode), and warns
# about the mark on the suites' sync tests, which is expected here.
ASYNC_SUITE = [
    pytest.mark.asyncio,
    pytest.mark.filterwarnings("ignore:.*is marked with '@pytest.mark.asyncio' but it is not an async function"),
]


# ``searcher`` (tests/conftest.py): the real reports, indexed once per session (~90 s) and shared with test_search.


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The model alone, so embedding and store tests need no index."""
    return Embedder(default_model_path())


# -- standard suites -------------------------------------------------------------------------------------------------


class TestVectorStoreStandard(VectorStoreIntegrationTests):
    pytestmark = ASYNC_SUITE

    @pytest.fixture
    def vectorstore(self) -> ReportragVectorStore:
        return ReportragVectorStore(self.get_embeddings())  # empty, with the suite's fake 6-d embeddings


class TestRetrieverStandard(RetrieversIntegrationTests):
    pytestmark = ASYNC_SUITE

    @pytest.fixture(autouse=True)
    def _session_searcher(self, searcher):
        self.searcher = searcher  # the suite builds retrievers from properties, which cannot ask for fixtures

    @property
    def retriever_constructor(self) -> type[ReportragRetriever]:
        return ReportragRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"searcher": self.searcher}

    @property
    def retriever_query_example(self) -> str:
        return QUERY


class TestEmbeddingsUnitStandard(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[ReportragEmbeddings]:
        return ReportragEmbeddings  # no parameters: loads the bundled model, as a user's first call would


class TestEmbeddingsStandard(EmbeddingsIntegrationTests):
    pytestmark = ASYNC_SUITE

    @pytest.fixture(autouse=True)
    def _session_embedder(self, embedder):
        self.embedder = embedder

    @property
    def embeddings_class(self) -> type[ReportragEmbeddings]:
        return ReportragEmbeddings

    @property
    def embedding_model_params(self) -> dict:
        return {"embedder": self.embedder}


# -- embeddings ------------------------------------------------------------------------------------------------------


def test_embeddings_are_the_models_unit_vectors(embedder):
    embeddings = ReportragEmbeddings(embedder)
    texts = ["equal pay for work of equal value", "the death penalty"]
    vectors = np.array(embeddings.embed_documents(texts))
    assert vectors.shape == (2, embedder.dimension)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors, embedder.encode(texts), atol=1e-6)
    assert embeddings.embed_query(texts[1]) == embeddings.embed_documents([texts[1]])[0]
    assert embeddings.embed_documents([]) == []


# -- retriever -------------------------------------------------------------------------------------------------------


def test_retriever_documents_are_the_searchers_hits(searcher):
    documents = ReportragRetriever(searcher=searcher, k=8).invoke(QUERY)
    hits = searcher.search(QUERY, k=8)
    assert [d.id for d in documents] == [h.passage.passage_id for h in hits]
    for d, h in zip(documents, hits):
        m = d.metadata
        assert d.page_content == h.passage.text == searcher.documents[m["doc_id"]].text[m["start"] : m["end"]]
        assert (m["passage_id"], m["score"], m["rank"], m["doc_title"]) == (d.id, h.score, h.rank, h.doc_title)
        assert (m["section"], m["section_path"]) == (h.passage.section_label, list(h.passage.section))
        assert (m["paragraph"], m["paragraphs"]) == (h.passage.paragraph, list(h.passage.paragraphs))
        assert m["also_at"] == h.to_json()["also_at"]


def test_retriever_mode_and_filters_at_construction_and_per_call(searcher):
    retriever = ReportragRetriever(searcher=searcher, doc="cedaw", k=5)
    assert {d.metadata["doc_id"] for d in retriever.invoke("gender equality")} == {"cedaw"}
    documents = retriever.invoke("equal pay", section="Article 11", k=3)
    assert len(documents) == 3 and all(d.metadata["section"].startswith("Article 11") for d in documents)
    dense = ReportragRetriever(searcher=searcher, mode="dense", k=5).invoke(QUERY)
    assert [d.id for d in dense] == [h.passage.passage_id for h in searcher.search(QUERY, k=5, mode="dense")]
    expected = searcher.search("measures", k=4, filters=Filters(concluding_observation="36(e)"))
    documents = ReportragRetriever(searcher=searcher).invoke("measures", concluding_observation="36(e)")
    assert [d.id for d in documents] == [h.passage.passage_id for h in expected]


@pytest.mark.parametrize("query", ["", "  \n\t ", "x" * 100_000])
def test_bad_query_raises_our_error(searcher, query):
    with pytest.raises(BadQuery) as e:
        ReportragRetriever(searcher=searcher).invoke(query)
    assert "\n" not in str(e.value)


@pytest.mark.asyncio
async def test_async_retriever_keeps_per_call_arguments(searcher):
    retriever = ReportragRetriever(searcher=searcher)
    documents = await retriever.ainvoke(QUERY, k=2, doc="review")
    expected = searcher.search(QUERY, k=2, filters=Filters(doc="review"))
    assert [d.id for d in documents] == [h.passage.passage_id for h in expected]
    with pytest.raises(BadQuery):
        await retriever.ainvoke("   ")


def test_retriever_in_a_chain(searcher):
    def cite(docs):
        return "\n".join(f"[{d.metadata['doc_title']}, ¶{d.metadata['paragraph']}] {d.page_content}" for d in docs)

    def prompt(x):
        return f"Question: {x['question']}\n\nSources:\n{x['context']}"

    retriever = ReportragRetriever(searcher=searcher, k=3)
    chain = {"context": retriever | cite, "question": RunnablePassthrough()} | RunnableLambda(prompt)
    text = chain.invoke(QUERY)
    assert text.startswith(f"Question: {QUERY}\n\nSources:\n[")
    top = searcher.search(QUERY, k=1)[0]
    assert f"[{top.doc_title}, ¶{top.passage.paragraph}] {top.passage.text}" in text
    assert len(chain.batch([QUERY, "equal pay"])) == 2


# -- vector store ----------------------------------------------------------------------------------------------------


class CountingEmbeddings(ReportragEmbeddings):
    """Records every text it embeds, to show what was (not) embedded."""

    def __init__(self, embedder):
        super().__init__(embedder)
        self.embedded: list[str] = []

    def embed_documents(self, texts):
        self.embedded += texts
        return super().embed_documents(texts)


def test_store_from_searcher_reuses_the_index_vectors(searcher):
    embeddings = CountingEmbeddings(searcher.embedder)
    store = ReportragVectorStore.from_searcher(searcher, embeddings)
    assert embeddings.embedded == []  # not one passage embedded again
    queries = [QUERY, "When did the country stop executing people?", "equal pay for work of equal value"]
    for query in queries:
        hit = searcher.search(query, k=1, mode="dense")[0]
        document, score = store.similarity_search_with_score(query, k=1)[0]
        assert (document.metadata["duplicate_of"] or document.id) == hit.passage.passage_id
        assert score == pytest.approx(hit.score, abs=1e-5)
    assert embeddings.embedded == queries  # only the queries
    document = store.get_by_ids([hit.passage.passage_id])[0]
    assert document.page_content == searcher.documents[document.metadata["doc_id"]].text[
        document.metadata["start"] : document.metadata["end"]
    ]
    cedaw = store.similarity_search("gender equality", k=5, filter={"doc_id": "cedaw"})
    assert len(cedaw) == 5 and {d.metadata["doc_id"] for d in cedaw} == {"cedaw"}
    assert len(store.max_marginal_relevance_search(QUERY, k=4, fetch_k=12)) == 4


def test_store_save_and_load_give_identical_results(searcher, tmp_path):
    def results(store, vector):
        return (
            store.similarity_search_with_score_by_vector(vector, k=10),
            store.max_marginal_relevance_search_by_vector(vector, k=5),
            store.similarity_search_by_vector(vector, k=3, filter={"doc_id": "cedaw"}),
        )

    passage_store = ReportragVectorStore.from_searcher(searcher)
    passage_store.save_local(tmp_path / "store")
    loaded = ReportragVectorStore.load_local(tmp_path / "store", passage_store.embeddings)
    for query in [QUERY, "Article 11, paragraph 1 (d)"]:
        vector = passage_store.embeddings.embed_query(query)
        assert results(loaded, vector) == results(passage_store, vector)
    ids = [p.passage_id for p in searcher.passages[:20]]
    assert loaded.get_by_ids(ids) == passage_store.get_by_ids(ids)


def test_loaded_store_keeps_working_and_saving_replaces_the_folder(tmp_path):
    folder = tmp_path / "store"
    store = ReportragVectorStore.from_texts(["foo", "bar"], DeterministicFakeEmbedding(size=6), ids=["1", "2"])
    store.save_local(folder)
    loaded = ReportragVectorStore.load_local(folder, store.embeddings)
    loaded.add_texts(["baz"], [{"n": 3}], ids=["3"])  # new rows must not collide with the loaded ones
    loaded.add_texts(["new foo"], ids=["1"])
    loaded.delete(["2"])
    assert [(d.id, d.page_content) for d in loaded.similarity_search("new foo", k=5)][0] == ("1", "new foo")
    assert sorted(d.id for d in loaded.similarity_search("x", k=5)) == ["1", "3"]
    loaded.save_local(folder)
    again = ReportragVectorStore.load_local(folder, store.embeddings)
    assert sorted(d.id for d in again.similarity_search("x", k=5)) == ["1", "3"]
    assert [p.name for p in tmp_path.iterdir()] == ["store"]  # no temporary or old copies left beside it
    empty = ReportragVectorStore(store.embeddings)
    empty.save_local(tmp_path / "empty")
    assert ReportragVectorStore.load_local(tmp_path / "empty", store.embeddings).similarity_search("foo") == []


def test_a_failed_save_leaves_the_previous_copy(tmp_path):
    folder = tmp_path / "store"
    store = ReportragVectorStore.from_texts(["foo"], DeterministicFakeEmbedding(size=6), ids=["1"])
    store.save_local(folder)
    store.add_texts(["bar"], [{"when": object()}], ids=["2"])
    with pytest.raises(TypeError):  # metadata that JSON cannot hold
        store.save_local(folder)
    assert [p.name for p in tmp_path.iterdir()] == ["store"]
    assert [d.id for d in ReportragVectorStore.load_local(folder, store.embeddings).similarity_search("foo")] == ["1"]


def _damage(folder, how):
    if how == "missing folder":
        folder.rename(folder.with_name("gone"))
    elif how == "no store.json":
        (folder / "store.json").unlink()
    elif how == "store.json not JSON":
        (folder / "store.json").write_text("{not json", encoding="utf-8")
    elif how == "store.json wrong shape":
        (folder / "store.json").write_text(json.dumps({"format": 1, "documents": "?"}), encoding="utf-8")
    elif how == "a document dropped":
        saved = json.loads((folder / "store.json").read_text(encoding="utf-8"))
        saved["documents"].pop()
        (folder / "store.json").write_text(json.dumps(saved), encoding="utf-8")
    elif how == "no vectors.faiss":
        (folder / "vectors.faiss").unlink()
    elif how == "vectors.faiss truncated":
        data = (folder / "vectors.faiss").read_bytes()
        (folder / "vectors.faiss").write_bytes(data[: len(data) // 2])
    elif how == "vectors.faiss garbage":
        (folder / "vectors.faiss").write_bytes(b"\x00garbage" * 64)


@pytest.mark.parametrize(
    "how",
    [
        "missing folder",
        "no store.json",
        "store.json not JSON",
        "store.json wrong shape",
        "a document dropped",
        "no vectors.faiss",
        "vectors.faiss truncated",
        "vectors.faiss garbage",
    ],
)
def test_loading_a_damaged_store_is_a_clear_error(tmp_path, how):
    folder = tmp_path / "store"
    embeddings = DeterministicFakeEmbedding(size=6)
    ReportragVectorStore.from_texts(["foo", "bar", "baz"], embeddings, [{"n": i} for i in range(3)]).save_local(folder)
    _damage(folder, how)
    with pytest.raises(IndexNotFound) as e:
        ReportragVectorStore.load_local(folder, embeddings)
    assert str(folder) in str(e.value) and "\n" not in str(e.value)


def test_loading_another_format_is_a_mismatch(tmp_path):
    folder = tmp_path / "store"
    ReportragVectorStore.from_texts(["foo"], DeterministicFakeEmbedding(size=6)).save_local(folder)
    saved = json.loads((folder / "store.json").read_text(encoding="utf-8"))
    (folder / "store.json").write_text(json.dumps({**saved, "format": 99}), encoding="utf-8")
    with pytest.raises(IndexMismatch, match="format 99"):
        ReportragVectorStore.load_local(folder, DeterministicFakeEmbedding(size=6))


def test_store_scores_relevance_and_dimension_checks():
    store = ReportragVectorStore.from_texts(["foo", "bar", "baz"], DeterministicFakeEmbedding(size=6), ids=list("123"))
    scored = store.similarity_search_with_relevance_scores("foo", k=3)
    assert scored[0][0].id == "1" and scored[0][1] == pytest.approx(1.0)
    assert all(0.0 <= s <= 1.0 for _, s in scored)
    assert [d.id for d in store.as_retriever(search_kwargs={"k": 1}).invoke("bar")] == ["2"]
    with pytest.raises(ValueError, match="6-dimensional"):
        store.similarity_search_by_vector([1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="ids"):
        store.add_texts(["a", "b"], ids=["only one"])
