"""One immutable shard of the search index: the passages of the reports one ingest added, with their vectors,
faiss indexes and keyword postings. A shard is written once and never changed; removing a report only lists it
as removed in the index manifest (search_index.py), and compaction writes a new shard from old ones.

    shards/<name>/shard.json          format, model, dimension, reports (id → sha256, in row order), counts, the
                                      sha256 of every other file (written last: a shard without it is unfinished)
    shards/<name>/passage_ids.json, passage_docs.npy (each row's report, an index into ``reports``)
    shards/<name>/passage_vectors.npy, passages.faiss, sentence_vectors.npy, sentence_owner.npy, sentences.faiss
    shards/<name>/text_keys.npy       the embedding cache key of each passage, then each sentence (cache GC)
    shards/<name>/keyword/            vocabulary and term-frequency postings (keyword.Postings)
    shards/<name>/sentence_terms/     per report, how many of its sentences hold each term (``Postings.counted``):
                                      the answers' term statistics, summed without tokenizing the corpus again
                                      (absent from shards written before it: the searcher then counts from texts)

Rows are grouped by report, reports in id order, so the searcher can lay shards out in one canonical order.
Nothing is unpickled (``np.load(allow_pickle=False)``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from reportrag.index import vectors as vector_index
from reportrag.index.keyword import Postings

from reportrag.core.files import fsync_folder, fsync_tree, write_atomic

FORMAT_VERSION = 1
SHARD_NAME = re.compile(r"shard-[0-9a-f]{12}")  # what a manifest may name: never a path out of shards/


class ShardDamaged(Exception):
    """A shard is missing, unfinished or its files do not match their recorded hashes."""


@dataclass
class Shard:
    name: str
    model: str
    dimension: int
    reports: dict[str, str]  # report id → sha256 of its source, in row order
    passage_ids: list[str]
    passage_docs: np.ndarray  # int32: index into ``reports`` of each row
    passage_vectors: np.ndarray
    passages: faiss.Index
    sentence_vectors: np.ndarray
    sentence_owner: np.ndarray  # int32: the passage row of each sentence, ascending
    sentences: faiss.Index
    text_keys: np.ndarray  # embedding cache keys: passages, then sentences
    postings: Postings
    sentence_terms: Postings | None = None  # rows are ``reports``, in order

    @property
    def report_ids(self) -> list[str]:
        return list(self.reports)


def new_name() -> str:
    return f"shard-{uuid.uuid4().hex[:12]}"


def write(base: Path, shard: Shard) -> Path:
    """Write the shard into ``base`` (a temporary folder first, every file fsynced, then one rename)."""
    base.mkdir(parents=True, exist_ok=True)
    tmp = base / f".{shard.name}.tmp"
    tmp.mkdir()
    write_atomic(tmp / "passage_ids.json", json.dumps(shard.passage_ids))
    for name in ("passage_docs", "passage_vectors", "sentence_vectors", "sentence_owner", "text_keys"):
        np.save(tmp / f"{name}.npy", getattr(shard, name), allow_pickle=False)
    vector_index.save(shard.passages, tmp / "passages.faiss")
    vector_index.save(shard.sentences, tmp / "sentences.faiss")
    shard.postings.save(tmp / "keyword")
    if shard.sentence_terms is not None:
        shard.sentence_terms.save(tmp / "sentence_terms")
    # written last, with every part's hash: a part damaged or swapped later (same size, valid header, wrong
    # numbers) is caught on load instead of silently giving wrong scores
    header = {"format": FORMAT_VERSION, "model": shard.model, "dimension": shard.dimension, "reports": shard.reports,
              "passages": len(shard.passage_ids), "sentences": len(shard.sentence_owner), "files": _file_hashes(tmp)}
    write_atomic(tmp / "shard.json", json.dumps(header, indent=1))
    fsync_tree(tmp)  # every part on disk before the rename: a power cut never leaves a manifest naming half a shard
    folder = base / shard.name
    tmp.rename(folder)
    fsync_folder(base)
    return folder


def read(base: Path, name: str, *, model: str) -> Shard:
    """The shard ``name``, every file checked against its recorded hash; ``ShardDamaged`` says what is wrong."""
    if not SHARD_NAME.fullmatch(str(name)):
        raise ShardDamaged(f"{str(name)[:40]!r} is not a shard name")
    folder = base / name
    try:
        header = json.loads((folder / "shard.json").read_text(encoding="utf-8"))
        if not isinstance(header, dict) or header.get("format") != FORMAT_VERSION:
            raise ValueError("unknown format")
        if header.get("model") != model:
            raise ValueError(f"built with model {header.get('model')!r}, not {model!r}")
        if _file_hashes(folder) != header.get("files"):
            raise ValueError("a part is missing or changed")
        shard = Shard(
            name=name, model=model, dimension=int(header["dimension"]), reports=dict(header["reports"]),
            passage_ids=json.loads((folder / "passage_ids.json").read_text(encoding="utf-8")),
            passage_docs=_npy(folder / "passage_docs.npy"),
            passage_vectors=_npy(folder / "passage_vectors.npy"),
            passages=vector_index.load(folder / "passages.faiss"),
            sentence_vectors=_npy(folder / "sentence_vectors.npy"),
            sentence_owner=_npy(folder / "sentence_owner.npy"),
            sentences=vector_index.load(folder / "sentences.faiss"),
            text_keys=_npy(folder / "text_keys.npy"),
            postings=Postings.load(folder / "keyword"),
            sentence_terms=Postings.load(folder / "sentence_terms") if _keeps_sentence_terms(header) else None,
        )
        if not _fits(shard, header):
            raise ValueError("its parts disagree on their sizes")
    except ShardDamaged:
        raise
    except Exception as e:  # OSError, JSON, numpy, faiss (RuntimeError), shapes: all mean "damaged"
        raise ShardDamaged(f"{name}: {e}") from e
    return shard


def read_sentence_terms(base: Path, name: str, *, model: str) -> Postings | None:
    """Only the shard's per-report sentence term counts (None for a shard written before them), their files checked
    against the header: what a process that searches through other holders of the shards (cluster serving) needs
    of them, without reading or hashing vectors."""
    if not SHARD_NAME.fullmatch(str(name)):
        raise ShardDamaged(f"{str(name)[:40]!r} is not a shard name")
    folder = base / name
    try:
        header = json.loads((folder / "shard.json").read_text(encoding="utf-8"))
        if not isinstance(header, dict) or header.get("format") != FORMAT_VERSION or header.get("model") != model:
            raise ValueError("unknown format or another model")
        listed = {f: h for f, h in header["files"].items() if f.startswith("sentence_terms/")}
        if not listed:
            return None
        if any(_sha256(folder / f) != h for f, h in listed.items()):
            raise ValueError("its sentence term counts changed")
        counts = Postings.load(folder / "sentence_terms")
        counted = int(counts.lengths.sum(dtype=np.int64))
        if len(counts.lengths) != len(header["reports"]) or counted != header["sentences"]:
            raise ValueError("its sentence term counts do not fit its reports")
        return counts
    except ShardDamaged:
        raise
    except Exception as e:  # OSError, JSON, numpy, missing keys: all mean "damaged"
        raise ShardDamaged(f"{name}: {e}") from e


def keeps_sentence_terms(base: Path, name: str) -> bool:
    """Does the shard's header list sentence term counts? (Its header alone is read: shards written before the
    counts were kept say no.)"""
    try:
        return _keeps_sentence_terms(json.loads((base / name / "shard.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _keeps_sentence_terms(header: dict) -> bool:
    return "sentence_terms/vocab.json" in header["files"]


def present(base: Path, name: str, reports: dict[str, str]) -> bool:
    """The shard's header reads, names these reports, and every file it lists is there (no hashing)."""
    try:
        header = json.loads((base / name / "shard.json").read_text(encoding="utf-8"))
        return (bool(SHARD_NAME.fullmatch(name)) and header["reports"] == reports
                and all((base / name / f).is_file() for f in header["files"]))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _npy(path: Path) -> np.ndarray:
    # memory-mapped: a shard's vectors are paged in as the searcher reads them, and the OS shares them between
    # processes serving the same index
    return np.load(path, mmap_mode="r", allow_pickle=False)


