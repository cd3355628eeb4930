"""The reports held in memory: what citation lookup, evidence and answers read (the ranker lives in search.py)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reportrag.core.errors import IndexMismatch
from reportrag.core.records import Document, Passage
from reportrag.index import document_store
from reportrag.retrieval.rerank import SectionMap
from reportrag.retrieval.term_stats import TermStats

if TYPE_CHECKING:
    from reportrag.retrieval.filters import Filters

ALLOWED_KEPT = 64  # filters whose rows are remembered: a team asks the same few reports and sections again and again


class Corpus:
    """Documents and passages in index row order, the sidebar copies of each passage, section lookups, and term
    statistics (the index's own counts when it keeps them; else counted from the texts on first use, about 50 ms
    for the two reports and 7 s at 100,000 passages)."""

    def __init__(self, documents: dict[str, Document], passages: list[Passage], *,
                 counted: TermStats | None = None) -> None:
        self.documents = documents
        self._counted = counted
        self.passages = passages
        self.row_of = {p.passage_id: i for i, p in enumerate(passages)}
        self.sections = SectionMap(passages)
        self.copies: dict[str, list[Passage]] = {}
        for p in passages:
            if p.duplicate_of:
                self.copies.setdefault(p.duplicate_of, []).append(p)
        self._allowed: dict[Filters, np.ndarray] = {}

    @classmethod
    def load(cls, index_dir: Path, doc_ids: list[str], passage_ids: list[str], *,
             counted: TermStats | None = None, built: dict[str, str] | None = None) -> Corpus:
        """The stored reports, their passages ordered as the search index's rows; ``built``: each report's build
        hash as the index names it (a record replaced since is an error, not read as another version)."""
        documents: dict[str, Document] = {}
        by_id: dict[str, Passage] = {}
        for doc_id, (document, passages) in zip(doc_ids, document_store.load_many(index_dir, doc_ids, built=built)):
            documents[doc_id] = document
            by_id.update((p.passage_id, p) for p in passages)
        missing = [pid for pid in passage_ids if pid not in by_id]
        if missing:
            raise IndexMismatch(f"search index and reports disagree ({len(missing)} passages); run 'reportrag ingest'")
        return cls(documents, [by_id[pid] for pid in passage_ids], counted=counted)

    def original(self, passage: Passage) -> Passage:
        """The passage a sidebar copy repeats (itself when it is no copy, or its original is not indexed)."""
        row = self.row_of.get(passage.duplicate_of or passage.passage_id)
        return passage if row is None else self.passages[row]

    @cached_property
    def responding(self) -> list[Passage]:
        """The passages answering a paragraph of a Committee's concluding observations (sidebar copies left out):
        what a question naming one is answered from, gathered once instead of per question."""
        return [p for p in self.passages if p.concluding_observations and not p.duplicate_of]

    @cached_property
    def rows_of_report(self) -> dict[str, np.ndarray]:
        rows: dict[str, list[int]] = {}
        for row, p in enumerate(self.passages):
            rows.setdefault(p.doc_id, []).append(row)
        return {doc_id: np.array(r, dtype=np.int64) for doc_id, r in rows.items()}

    def allowed_rows(self, filters: Filters) -> np.ndarray:
        """The rows ``filters`` allow, ascending (remembered for the last few filters: at a million passages a
        section filter over every report takes about a second to test)."""
        rows = self._allowed.get(filters)
        if rows is None:
            within = self.rows_of_report.get(filters.doc, np.zeros(0, np.int64)) if filters.doc else range(
                len(self.passages))
            rows = np.array([r for r in within if filters.allows(self.passages[r])], dtype=np.int64)
            if len(self._allowed) >= ALLOWED_KEPT:
                self._allowed.pop(next(iter(self._allowed)), None)
            self._allowed[filters] = rows
        return rows

    @cached_property
    def term_stats(self) -> TermStats:
        """Sentence-level document frequencies over every passage's sentences (the same either way: tested)."""
        return self._counted or TermStats.over(
            self.documents[p.doc_id].text[s.start : s.end] for p in self.passages for s in p.sentences
        )
