"""The search index on disk: immutable shards, and one manifest naming the live ones, replaced atomically.

    search/manifest.json    format, model, dimension, the settings that shaped it (and their hash), corpus (each
                            live report → sha256 of its source), records (each live report → hash of what built its
                            stored record), shards ([{"name", "removed": [report ids]}]), live passage and sentence
                            counts, date
    search/shards/<name>/   one shard (shards.py): passages, vectors, faiss indexes, keyword postings

Adding reports writes one new shard and a new manifest; removing one lists it under its shard's "removed" (a
tombstone: nothing is re-embedded or rewritten); compaction (service/ingesting.py) merges shards. The manifest is
replaced by one rename, so a crash at any point leaves the previous index loadable; shards no manifest names are
deleted only after the switch.

Loading lays the live rows of every shard out in one canonical order (reports by id), so the same reports give the
same rows, the same scores and the same ranking however many shards hold them and in whatever order they came.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from reportrag.index import shards as shard_store
from reportrag.index import vectors as vector_index
from reportrag.index.keyword import KeywordScorer, Postings
from reportrag.index.shards import Shard, ShardDamaged
from reportrag.index.stacked_rows import StackedRows

from reportrag.core.errors import IndexMismatch, IndexNotFound
from reportrag.core.files import write_atomic
from reportrag.core.records import Passage

FORMAT_VERSION = 2
_MANIFEST_KEYS = ("format", "model", "corpus", "records", "shards", "passages", "sentences", "settings")


EMBEDDING_TEXT_VERSION = 1  # bump when embedding_text changes: indexes built with the old text are rebuilt


def embedding_text(passage: Passage, doc_title: str) -> str:
    """What is embedded and keyword-indexed: a short contextual header (report, section), then the passage."""
    section = " › ".join(passage.section[-2:])
    header = " ".join(f"{doc_title} — {section}".split()[:30])
    return f"{header}\n{passage.text}"


@dataclass
class SearchIndex:
    """The live rows of every shard as one index: what the searcher scores."""

    manifest: dict
    shards: list[Shard]
    row_maps: list[np.ndarray]  # per shard: its row → row here (-1: a removed report's passage)
    passage_ids: list[str]
    passage_vectors: np.ndarray | StackedRows  # the shards' arrays, unless small (a copy) or one whole shard
    sentence_vectors: np.ndarray | StackedRows
    sentence_owner: np.ndarray  # row here of each sentence, ascending
    keyword: KeywordScorer
    # per shard: its reports' sentence term counts and which of its reports are live; None when a shard written
    # before they were kept lacks them (answers then count term statistics from the reports' texts)
    sentence_counts: list[tuple[Postings, np.ndarray]] | None = None
    stamp: tuple[int, ...] | None = None  # the manifest file this was read from (``manifest_stamp``)

    @property
    def exact_up_to(self) -> int:
        return int(self.manifest["settings"].get("exact_up_to", vector_index.EXACT_UP_TO))

    def nearest(self, vector: np.ndarray, n: int) -> np.ndarray:
        """Rows an approximate search proposes: each shard's nearest ``n`` passages and the passages of its nearest
        ``n`` sentences (a removed report's rows dropped)."""
        found = []
        for shard, row_map in zip(self.shards, self.row_maps):
            _, near = vector_index.search(shard.passages, vector[None, :], n)
            _, near_sentences = vector_index.search(shard.sentences, vector[None, :], n)
            local = np.concatenate([near[0][near[0] >= 0],
                                    np.asarray(shard.sentence_owner)[near_sentences[0][near_sentences[0] >= 0]]])
            found.append(row_map[local])
        rows = np.unique(np.concatenate(found or [np.zeros(0, np.int64)]))
        return rows[rows >= 0]


def path(root: Path) -> Path:
    return Path(root) / "search"


def manifest_stamp(root: Path) -> tuple[int, ...] | None:
    """Which manifest file is live (inode, size, mtime; None: none): every change to the index switches it by a
    rename, so a serving process sees another's ingest, removal or compaction with one ``stat``."""
    try:
        st = os.stat(path(root) / "manifest.json")
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def read_manifest(root: Path, *, model: str) -> dict:
    """The live manifest, checked but with no shard read (adding a report needs nothing more)."""
    base = path(root)
    try:
        manifest = json.loads((base / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:  # JSONDecodeError is a ValueError
        if (base / "CURRENT").exists():  # the single-build layout of earlier versions
            raise IndexMismatch(f"{base}: the search index is in an older format; run 'reportrag ingest' to rebuild it "
                                "(cached vectors are reused)") from e
        raise IndexNotFound(f"{base}: no search index here; run 'reportrag ingest' to build it") from e
    if not isinstance(manifest, dict):  # damaged: a clear message, never an AttributeError on every start
        raise IndexNotFound(f"{base}: the search index manifest is damaged; run 'reportrag ingest' to rebuild it")
    if manifest.get("format") != FORMAT_VERSION or manifest.get("model") != model:
        raise IndexMismatch(
            f"{base}: built with model {manifest.get('model')!r}, format {manifest.get('format')}; this is "
            f"{model!r}, format {FORMAT_VERSION}; run 'reportrag ingest' to rebuild it"
        )
    if not all(k in manifest for k in _MANIFEST_KEYS) or not (
        isinstance(manifest["corpus"], dict) and isinstance(manifest["records"], dict)
        and isinstance(manifest["settings"], dict) and isinstance(manifest["shards"], list)
        and all(isinstance(s, dict) and isinstance(s.get("name"), str) and isinstance(s.get("removed"), list)
                and isinstance(s.get("reports"), dict) for s in manifest["shards"])
    ):
        # damaged, not merely old: a KeyError here would come back on every start
        raise IndexNotFound(f"{base}: the search index manifest is damaged; run 'reportrag ingest' to rebuild it")
    return manifest


def load(root: Path, *, model: str) -> SearchIndex:
    """The live index. A shard deleted under us by a compaction that switched meanwhile: read the manifest again."""
    for attempt in range(3):
        stamp = manifest_stamp(root)  # before reading: a switch after it is seen as a change
        manifest = read_manifest(root, model=model)
        try:
            shards = [shard_store.read(path(root) / "shards", s["name"], model=model) for s in manifest["shards"]]
            for shard, listed in zip(shards, manifest["shards"]):
                if shard.reports != {doc: r.get("sha256") for doc, r in listed["reports"].items()}:
                    raise ShardDamaged(f"{shard.name} holds other reports than the manifest lists")
        except ShardDamaged as e:
            if attempt < 2 and read_manifest(root, model=model) != manifest:
                continue
            raise IndexNotFound(f"{path(root)}: the search index is damaged ({e}); run 'reportrag ingest'") from e
        index = view(manifest, shards)
        if index.manifest["passages"] != len(index.passage_ids) or index.manifest["sentences"] != len(index.sentence_owner):
            raise IndexNotFound(f"{path(root)}: the search index is incomplete; run 'reportrag ingest' to rebuild it")
        index.stamp = stamp
        return index
    raise AssertionError("unreachable")


def view(manifest: dict, shards: list[Shard]) -> SearchIndex:
    """Every shard's live rows, reports in id order (contiguous slices of each shard: rows are grouped by report)."""
    removed = [set(s["removed"]) for s in manifest["shards"]]
    blocks = sorted((doc, k, i) for k, shard in enumerate(shards) for i, doc in enumerate(shard.reports)
                    if doc not in removed[k])
    row_maps = [np.full(len(s.passage_ids), -1, np.int64) for s in shards]
    sentence_maps = [np.full(len(s.sentence_owner), -1, np.int64) for s in shards]
    passage_slices, sentence_slices, passage_ids = [], [], []
    base = sentence_base = 0
    for _, k, i in blocks:
        shard = shards[k]
        a, b = (int(x) for x in np.searchsorted(shard.passage_docs, [i, i + 1]))
        s, e = (int(x) for x in np.searchsorted(shard.sentence_owner, [a, b]))
        row_maps[k][a:b] = np.arange(base, base + b - a)
        sentence_maps[k][s:e] = np.arange(sentence_base, sentence_base + e - s)
        passage_slices.append((k, a, b))
        sentence_slices.append((k, s, e))
        passage_ids += shard.passage_ids[a:b]
        base += b - a
        sentence_base += e - s
    dim = int(manifest.get("dimension") or (shards[0].dimension if shards else 0))
    whole = len(shards) == 1 and base == len(shards[0].passage_ids)  # rows of a shard are in id order: the same rows
    if whole:
        only = shards[0]  # one shard, all of it live: its memory-mapped arrays as they are, no copy
        passage_vectors, sentence_vectors = only.passage_vectors, only.sentence_vectors
        sentence_owner = np.asarray(only.sentence_owner)
    elif base > int(manifest["settings"].get("exact_up_to", vector_index.EXACT_UP_TO)):
        # searched approximately: a query reads only the rows it scores, so the shards' arrays stay mapped
        passage_vectors = StackedRows([s.passage_vectors for s in shards], row_maps, base, dim)
        sentence_vectors = StackedRows([s.sentence_vectors for s in shards], sentence_maps, sentence_base, dim)
    else:  # small, and every passage is scored each query: one array is faster than gathering
        passage_vectors = _concat([shards[k].passage_vectors[a:b] for k, a, b in passage_slices], dim)
        sentence_vectors = _concat([shards[k].sentence_vectors[s:e] for k, s, e in sentence_slices], dim)
    if not whole:
        sentence_owner = np.concatenate(
            [row_maps[k][np.asarray(shards[k].sentence_owner[s:e])] for k, s, e in sentence_slices]
            or [np.zeros(0, np.int64)]).astype(np.int32)
    keyword = KeywordScorer([(s.postings, m) for s, m in zip(shards, row_maps)], len(passage_ids))
    counts = None
    if all(shard.sentence_terms is not None for shard in shards):
        counts = [(shard.sentence_terms, _live_reports(shard.reports, gone))
                  for shard, gone in zip(shards, removed)]
    return SearchIndex(manifest, shards, row_maps, passage_ids, passage_vectors, sentence_vectors, sentence_owner, keyword,
                       counts)


def _live_reports(reports: dict[str, str], removed: set[str]) -> np.ndarray:
    return np.array([doc not in removed for doc in reports], dtype=bool)


def sentence_counts(root: Path, manifest: dict, *, model: str) -> list[tuple[Postings, np.ndarray]] | None:
    """Every live shard's per-report sentence term counts with its live reports, read from the shard files alone
    (``SearchIndex.sentence_counts`` for a process that holds no shard); None when a shard lacks them."""
    counts = []
    for listed in manifest["shards"]:
        try:
            found = shard_store.read_sentence_terms(path(root) / "shards", listed["name"], model=model)
        except ShardDamaged as e:
            raise IndexNotFound(f"{path(root)}: the search index is damaged ({e}); run 'reportrag ingest'") from e
        if found is None:
            return None
        counts.append((found, _live_reports(listed["reports"], set(listed["removed"]))))
    return counts


def _concat(parts: list[np.ndarray], dimension: int) -> np.ndarray:
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32) if parts else np.zeros((0, dimension), np.float32)


def write_shard(root: Path, shard: Shard) -> None:
    """Put a new shard beside the live ones; it is live once a manifest naming it is committed."""
    shard_store.write(path(root) / "shards", shard)


def read_shard(root: Path, name: str, *, model: str) -> Shard:
    try:
        return shard_store.read(path(root) / "shards", name, model=model)
    except ShardDamaged as e:
        raise IndexNotFound(f"{path(root)}: the search index is damaged ({e}); run 'reportrag ingest'") from e


def shard_intact(root: Path, listed: dict, *, model: str, thorough: bool) -> bool:
    """Does the shard a manifest entry lists hold what the entry says? ``thorough``: every file hashed (what loading
    checks); else its header and the files it lists are there (what an addition checks, at a cost that does not
    grow with the index)."""
    reports = {doc: r.get("sha256") for doc, r in listed["reports"].items()}
    if thorough:
        try:
            return shard_store.read(path(root) / "shards", listed["name"], model=model).reports == reports
        except ShardDamaged:
            return False
    return shard_store.present(path(root) / "shards", listed["name"], reports)


def commit(root: Path, manifest: dict) -> None:
    """Switch to ``manifest`` (one atomic rename), then delete what it no longer names: shards, and the single
    build of the earlier layout."""
    base = path(root)
    write_atomic(base / "manifest.json", json.dumps(manifest, indent=1))
    live = {s["name"] for s in manifest["shards"]}
    for old in sorted((base / "shards").iterdir()) if (base / "shards").is_dir() else []:
        if old.name not in live:
            shutil.rmtree(old, ignore_errors=True)
    if (base / "CURRENT").exists():
        (base / "CURRENT").unlink()
    for old in base.iterdir():
        if old.is_dir() and old.name.startswith(("build-", ".build-")):
            shutil.rmtree(old, ignore_errors=True)
        elif old.name.startswith((".manifest.json.", ".CURRENT.")) and old.name.endswith(".tmp"):
            old.unlink(missing_ok=True)


def remove(root: Path) -> None:
    """No reports left: no search index. The manifest goes first, so a crash leaves "no index", never half of one."""
    base = path(root)
    (base / "manifest.json").unlink(missing_ok=True)
    (base / "CURRENT").unlink(missing_ok=True)
    shutil.rmtree(base, ignore_errors=True)


def settings_hash(settings: dict) -> str:
    """The fingerprint of what shaped an index: a change to any of these settings means a rebuild."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def entry(shard: Shard) -> dict:
    """What the manifest records of a shard: enough to add, remove and count without reading the shard."""
    owner = np.asarray(shard.sentence_owner)
    ends = np.searchsorted(shard.passage_docs, np.arange(len(shard.reports) + 1))
    return {"name": shard.name, "reports": {
        doc: {"sha256": sha, "passages": int(ends[i + 1] - ends[i]),
              "sentences": int(np.searchsorted(owner, ends[i + 1]) - np.searchsorted(owner, ends[i]))}
        for i, (doc, sha) in enumerate(shard.reports.items())}, "removed": []}


def live_passages(shard_entry: dict) -> int:
    removed = set(shard_entry["removed"])
    return sum(r["passages"] for doc, r in shard_entry["reports"].items() if doc not in removed)


def manifest_for(model: str, dimension: int, entries: list[dict], records: dict[str, str], settings: dict) -> dict:
    """The manifest of the shards ``entries`` describe (``entry``, with their "removed" lists); ``records``: each
    live report's record hash."""
    live = [(doc, r) for e in entries for doc, r in e["reports"].items() if doc not in set(e["removed"])]
    return {
        "format": FORMAT_VERSION,
        "model": model,
        "dimension": dimension,
        "corpus": {doc: r["sha256"] for doc, r in sorted(live)},
        "records": {doc: records[doc] for doc, _ in sorted(live)},
        "shards": [{**e, "removed": sorted(e["removed"])} for e in entries],
        "passages": sum(r["passages"] for _, r in live),
        "sentences": sum(r["sentences"] for _, r in live),
        "settings": settings,
        "settings_sha256": settings_hash(settings),
        "built": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