def _fits(shard: Shard, header: dict) -> bool:
    n, m = len(shard.passage_ids), len(shard.sentence_owner)
    owner = shard.sentence_owner
    return bool(
        isinstance(shard.passage_ids, list) and all(isinstance(p, str) for p in shard.passage_ids)
        and n == header["passages"] == len(shard.passage_docs) == len(shard.passage_vectors) == shard.passages.ntotal
        == len(shard.postings.lengths)
        and m == header["sentences"] == len(shard.sentence_vectors) == shard.sentences.ntotal
        and len(shard.text_keys) == n + m
        and shard.passage_vectors.shape[1:] == shard.sentence_vectors.shape[1:] == (shard.dimension,)
        # rows are grouped by report, in the order of ``reports``: the searcher slices them by bisection
        and (n == 0 or (0 <= int(shard.passage_docs.min()) and int(shard.passage_docs.max()) < len(shard.reports)
                        and bool(np.all(np.diff(shard.passage_docs) >= 0))))
        # the searcher slices sentences by owner: in range and in order, or it fails later
        and (m == 0 or (0 <= int(owner.min()) and int(owner.max()) < n and bool(np.all(np.diff(owner) >= 0))))
        # one row of sentence counts per report, and as many sentences counted as the shard holds
        and (shard.sentence_terms is None or (len(shard.sentence_terms.lengths) == len(shard.reports)
                                              and int(shard.sentence_terms.lengths.sum(dtype=np.int64)) == m))
    )


