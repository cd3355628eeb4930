"""Build one shard of the search index from ingested reports: embed (through the cache), then faiss + postings."""

from __future__ import annotations

import numpy as np
from reportrag.index import shards
from reportrag.index.search_index import embedding_text
from reportrag.index import vectors as vector_index
from reportrag.index.embed import EmbeddingCache, TextEmbedder
from reportrag.index.keyword import Postings

from reportrag.core.records import Document, Passage


def build(
    corpus: list[tuple[Document, list[Passage]]],
    embedder: TextEmbedder,
    cache: EmbeddingCache,
    *,
    exact_up_to: int = vector_index.EXACT_UP_TO,
) -> tuple[shards.Shard, int]:
    """A shard over every passage of ``corpus`` (reports in id order), and how many texts were embedded afresh."""
    corpus = sorted(corpus, key=lambda item: item[0].doc_id)
    passages = [(doc, p) for doc, ps in corpus for p in ps]
    passage_texts, sentence_texts, owner = embedding_texts(corpus)
    passage_vectors, new_p = cache.embed(passage_texts, embedder)
    sentence_vectors, new_s = cache.embed(sentence_texts, embedder)
    cache.save()
    position = {doc.doc_id: i for i, (doc, _) in enumerate(corpus)}
    shard = shards.Shard(
        name=shards.new_name(), model=embedder.name, dimension=embedder.dimension,
        reports={doc.doc_id: doc.sha256 for doc, _ in corpus},
        passage_ids=[p.passage_id for _, p in passages],
        passage_docs=np.asarray([position[doc.doc_id] for doc, _ in passages], dtype=np.int32),
        passage_vectors=passage_vectors,
        passages=vector_index.build(passage_vectors, exact_up_to=exact_up_to),
        sentence_vectors=sentence_vectors,
        sentence_owner=np.asarray(owner, dtype=np.int32),
        sentences=vector_index.build(sentence_vectors, exact_up_to=exact_up_to),
        text_keys=np.asarray([cache.key(t) for t in passage_texts + sentence_texts], dtype="S40"),
        postings=Postings.build(passage_texts),
        sentence_terms=sentence_term_counts(corpus),
    )
    return shard, new_p + new_s


def sentence_term_counts(corpus: list[tuple[Document, list[Passage]] | None]) -> Postings:
    """Per report (in the given order; None: a report whose counts are not wanted, counted as no sentences), how
    many of its sentences hold each term: the answers' term statistics, summed over live reports at search time."""
    groups: list[list[str]] = []
    for item in corpus:
        document, passages = item if item is not None else (None, [])
        groups.append([document.text[s.start : s.end] for p in passages for s in p.sentences])
    return Postings.counted(groups)


def embedding_texts(corpus: list[tuple[Document, list[Passage]]]) -> tuple[list[str], list[str], list[int]]:
    """What a shard over ``corpus`` (in the given order) embeds: each passage's text with its header, each
    sentence's text, and the passage row each sentence belongs to."""
    passage_texts, sentence_texts, owner = [], [], []
    for doc, ps in corpus:
        for p in ps:
            passage_texts.append(embedding_text(p, doc.info.short_title))
            for s in p.sentences:
                sentence_texts.append(doc.text[s.start : s.end])
                owner.append(len(passage_texts) - 1)
    return passage_texts, sentence_texts, owner
