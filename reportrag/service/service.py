"""The calls the CLI, the HTTP API and the web app share, over one searcher loaded once.

Each skin turns these results into its own form (``to_json`` for the CLI's ``--json`` and the API, HTML for the
app), so the three can never disagree about an answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import asdict

from reportrag.answers import citations, extractive
from reportrag.core.records import Answer, Document, Hit
from reportrag.core.settings import Settings
from reportrag.retrieval.search import MODES, Filters, Searcher
from reportrag.service import ingesting as corpus
from reportrag.service.ingesting import IngestResult


class Service:
    """One searcher (the model loads once) and the optional chat model. Searches run one at a time: on a few
    cores, parallel encodes only fight over them, and the searcher's lazily filled caches need no locks then."""

    def __init__(self, settings: Settings, searcher: Searcher | None = None, *, chat_model=None,
                 unverified: str | None = None) -> None:
        self.settings = settings
        chat = chat_model if chat_model is not None else settings.chat_model
        # a misconfigured chat model fails before the seconds spent loading the searcher
        self.chat_model = _chat_model(chat) if isinstance(chat, str) else chat
        self.searcher = searcher or corpus.open_searcher(settings)
        self.unverified = unverified or settings.unverified
        self._lock = threading.Lock()
        self._documents: list[dict] | None = None
        self._citations: citations.Citations | None = None  # built on the first cite, again after the searcher changes

    def warm_up(self) -> None:
        """Pay every first-call cost now (torch's first encode, term statistics, the quote finder's folded texts),
        so the first user's question does not."""
        first = self.searcher.passages[0]
        self.ask(first.text[:200])
        self.cite(quote=first.text[:80])

    def documents(self) -> list[dict]:
        if self._documents is None:
            self._documents = corpus.list_documents(self.settings)
        return self._documents

    def document(self, doc_id: str) -> Document:
        if doc_id not in self.searcher.documents:
            known = ", ".join(self.searcher.documents)
            raise citations.UnknownCitation(f"doc_id: no report {doc_id!r} in the index; known: {known}")
        return self.searcher.documents[doc_id]

    def document_json(self, doc_id: str) -> dict:
        data = asdict(self.document(doc_id))
        return {**data.pop("info"), **data}

    def search(self, query: str, *, k: int = 10, mode: str = MODES[0], filters: Filters = Filters()) -> list[Hit]:
        with self._lock:
            return self.searcher.search(query, k=k, mode=mode, filters=filters)

    def ask(self, question: str, *, filters: Filters = Filters()) -> Answer:
        for item in self.stream(question, filters=filters):
            if isinstance(item, Answer):
                return item
        raise AssertionError("stream ended without an answer")  # stream always ends with one

    def stream(self, question: str, *, filters: Filters = Filters()) -> Iterator[str | Answer]:
        """A generated answer's text as it arrives, then the checked ``Answer``; extractive: the ``Answer`` only."""
        if self.chat_model is None:
            with self._lock:
                yield extractive.answer(self.searcher, question, filters=filters)
            return
        from reportrag.answers import generate

        with self._lock:
            hits = self.searcher.search(question, k=extractive.SEARCH_DEPTH, filters=filters)
        yield from generate.stream_answer(question, hits, self.searcher.documents, self.chat_model,
                                          unverified=self.unverified)

    def add_reports(self, paths: list) -> IngestResult:
        """Ingest files into the index and serve the new index from then on; bad files are reported, not raised."""
        with self._lock:
            result = corpus.ingest_reports(self.settings, paths)
            if result.added:
                self.searcher = corpus.open_searcher(self.settings, self.searcher.embedder)
                self._documents = None
                self._citations = None  # it folded the old corpus's reports
            return result

    def cite(self, ident: str | None = None, quote: str | None = None, doc: str | None = None):
        with self._lock:
            if self._citations is None:
                self._citations = citations.Citations(self.searcher)
            return self._citations.resolve(ident=ident, quote=quote, doc=doc)


def _chat_model(setting: str):
    from reportrag.answers import (
        generate,  # LangChain's chat-model layer: imported only when a chat model is configured
    )

    return generate.chat_model_from_env(setting)
