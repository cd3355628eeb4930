"""LangChain interfaces over reportrag: our model as ``Embeddings``, the hybrid searcher as a retriever, and a small
faiss vector store that works with any embeddings and can be built from our index without embedding again.

Built on langchain-core alone; tests/test_langchain.py runs langchain-tests' standard suites against all three.
"""

from __future__ import annotations

import copy
import json
import shutil
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from langchain_core.vectorstores import VectorStore
from langchain_core.vectorstores.utils import maximal_marginal_relevance
from pydantic import ConfigDict

from reportrag.core.errors import IndexMismatch, IndexNotFound
from reportrag.core.records import Passage
from reportrag.index.embed import Embedder, TextEmbedder
from reportrag.index.model_path import default_model_path
from reportrag.retrieval.filters import check_filters
from reportrag.retrieval.search import Filters, Searcher

STORE_FORMAT = 1


class ReportragEmbeddings(Embeddings):
    """Our sentence-transformers model (an ``Embedder``, or the model folder to load one from; default: bundled)."""

    def __init__(self, embedder: TextEmbedder | str | Path | None = None) -> None:
        if not isinstance(embedder, TextEmbedder):
            embedder = Embedder(Path(embedder) if embedder else default_model_path())
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.encode(list(texts)).tolist()  # tolist: plain Python floats, as LangChain expects

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def passage_metadata(passage: Passage, doc_title: str) -> dict[str, Any]:
    """Where a passage stands, as document metadata. JSON-native values (lists, not tuples): a saved store loads back
    equal, and equality filters match before and after saving."""
    return {
        "passage_id": passage.passage_id,
        "doc_id": passage.doc_id,
        "doc_title": doc_title,
        "section": passage.section_label,
        "section_path": list(passage.section),
        "paragraph": passage.paragraph,
        "paragraphs": list(passage.paragraphs),
        "start": passage.start,
        "end": passage.end,
        "concluding_observations": list(passage.concluding_observations),
    }