def merge(parts: list[tuple[Shard, set[str]]], *, exact_up_to: int) -> Shard:
    """One shard holding the live passages of ``parts`` (each shard with the reports removed from it), reports in id
    order: vectors and postings are copied, nothing is embedded or tokenized again; faiss indexes are rebuilt."""
    first = parts[0][0]
    blocks = sorted(
        (doc, shard, i) for shard, removed in parts for i, doc in enumerate(shard.reports) if doc not in removed
    )
    passage_rows, sentence_rows = [], []
    for doc, shard, i in blocks:
        rows = np.flatnonzero(np.asarray(shard.passage_docs) == i)
        passage_rows.append((shard, rows))
        owner = np.asarray(shard.sentence_owner)
        sentence_rows.append((shard, np.flatnonzero(np.isin(owner, rows))))
    passage_ids = [shard.passage_ids[r] for shard, rows in passage_rows for r in rows]
    passage_docs = np.concatenate([np.full(len(rows), k, np.int32) for k, (_, rows) in enumerate(passage_rows)] or
                                  [np.zeros(0, np.int32)])
    passage_vectors = _stack([np.asarray(s.passage_vectors)[rows] for s, rows in passage_rows], first.dimension)
    sentence_vectors = _stack([np.asarray(s.sentence_vectors)[rows] for s, rows in sentence_rows], first.dimension)
    owner_parts, base = [], 0
    for (shard, rows), (_, sentences) in zip(passage_rows, sentence_rows):
        new_row = np.full(len(shard.passage_ids), -1, np.int64)
        new_row[rows] = np.arange(base, base + len(rows))
        owner_parts.append(new_row[np.asarray(shard.sentence_owner)[sentences]])
        base += len(rows)
    sentence_owner = np.concatenate(owner_parts or [np.zeros(0, np.int64)]).astype(np.int32)
    keys = [np.asarray(s.text_keys)[rows] for s, rows in passage_rows]
    keys += [np.asarray(s.text_keys)[len(s.passage_ids) + rows] for s, rows in sentence_rows]
    row_maps: dict[str, np.ndarray] = {}
    base = 0
    for shard, rows in passage_rows:
        row_map = row_maps.setdefault(shard.name, np.full(len(shard.passage_ids), -1, np.int64))
        row_map[rows] = np.arange(base, base + len(rows))
        base += len(rows)
    postings = Postings.merge([(s.postings, row_maps[s.name]) for s, _ in parts if s.name in row_maps], len(passage_ids))
    sentence_terms = None
    if all(s.sentence_terms is not None for s, _ in parts):  # else the merged shard is counted from texts, as its parts
        report_maps = {s.name: np.full(len(s.reports), -1, np.int64) for s, _ in parts}
        for k, (_, shard, i) in enumerate(blocks):
            report_maps[shard.name][i] = k
        sentence_terms = Postings.merge([(s.sentence_terms, report_maps[s.name]) for s, _ in parts], len(blocks))
    return Shard(
        name=new_name(), model=first.model, dimension=first.dimension,
        reports={doc: shard.reports[doc] for doc, shard, _ in blocks},
        passage_ids=passage_ids, passage_docs=passage_docs,
        passage_vectors=passage_vectors, passages=vector_index.build(passage_vectors, exact_up_to=exact_up_to),
        sentence_vectors=sentence_vectors, sentence_owner=sentence_owner,
        sentences=vector_index.build(sentence_vectors, exact_up_to=exact_up_to),
        text_keys=np.concatenate(keys) if keys else np.zeros(0, "S40"), postings=postings,
        sentence_terms=sentence_terms,
    )


def _stack(parts: list[np.ndarray], dimension: int) -> np.ndarray:
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32) if parts else np.zeros((0, dimension), np.float32)


def _file_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every part of a shard but its header, by path relative to the shard folder. The parts are hashed
    side by side, one thread a core (hashlib lets go of the interpreter while it hashes): every open checks every
    part, about 1.5 s at 200,000 passages one after another."""
    files = [f for f in sorted(folder.rglob("*")) if f.is_file() and f.name != "shard.json"]
    with ThreadPoolExecutor(max(1, min(len(files), os.cpu_count() or 1))) as pool:
        return {f.relative_to(folder).as_posix(): h for f, h in zip(files, pool.map(_sha256, files))}


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
