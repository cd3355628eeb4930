"""The offline corpus of the shard benchmark (eval/shard_bench.py): the two bundled reports replicated under
distinct ids, and a "replay" embedder that gives every copy's text the real all-MiniLM-L6-v2 vector of the text it
copies, plus deterministic noise.

A copy is the original report with
- a new id (``review-c00012``), every passage id, paragraph, section and footnote rewritten to it;
- a distinct short title (``Annual Review 2022~c00012``: the tag is glued to the last word, so the passage header
  keeps its word count and is cut at 30 words exactly where the original's is), so passage texts differ;
- distinct sentence texts: in each sentence the first few ASCII spaces are swapped for other spaces (tab, NBSP,
  thin space, narrow NBSP) that spell the copy number in base 5. The length never changes, so every offset,
  paragraph and passage stays where it was (``passage.text == document.text[start:end]`` still holds); words split
  the same way for BM25. A sentence with fewer spaces than digits may repeat in copies far apart (few, very short);
- a distinct source sha256, so nothing takes two copies for one file.

The replay embedder maps a copy's text back to the original text (tag dropped, spaces plain) and returns its real
vector plus gaussian noise N(0, σ²/d) per dimension, renormalised, drawn from a fixed pool by the text's sha1 (the
same text always gets the same vector). σ = 1, as in BENCHMARKS.md §6: a copy sits at cosine ≈ 0.71 from its real
vector, so a question's top 10 mixes several sources (a small σ would make it ten copies of one passage and the
recall of an approximate index trivially 1). Only the index is measured with these vectors; questions are embedded
by the real model.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from reportrag.core.records import Document, Passage

SPACES = (" ", "\t", "\u00a0", "\u2009", "\u202f")  # base-5 digits of the copy number; " " is 0
DIGITS = 5  # spaces rewritten per sentence: 5**5 = 3,125 copies of each report before texts repeat
_ODD_SPACE = re.compile("[" + "".join(SPACES[1:]) + "]")
_TAG = re.compile(r"~c\d{5}")
POOL = 1 << 16  # noise vectors drawn once; a text's noise is the mean of two of them picked by its sha1


def copy_id(doc_id: str, copy: int) -> str:
    return f"{doc_id}-c{copy:05d}"


def plain(text: str) -> str:
    """The original text of a copy's text (and any original text unchanged but for its odd spaces)."""
    return _ODD_SPACE.sub(" ", _TAG.sub("", text))


def replicate(document: Document, passages: list[Passage], copy: int, *,
              max_sentences: int | None = None) -> tuple[Document, list[Passage], dict]:
    """Copy ``copy`` (≥ 1) of a report: (document, passages, build info for ``document_store.save``).
    ``max_sentences``: keep only each passage's first sentences (a thinned index, where the full one won't fit)."""
    old, new = document.doc_id, copy_id(document.doc_id, copy)
    if max_sentences is not None:
        passages = [replace(p, sentences=p.sentences[:max_sentences]) for p in passages]
    text = _respace(document.text, [s for p in passages for s in p.sentences], copy)

    def pid(passage_id: str | None) -> str | None:
        return None if passage_id is None else new + passage_id[len(old):]

    sha = hashlib.sha256(f"{document.sha256}:{new}".encode()).hexdigest()
    info = replace(document.info, doc_id=new, short_title=f"{document.info.short_title}~c{copy:05d}",
                   title=f"{document.info.title} (copy {copy})", file="")
    doc = replace(
        document, info=info, sha256=sha, text=text,
        sections=tuple(replace(s, doc_id=new) for s in document.sections),
        paragraphs=tuple(replace(p, doc_id=new, text=text[p.start:p.end]) for p in document.paragraphs),
        footnotes=tuple(replace(f, doc_id=new) for f in document.footnotes),
    )
    copies = [replace(p, passage_id=pid(p.passage_id), doc_id=new, text=text[p.start:p.end],
                      duplicate_of=pid(p.duplicate_of)) for p in passages]
    build = {"pipeline": "bench-replica", "max_tokens": None, "sha256": sha,
             "info": hashlib.sha256(json.dumps(asdict(info), sort_keys=True).encode()).hexdigest()[:16]}
    return doc, copies, build


def _respace(text: str, sentences, copy: int) -> str:
    chars = list(text)
    digits = [(copy // 5**i) % 5 for i in range(DIGITS)]
    for span in sentences:
        at = span.start
        for digit in digits:
            at = text.find(" ", at, span.end)
            if at < 0:
                break
            chars[at] = SPACES[digit]
            at += 1
    return "".join(chars)


class ReplayEmbedder:
    """``TextEmbedder`` for the copies: each text's original real vector plus noise. ``name`` is the real model's,
    so the index and the cache take its vectors for the model's own (the real model adds to the same index)."""

    def __init__(self, name: str, texts: list[str], vectors: np.ndarray, *, sigma: float = 1.0,
                 max_seq_length: int = 256) -> None:
        self.name, self.dimension, self.max_seq_length = name, int(vectors.shape[1]), max_seq_length
        self.sigma = sigma
        self._rows = {plain(t): i for i, t in enumerate(texts)}
        self._vectors = np.asarray(vectors, dtype=np.float32)
        self._pool = np.random.default_rng(20261126).standard_normal((POOL, self.dimension)).astype(np.float32)
        self.encoded = 0
        self.unknown = 0  # texts whose original was not among ``texts``: noise alone (reported; should stay 0)

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), np.float32)
        for start in range(0, len(texts), 65_536):  # bounded temporaries at a million texts
            part = texts[start:start + 65_536]
            rows = np.array([self._rows.get(plain(t), -1) for t in part])
            digests = b"".join(hashlib.sha1(t.encode()).digest()[:8] for t in part)
            picks = np.frombuffer(digests, np.uint32).reshape(-1, 2) % POOL
            noise = (self._pool[picks[:, 0]] + self._pool[picks[:, 1]]) * np.float32(self.sigma / np.sqrt(2 * self.dimension))
            base = np.where((rows >= 0)[:, None], self._vectors[np.maximum(rows, 0)], 0)
            v = base + noise
            out[start:start + len(part)] = v / np.linalg.norm(v, axis=1, keepdims=True)
            self.unknown += int((rows < 0).sum())
        self.encoded += len(texts)
        return out


def original_texts(corpus: list[tuple[Document, list[Passage]]]) -> list[str]:
    """The distinct texts the index embeds for the originals: passages with their header, then sentences."""
    from reportrag.index.search_index import embedding_text

    texts = [embedding_text(p, doc.info.short_title) for doc, ps in corpus for p in ps]
    texts += [doc.text[s.start:s.end] for doc, ps in corpus for p in ps for s in p.sentences]
    return list(dict.fromkeys(texts))


def save_originals(folder: Path, texts: list[str], vectors: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    np.save(folder / "vectors.npy", np.asarray(vectors, np.float32), allow_pickle=False)


def load_originals(folder: Path) -> tuple[list[str], np.ndarray]:
    return (json.loads((folder / "texts.json").read_text(encoding="utf-8")),
            np.load(folder / "vectors.npy", allow_pickle=False))