class ReportragRetriever(BaseRetriever):
    """The hybrid searcher as a retriever. ``k``, ``mode`` and the filters may also be given per call
    (``retriever.invoke(q, k=3)``); a per-call ``None`` keeps the retriever's own value. A bad query raises
    ``BadQuery``, a filter that matches nothing ``BadFilter`` (naming the choices)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: Searcher
    k: int = 4
    mode: str | None = None  # None: the searcher's own default mode
    doc: str | None = None
    section: str | None = None
    concluding_observation: str | None = None

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        mode: str | None = None,
        doc: str | None = None,
        section: str | None = None,
        concluding_observation: str | None = None,
    ) -> list[Document]:
        def given(value, default):
            return default if value is None else value

        filters = Filters(
            doc=given(doc, self.doc),
            section=given(section, self.section),
            concluding_observation=given(concluding_observation, self.concluding_observation),
        )
        check_filters(self.searcher.corpus, filters)  # a filter matching nothing: BadFilter, not an empty list
        mode = given(mode, self.mode)
        hits = self.searcher.search(query, k=given(k, self.k), filters=filters, **({"mode": mode} if mode else {}))
        return [
            Document(
                id=h.passage.passage_id,
                page_content=h.passage.text,
                metadata={
                    **passage_metadata(h.passage, h.doc_title),
                    "score": h.score,
                    "rank": h.rank,
                    "also_at": h.to_json()["also_at"],
                },
            )
            for h in hits
        ]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **per_call: Any
    ) -> list[Document]:
        # The base class's version drops per-call arguments such as k; search runs in a thread either way.
        return await run_in_executor(
            None, self._get_relevant_documents, query, run_manager=run_manager.get_sync(), **per_call
        )


def _unit_rows(vectors) -> np.ndarray:
    """Rows scaled to length 1, so inner product is cosine whatever the embeddings return (zero rows stay zero)."""
    x = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.where(norms > 0, norms, 1.0))


class ReportragVectorStore(VectorStore):
    """In-memory store with exact cosine search (faiss inner product over unit vectors), for any ``Embeddings``.

    faiss rows carry int64 labels (``IndexIDMap2``), so upserts and deletes never renumber rows; documents live in a
    dict keyed by their string id. Scores are cosine similarities; ``filter={"key": value}`` keeps documents whose
    metadata equals every given value.
    """

    def __init__(self, embedding: Embeddings) -> None:
        self.embedding = embedding
        self._index: faiss.IndexIDMap2 | None = None  # made on the first add: the dimension is unknown until then
        self._docs: dict[str, Document] = {}
        self._label_of: dict[str, int] = {}
        self._id_of: dict[int, str] = {}
        self._next_label = 0

    @property
    def embeddings(self) -> Embeddings:
        return self.embedding

    # -- writing -------------------------------------------------------------------------------------------------

    def add_documents(self, documents: list[Document], ids: list[str] | None = None, **kwargs: Any) -> list[str]:
        """Add or replace (same id) documents; ``ids`` wins over ``Document.id``; missing ids are made up."""
        if ids is not None and len(ids) != len(documents):
            raise ValueError(f"ids: {len(ids)} given for {len(documents)} documents")
        ids = [given or doc.id or str(uuid.uuid4()) for given, doc in zip(ids or [None] * len(documents), documents)]
        if documents:
            self._upsert(ids, documents, self.embedding.embed_documents([d.page_content for d in documents]))
        return ids

    def add_texts(
        self, texts: Iterable[str], metadatas: list[dict] | None = None, *, ids: list[str] | None = None, **kwargs: Any
    ) -> list[str]:
        # Our own because the base class quietly drops texts beyond a shorter ids list.
        texts = list(texts)
        for name, given in (("metadatas", metadatas), ("ids", ids)):
            if given is not None and len(given) != len(texts):
                raise ValueError(f"{name}: {len(given)} given for {len(texts)} texts")
        metadatas = metadatas or [{} for _ in texts]
        return self.add_documents([Document(page_content=t, metadata=m) for t, m in zip(texts, metadatas)], ids=ids)

    def _upsert(self, ids: list[str], documents: list[Document], vectors) -> None:
        vectors = _unit_rows(vectors)
        if self._index is None:
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
        self._check_dimension(vectors.shape[1])
        self.delete(ids)
        last = {id_: row for row, id_ in enumerate(ids)}  # an id given twice in one call: the later one wins
        labels = np.arange(self._next_label, self._next_label + len(last), dtype=np.int64)
        self._next_label += len(last)
        self._index.add_with_ids(vectors[list(last.values())], labels)
        for label, (id_, row) in zip(labels.tolist(), last.items()):
            self._label_of[id_], self._id_of[label] = label, id_
            # a deep copy: later changes to the caller's metadata must not leak into the store
            self._docs[id_] = Document(id=id_, page_content=documents[row].page_content,
                                       metadata=copy.deepcopy(documents[row].metadata))

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool:
        """Delete these ids (unknown ones are ignored), or everything when ``ids`` is None."""
        ids = list(self._docs) if ids is None else ids
        labels = [self._label_of.pop(id_) for id_ in dict.fromkeys(ids) if id_ in self._label_of]
        if labels:
            self._index.remove_ids(np.array(labels, dtype=np.int64))
        for label in labels:
            self._docs.pop(self._id_of.pop(label))
        return True

    # -- reading -------------------------------------------------------------------------------------------------

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        return [self._docs[id_].model_copy(deep=True) for id_ in dict.fromkeys(ids) if id_ in self._docs]

    def _ranked(self, embedding, k: int, filter: dict | None) -> list[tuple[int, float]]:
        """(label, cosine) of the ``k`` best documents that pass ``filter``, best first."""
        if self._index is None or self._index.ntotal == 0 or k < 1:
            return []
        query = _unit_rows(embedding)
        self._check_dimension(query.shape[1])
        # A filter is applied after ranking, so rank every row then: exact search over an in-memory store is cheap.
        scores, labels = self._index.search(query, self._index.ntotal if filter else min(k, self._index.ntotal))
        out = []
        for score, label in zip(scores[0].tolist(), labels[0].tolist()):
            metadata = self._docs[self._id_of[label]].metadata
            if not filter or all(key in metadata and metadata[key] == value for key, value in filter.items()):
                out.append((label, min(1.0, max(-1.0, score))))  # float32 rounding can step just past ±1
            if len(out) == k:
                break
        return out

    def similarity_search_with_score_by_vector(
        self, embedding: list[float], k: int = 4, filter: dict | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        ranked = self._ranked(embedding, k, filter)
        return [(self._docs[self._id_of[label]].model_copy(deep=True), score) for label, score in ranked]

    def similarity_search_with_score(self, query: str, k: int = 4, **kwargs: Any) -> list[tuple[Document, float]]:
        return self.similarity_search_with_score_by_vector(self.embedding.embed_query(query), k, **kwargs)

    def similarity_search_by_vector(self, embedding: list[float], k: int = 4, **kwargs: Any) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_with_score_by_vector(embedding, k, **kwargs)]

    def similarity_search(self, query: str, k: int = 4, **kwargs: Any) -> list[Document]:
        return self.similarity_search_by_vector(self.embedding.embed_query(query), k, **kwargs)

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        return lambda cosine: (1.0 + cosine) / 2.0  # cosine in [-1, 1] onto LangChain's relevance range [0, 1]

    def max_marginal_relevance_search_by_vector(
        self, embedding: list[float], k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5, **kwargs: Any
    ) -> list[Document]:
        ranked = self._ranked(embedding, fetch_k, kwargs.get("filter"))
        candidates = [self._index.reconstruct(label) for label, _ in ranked]
        chosen = maximal_marginal_relevance(_unit_rows(embedding)[0], candidates, lambda_mult=lambda_mult, k=k)
        return [self._docs[self._id_of[ranked[i][0]]].model_copy(deep=True) for i in chosen]

    def max_marginal_relevance_search(
        self, query: str, k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5, **kwargs: Any
    ) -> list[Document]:
        return self.max_marginal_relevance_search_by_vector(
            self.embedding.embed_query(query), k, fetch_k, lambda_mult, **kwargs
        )

    def _check_dimension(self, dimension: int) -> None:
        if self._index is not None and dimension != self._index.d:
            raise ValueError(f"embeddings: {dimension} dimensions; this store holds {self._index.d}-dimensional ones")

    # -- making, saving, loading ---------------------------------------------------------------------------------

    @classmethod
    def from_texts(
        cls,
        texts: Iterable[str],
        embedding: Embeddings,
        metadatas: list[dict] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> ReportragVectorStore:
        store = cls(embedding)
        store.add_texts(texts, metadatas, ids=ids)
        return store

    @classmethod
    def from_searcher(cls, searcher: Searcher, embeddings: Embeddings | None = None) -> ReportragVectorStore:
        """Every passage of a built index with the vectors the index already holds: nothing is embedded again.

        ``embeddings`` (default: the searcher's own model) embeds queries and later additions, so it must be the
        model that built the index. The index's vectors embed each passage under a short report/section header
        (``index.store.embedding_text``), so they differ slightly from what ``add_documents`` would compute from the
        bare text. Sidebar copies are kept, with ``duplicate_of`` naming the original, as in the index.
        """
        store = cls(embeddings or ReportragEmbeddings(searcher.embedder))
        documents = [
            Document(
                page_content=p.text,
                metadata={
                    **passage_metadata(p, searcher.documents[p.doc_id].info.short_title),
                    "duplicate_of": p.duplicate_of,
                },
            )
            for p in searcher.passages
        ]
        store._upsert([p.passage_id for p in searcher.passages], documents, searcher.index.passage_vectors)
        return store

    def save_local(self, folder: str | Path) -> None:
        """Write the store as ``store.json`` + ``vectors.faiss`` (no pickle), replacing ``folder`` whole.

        Everything is written to a new folder beside it first, then swapped in, so a failed save leaves the previous
        copy intact. Metadata must be JSON-serializable (``json`` raises ``TypeError`` otherwise).
        """
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex[:12]
        tmp, old = folder.with_name(f".{folder.name}.{tag}.tmp"), folder.with_name(f".{folder.name}.{tag}.old")
        records = [
            {"id": id_, "label": label, "text": self._docs[id_].page_content, "metadata": self._docs[id_].metadata}
            for id_, label in self._label_of.items()
        ]
        try:
            tmp.mkdir()
            if self._index is not None:
                faiss.write_index(self._index, str(tmp / "vectors.faiss"))
            manifest = {"format": STORE_FORMAT, "documents": records}
            (tmp / "store.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
            # A non-empty folder cannot be replaced by one rename: move the old one aside, then the new one in.
            if folder.exists():
                folder.rename(old)
            try:
                tmp.rename(folder)
            except BaseException:
                if old.exists():
                    old.rename(folder)
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load_local(cls, folder: str | Path, embeddings: Embeddings) -> ReportragVectorStore:
        """A store written by ``save_local``; ``IndexNotFound`` (one line naming the folder) if missing or damaged."""
        folder = Path(folder)
        if not (folder / "store.json").is_file():
            raise IndexNotFound(f"{folder}: no saved vector store here (store.json missing); save one with save_local")
        store = cls(embeddings)
        try:
            saved = json.loads((folder / "store.json").read_text(encoding="utf-8"))
            if saved["format"] != STORE_FORMAT:
                raise IndexMismatch(f"{folder}: vector store format {saved['format']!r}, expected {STORE_FORMAT}")
            if saved["documents"] or (folder / "vectors.faiss").exists():
                store._index = faiss.read_index(str(folder / "vectors.faiss"))
            for r in saved["documents"]:
                store._label_of[r["id"]], store._id_of[r["label"]] = r["label"], r["id"]
                store._docs[r["id"]] = Document(id=r["id"], page_content=r["text"], metadata=r["metadata"])
            labels = faiss.vector_to_array(store._index.id_map).tolist() if store._index is not None else []
            if sorted(labels) != sorted(store._id_of) or len(store._docs) != len(saved["documents"]):
                raise ValueError("vectors and documents disagree")
        except IndexMismatch:
            raise
        except Exception as e:  # json, faiss (RuntimeError), a missing key or a wrong type: all mean "damaged"
            raise IndexNotFound(f"{folder}: the saved vector store is damaged ({type(e).__name__}); save again") from e
        store._next_label = max(labels, default=-1) + 1
        return store
