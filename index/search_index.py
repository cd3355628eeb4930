"""The search index on disk: vectors (faiss), keyword index (bm25s) and a manifest, replaced atomically.

    search/CURRENT              name of the live build folder (written atomically: the switch is one rename)
    search/<build>/manifest.json  format, model, dimension, corpus hashes, counts, settings, build date
    search/<build>/passage_ids.json, passages.faiss, passage_vectors.npy
    search/<build>/sentences.faiss, sentence_vectors.npy, sentence_owner.npy (passage row of each sentence)
    search/<build>/bm25/          bm25s's own JSON + .npy files

A new build is written beside the live one and switched to by rewriting CURRENT, so a crash at any point leaves
the previous index loadable. Nothing is unpickled (``np.load(allow_pickle=False)``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from reportrag.index import vectors as vector_index
from reportrag.index.keyword import KeywordIndex

from reportrag.core.errors import IndexMismatch, IndexNotFound
from reportrag.core.files import fsync_folder, fsync_tree, write_atomic
from reportrag.core.records import Passage

FORMAT_VERSION = 1
_BUILD_NAME = re.compile(r"build-[0-9a-f]{12}")  # what save() writes into CURRENT; anything else is damage
_MANIFEST_KEYS = ("format", "model", "corpus", "passages", "sentences", "settings")


EMBEDDING_TEXT_VERSION = 1  # bump when embedding_text changes: indexes built with the old text are rebuilt


def embedding_text(passage: Passage, doc_title: str) -> str:
    """What is embedded and keyword-indexed: a short contextual header (report, section), then the passage."""
    section = " › ".join(passage.section[-2:])
    header = " ".join(f"{doc_title} — {section}".split()[:30])
    return f"{header}\n{passage.text}"


@dataclass
class SearchIndex:
    manifest: dict
    passage_ids: list[str]
    passages: faiss.Index
    passage_vectors: np.ndarray
    sentences: faiss.Index
    sentence_vectors: np.ndarray
    sentence_owner: np.ndarray
    keyword: KeywordIndex


def save(root: Path, index: SearchIndex) -> Path:
    base = Path(root) / "search"
    base.mkdir(parents=True, exist_ok=True)
    build = base / f"build-{uuid.uuid4().hex[:12]}"
    tmp = base / f".{build.name}.tmp"
    tmp.mkdir()
    write_atomic(tmp / "passage_ids.json", json.dumps(index.passage_ids))
    vector_index.save(index.passages, tmp / "passages.faiss")
    vector_index.save(index.sentences, tmp / "sentences.faiss")
    np.save(tmp / "passage_vectors.npy", index.passage_vectors, allow_pickle=False)
    np.save(tmp / "sentence_vectors.npy", index.sentence_vectors, allow_pickle=False)
    np.save(tmp / "sentence_owner.npy", index.sentence_owner, allow_pickle=False)
    index.keyword.save(tmp / "bm25")
    # the manifest goes last and carries every part's hash: a part damaged or swapped later (same size, valid
    # header, wrong numbers) is caught on load instead of silently giving wrong scores
    write_atomic(tmp / "manifest.json", json.dumps({**index.manifest, "files": _file_hashes(tmp)}, indent=1))
    fsync_tree(tmp)  # every part on disk before the switch: a power cut never leaves CURRENT naming half a build
    tmp.rename(build)
    fsync_folder(base)
    write_atomic(base / "CURRENT", build.name)
    for old in base.iterdir():  # earlier builds and leftovers of interrupted ones (folders, and CURRENT's temp files)
        if old.is_dir() and old.name != build.name:
            shutil.rmtree(old, ignore_errors=True)
        elif old.name.startswith(".CURRENT.") and old.name.endswith(".tmp"):
            old.unlink(missing_ok=True)
    return build


def remove(root: Path) -> None:
    """No reports left: no search index. CURRENT goes first, so a crash leaves "no index", never half of one."""
    base = Path(root) / "search"
    (base / "CURRENT").unlink(missing_ok=True)
    shutil.rmtree(base, ignore_errors=True)


def _file_hashes(build: Path) -> dict[str, str]:
    """sha256 of every part of a build but its manifest, by path relative to the build folder."""
    return {
        f.relative_to(build).as_posix(): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(build.rglob("*"))
        if f.is_file() and f.name != "manifest.json"
    }


def load(root: Path, *, model: str) -> SearchIndex:
    base = Path(root) / "search"
    try:
        name = (base / "CURRENT").read_text(encoding="utf-8").strip()
        if not _BUILD_NAME.fullmatch(name):  # never follow a damaged CURRENT out of the index folder
            raise ValueError(f"CURRENT names {name[:40]!r}, not a build")
        build = base / name
        manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:  # JSONDecodeError is a ValueError
        raise IndexNotFound(f"{base}: no search index here; run 'reportrag ingest' to build it") from e
    if not isinstance(manifest, dict):  # damaged: a clear message, never an AttributeError on every start
        raise IndexNotFound(f"{build.name}: the search index manifest is damaged; run 'reportrag ingest' to rebuild it")
    if manifest.get("format") != FORMAT_VERSION or manifest.get("model") != model:
        raise IndexMismatch(
            f"{build.name}: built with model {manifest.get('model')!r}, format {manifest.get('format')}; this is "
            f"{model!r}, format {FORMAT_VERSION}; run 'reportrag ingest' to rebuild it"
        )
    if not all(k in manifest for k in _MANIFEST_KEYS) or not (
        isinstance(manifest["corpus"], dict) and isinstance(manifest["settings"], dict)
    ):
        # damaged, not merely old: a KeyError here would come back on every start (corpus checks the manifest too)
        raise IndexNotFound(f"{build.name}: the search index manifest is damaged; run 'reportrag ingest' to rebuild it")
    expected = manifest.get("files")  # absent in builds written before hashes were recorded
    try:
        changed = expected is not None and _file_hashes(build) != expected
    except OSError:
        changed = True
    if changed:
        raise IndexNotFound(f"{build.name}: the search index is damaged (a part is missing or changed); run 'reportrag ingest'")
    try:
        index = SearchIndex(
            manifest=manifest,
            passage_ids=json.loads((build / "passage_ids.json").read_text(encoding="utf-8")),
            passages=vector_index.load(build / "passages.faiss"),
            passage_vectors=np.load(build / "passage_vectors.npy", allow_pickle=False),
            sentences=vector_index.load(build / "sentences.faiss"),
            sentence_vectors=np.load(build / "sentence_vectors.npy", allow_pickle=False),
            sentence_owner=np.load(build / "sentence_owner.npy", allow_pickle=False),
            keyword=KeywordIndex.load(build / "bm25"),
        )
    except Exception as e:  # faiss raises RuntimeError, numpy ValueError, bm25s anything: all mean "damaged"
        raise IndexNotFound(f"{build.name}: the search index is damaged ({type(e).__name__}); run 'reportrag ingest'") from e
    try:
        counts_ok = _counts_ok(index, manifest)
    except Exception:  # a 0-d or odd-typed array: damaged too
        counts_ok = False
    if not counts_ok:
        raise IndexNotFound(f"{build.name}: the search index is incomplete; run 'reportrag ingest' to rebuild it")
    return index


def _counts_ok(index: SearchIndex, manifest: dict) -> bool:
    return bool(
        isinstance(index.passage_ids, list) and all(isinstance(p, str) for p in index.passage_ids)
        and index.passages.ntotal == len(index.passage_ids) == len(index.passage_vectors) == manifest["passages"]
        and index.sentences.ntotal == len(index.sentence_owner) == len(index.sentence_vectors) == manifest["sentences"]
        # the searcher indexes passages by owner row and bisects owners: in range and in order, or it fails later
        and (len(index.sentence_owner) == 0 or (
            0 <= int(index.sentence_owner.min()) and int(index.sentence_owner.max()) < len(index.passage_ids)
            and bool(np.all(np.diff(index.sentence_owner) >= 0))
        ))
    )


def settings_hash(settings: dict) -> str:
    """The fingerprint of what shaped an index: a change to any of these settings means a rebuild."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def manifest_for(model: str, dimension: int, corpus: dict[str, str], n_passages: int, n_sentences: int, settings: dict) -> dict:
    return {
        "format": FORMAT_VERSION,
        "model": model,
        "dimension": dimension,
        "corpus": corpus,
        "passages": n_passages,
        "sentences": n_sentences,
        "settings": settings,
        "settings_sha256": settings_hash(settings),
        "built": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
