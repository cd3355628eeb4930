"""The front door: every skin (CLI, HTTP API, web app, LangChain adapters) calls these methods and nothing below.

Each skin turns the results into its own form (``to_json`` for the CLI's ``--json`` and the API, HTML for the
app), so they can never disagree about an answer. Reads of the stored reports (``documents``, ``document``,
``passages``, ``co``) never load the model; nothing here ingests unless asked to (``ingest``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

from threadpoolctl import threadpool_limits

from reportrag.answers import citations, extractive, followup, language, scope, tracker
from reportrag.core.errors import ReportragError
from reportrag.core.files import reader_lock
from reportrag.core.records import Answer, Document, Hit, Passage
from reportrag.core.settings import Settings
from reportrag.index import document_store, search_index
from reportrag.retrieval.filters import check_filters
from reportrag.retrieval.search import MODES, Filters, Searcher, clean_query
from reportrag.service import ingesting
from reportrag.service.ingesting import IngestResult

Progress = Callable[[str], None]
log = logging.getLogger(__name__)


class Service:
    """The stored reports, one searcher (loaded on first use: the model loads once) and the optional chat model.

    Requests run concurrently: their query embeddings meet in one forward pass (``BatchingEmbedder``) and the
    scoring after it runs in each request's own thread, with numpy's BLAS held to one thread (its idle threads
    spinning after each product slowed the next embedding by 1.6×). Changing the index (``ingest``, ``remove``)
    takes the lock and swaps in a new searcher; a request under way finishes on the one it started with. When
    another process changes the index (a colleague's ``reportrag ingest``, another worker's upload), the next
    request sees the manifest switched (one ``stat``) and the new index is opened in the background, then served
    (``follow_index``); until then, or if it cannot be opened, the one open is."""

    def __init__(self, settings: Settings, searcher: Searcher | None = None, *, chat_model=None,
                 unverified: str | None = None) -> None:
        self.settings = settings
        chat = chat_model if chat_model is not None else settings.generation.chat_model
        # a misconfigured chat model fails before the seconds spent loading the searcher
        self.chat_model = _chat_model(chat) if isinstance(chat, str) else chat
        self.unverified = unverified or settings.generation.unverified
        self._searcher = searcher
        self._lock = threading.RLock()
        self._documents: tuple[tuple | None, list[dict]] | None = None  # (the manifest it was read under, the list)
        self._blas = threadpool_limits(limits=1, user_api="blas")  # kept: the limit lasts as long as the service
        self._citations: citations.Citations | None = None  # built on the first cite, again when the corpus changes
        # follow the index as other processes change it: only a searcher this service opened from its settings (one
        # handed in, say over a Ray cluster, is the caller's to replace)
        self._follows = searcher is None and settings.server.follow_index
        self._follower: threading.Thread | None = None  # opening the index another process changed
        self._follow_lock = threading.Lock()  # not the service's lock: an ingest of our own holds that for minutes
        # the manifest it last tried to open (a failure is not retried until it changes; none yet: an object no stamp equals)
        self._followed: object = object()

    @property
    def searcher(self) -> Searcher:
        searcher = self._searcher
        if searcher is None:
            with self._lock:
                if self._searcher is None:
                    embedder = ingesting.make_query_embedder(self.settings)
                    self._searcher = ingesting.open_searcher(self.settings, embedder)
                searcher = self._searcher
        elif self._follows:
            self._follow(searcher)
        return searcher

    def _follow(self, searcher: Searcher) -> None:
        """Open, in the background, the index another process switched to since ``searcher`` was opened."""
        live = search_index.manifest_stamp(self.settings.index.index_dir)
        if live == searcher.index.stamp or live == self._followed:
            return
        with self._follow_lock:
            if self._searcher is not searcher or (self._follower and self._follower.is_alive()) or live == self._followed:
                return
            self._followed = live
            self._follower = threading.Thread(target=self._reopen_followed, args=(searcher,), daemon=True,
                                              name="reportrag-follow-index")
            self._follower.start()

    def _reopen_followed(self, opened: Searcher) -> None:
        index_dir = self.settings.index.index_dir
        try:
            with reader_lock(index_dir):  # after a writer under way: its change whole
                followed = (ingesting.open_searcher(self.settings, opened.embedder)
                            if document_store.doc_ids(index_dir) else None)
        except ReportragError as e:
            log.warning("the index was changed by another process and cannot be opened (%s); still serving the one open", e)
            return
        except Exception:  # a thread of its own: whatever went wrong, the requests keep the index open
            log.exception("the index was changed by another process and cannot be opened; still serving the one open")
            return
        with self._lock:
            if self._searcher is opened:  # else this process changed it meanwhile, and serves its own change
                self._searcher = followed  # the reports list follows the manifest by itself (``documents``)

    def embedder(self):
        """The embedding model: the searcher's when loaded, else loaded now (BEIR runs embed without an index)."""
        return self._searcher.embedder if self._searcher is not None else ingesting.make_embedder(self.settings)

    def warm_up(self) -> None:
        """Pay every first-call cost now (the model, torch's first encode, term statistics, the quote finder's
        folded texts), so the first user's question does not."""
        first = self.searcher.passages[0]
        self.ask(first.text[:200])
        self.cite(quote=first.text[:80])

    # reading the stored reports: no model, no ingest
    def documents(self) -> list[dict]:
        """The reports list (from the catalog), read again when the index has changed since (here or elsewhere)."""
        index_dir = self.settings.index.index_dir
        live = search_index.manifest_stamp(index_dir)
        listed = self._documents
        if listed is None or listed[0] != live:
            listed = self._documents = (live, document_store.summaries(index_dir, ingesting.require_index(self.settings)))
        return listed[1]

    def document(self, doc_id: str) -> Document:
        if self._searcher is not None and doc_id in self._searcher.documents:
            return self._searcher.documents[doc_id]  # already in memory
        return self._stored(doc_id)[0]

    def document_json(self, doc_id: str) -> dict:
        data = asdict(self.document(doc_id))
        return {**data.pop("info"), **data}

    def passages(self, doc_id: str) -> list[Passage]:
        return self._stored(doc_id)[1]

    def co(self) -> list[tracker.TrackedObservation]:
        """The concluding-observations tracker: every Committee paragraph the reports respond to, with the
        responding paragraphs and the status the report states (quoted). Read from the index, no model."""
        if self._searcher is not None:
            return tracker.tracker(self._searcher)
        stored = document_store.load_many(self.settings.index.index_dir, ingesting.require_index(self.settings))
        return tracker.track({d.doc_id: d for d, _ in stored}, [p for _, ps in stored for p in ps])

    def _stored(self, doc_id: str) -> tuple[Document, list[Passage]]:
        known = ingesting.require_index(self.settings)
        if doc_id not in known:
            raise citations.UnknownCitation(f"{doc_id}: no such report in the index; known: {', '.join(known)}")
        return document_store.load(self.settings.index.index_dir, doc_id)

    # searching and answering
    def search(self, query: str, *, k: int = 10, mode: str = MODES[0], filters: Filters = Filters()) -> list[Hit]:
        return self.search_batch([query], k=k, mode=mode, filters=filters)[0]

    def search_batch(self, queries: list[str], *, k: int = 10, mode: str = MODES[0],
                     filters: Filters = Filters()) -> list[list[Hit]]:
        searcher = self.searcher
        check_filters(searcher.corpus, filters)
        return searcher.batch(queries, k=k, mode=mode, filters=filters)

    def check_filters(self, filters: Filters) -> None:
        """``BadFilter`` naming the choices when a filter matches nothing (before a batch, say); search, ask and
        stream check their filters themselves."""
        check_filters(self.searcher.corpus, filters)

    def ask(self, question: str, *, filters: Filters = Filters(), previous: str = "") -> Answer:
        for item in self.stream(question, filters=filters, previous=previous):
            if isinstance(item, Answer):
                return item
        raise AssertionError("stream ended without an answer")  # stream always ends with one

    def stream(self, question: str, *, filters: Filters = Filters(), previous: str = "") -> Iterator[str | Answer]:
        """A generated answer's text as it arrives, then the checked ``Answer``; extractive: the ``Answer`` only.
        ``previous``: the question asked before, by which a follow-up ("And the review?") is read."""
        searcher = self.searcher  # the same index for the whole answer, whatever an ingest does meanwhile
        check_filters(searcher.corpus, filters)  # a filter matching nothing is an error, not "not in the reports"
        read = followup.read_with(question, previous, searcher.documents)
        for item in self._stream(searcher, read, filters):
            yield followup.as_asked(item, question, read) if isinstance(item, Answer) else item

    def _stream(self, searcher: Searcher, question: str, filters: Filters) -> Iterator[str | Answer]:
        if self.chat_model is None:
            yield extractive.answer(searcher, question, filters=filters, settings=self.settings.answers)
            return
        yield from self._generated(searcher, question, filters)

    def _generated(self, searcher: Searcher, question: str, filters: Filters) -> Iterator[str | Answer]:
        from reportrag.answers import generate

        clean_query(question)  # an empty or huge question is refused first, as in extractive answers
        refusal = language.not_english(question)
        if refusal is not None:
            yield scope.with_filters(refusal, filters, searcher.documents)
            return
        searched, named = scope.narrowed(clean_query(question), filters, searcher.documents)  # "What does the review …"
        hits = searcher.search(question, k=self.settings.answers.search_depth, filters=searched)
        for item in generate.stream_answer(question, hits, searcher.documents, self.chat_model,
                                           unverified=self.unverified):
            yield (scope.with_filters(item, filters, searcher.documents, named=named) if isinstance(item, Answer)
                   else item)

    def cite(self, ident: str | None = None, quote: str | None = None, doc: str | None = None):
        """A passage id, anchor or reference, or a pasted quote, back to its place in the reports."""
        searcher = self.searcher
        corpus = searcher.corpus
        with self._lock:  # folding the reports happens once per corpus
            if self._citations is None or self._citations.corpus is not corpus:
                # the search index's keyword scores say where to seek the closest text to a quote in a large corpus
                keyword = lambda text: searcher.scores(text, None, "keyword")  # noqa: E731
                self._citations = citations.Citations(corpus, keyword=keyword)
            found = self._citations
        return found.resolve(ident=ident, quote=quote, doc=doc)

    # changing the index
    def ingest(self, paths: list[Path] | None = None, progress: Progress = lambda _: None) -> IngestResult:
        """Ingest the bundled reports (no paths) or files; bad files are reported, not raised. The new index is
        served from then on."""
        with self._lock:
            result = ingesting.ingest_reports(self.settings, paths or None, progress=progress)
            if result.added:
                self._reopen()
            return result

    def add_reports(self, paths: list) -> IngestResult:
        """Files a user added (the web app's upload): ``ingest`` of exactly those."""
        return self.ingest(list(paths))

    def model(self, *, verify: bool = False, progress: Progress = lambda _: None) -> dict:
        """The embedding model in force, made ready without loading it (mpnet assembled from its parts and
        verified the first time; ``verify``: every file hashed again): name, setting, folder, dimension."""
        return ingesting.prepare_model(self.settings, verify=verify, progress=progress)

    def remove(self, doc_id: str, progress: Progress = lambda _: None) -> None:
        with self._lock:
            ingesting.remove_report(self.settings, doc_id, progress=progress)
            self._reopen()

    def compact(self, progress: Progress = lambda _: None) -> dict:
        """Merge the index's shards into one; searches return what they returned before."""
        with self._lock:
            result = ingesting.compact(self.settings, progress=progress)
            self._reopen()
            return result

    def _reopen(self) -> None:
        """Serve the index just written; the model already loaded is kept (the reports list follows the manifest
        by itself: ``documents``)."""
        if self._searcher is not None:
            embedder = self._searcher.embedder
            self._searcher = None
            if document_store.doc_ids(self.settings.index.index_dir):
                self._searcher = ingesting.open_searcher(self.settings, embedder)
                self._follows = self.settings.server.follow_index


def _chat_model(setting: str):
    from reportrag.answers import generate  # LangChain's chat-model layer: imported only when a chat model is configured

    return generate.chat_model_from_env(setting)
