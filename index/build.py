"""Build the search index from ingested reports: embed (through the cache), then faiss + bm25s."""

from __future__ import annotations

import numpy as np
from reportrag.index import search_index as store
from reportrag.index import vectors as vector_index
from reportrag.index.embed import Embedder, EmbeddingCache
from reportrag.index.keyword import KeywordIndex

from reportrag.core.records import Document, Passage


def build(
    corpus: list[tuple[Document, list[Passage]]],
    embedder: Embedder,
    cache: EmbeddingCache,
    *,
    exact_up_to: int = vector_index.EXACT_UP_TO,
    shaped_by: dict | None = None,
) -> tuple[store.SearchIndex, int]:
    """The search index over every passage of ``corpus``, and how many texts had to be embedded afresh.
    ``shaped_by``: the settings that decide what is indexed, recorded (and hashed) in the manifest."""
    passages = [(doc, p) for doc, ps in corpus for p in ps]
    passage_texts = [store.embedding_text(p, doc.info.short_title) for doc, p in passages]
    sentence_texts, owner = [], []
    for row, (doc, p) in enumerate(passages):
        for s in p.sentences:
            sentence_texts.append(doc.text[s.start : s.end])
            owner.append(row)
    passage_vectors, new_p = cache.embed(passage_texts, embedder)
    sentence_vectors, new_s = cache.embed(sentence_texts, embedder)
    cache.save()
    manifest = store.manifest_for(
        embedder.name,
        embedder.dimension,
        {doc.doc_id: doc.sha256 for doc, _ in corpus},
        len(passages),
        len(sentence_texts),
        {**(shaped_by or {}), "exact_up_to": exact_up_to},
    )
    index = store.SearchIndex(
        manifest=manifest,
        passage_ids=[p.passage_id for _, p in passages],
        passages=vector_index.build(passage_vectors, exact_up_to=exact_up_to),
        passage_vectors=passage_vectors,
        sentences=vector_index.build(sentence_vectors, exact_up_to=exact_up_to),
        sentence_vectors=sentence_vectors,
        sentence_owner=np.asarray(owner, dtype=np.int32),
        keyword=KeywordIndex.build(passage_texts),
    )
    return index, new_p + new_s
