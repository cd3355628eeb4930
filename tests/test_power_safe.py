"""Power-safe writes: every file of an index shard, and its folder, reaches the disk before the manifest names it.

A power cut cannot be staged here, so the test records the order of ``os.fsync`` and ``os.replace``/``rename``
calls (the operating system's own functions, wrapped, not replaced) while a real index is saved."""

from __future__ import annotations

import os
from pathlib import Path

from reportrag.index import search_index
from reportrag.index.build import build
from reportrag.index.embed import EmbeddingCache
from reportrag.index.fake_embedder import HashingEmbedder


def _record(monkeypatch) -> list[tuple[str, str]]:
    events: list[tuple[str, str]] = []
    real_fsync, real_replace, real_rename = os.fsync, os.replace, Path.rename

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(src, dst, *a, **k):
        events.append(("switch", str(dst)))
        return real_replace(src, dst, *a, **k)

    def rename(self, target):
        events.append(("switch", str(target)))
        return real_rename(self, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(Path, "rename", rename)
    return events


def test_a_shard_is_on_disk_before_the_manifest_names_it(fake_searcher, tmp_path, monkeypatch):
    corpus = [(d, [p for p in fake_searcher.passages if p.doc_id == doc_id][:20])
              for doc_id, d in fake_searcher.documents.items()]
    shard, _ = build(corpus, HashingEmbedder(), EmbeddingCache(tmp_path / "cache", "fake", 384))
    events = _record(monkeypatch)
    root = tmp_path / "index"
    search_index.write_shard(root, shard)
    records = {doc: "r" for doc in shard.reports}
    search_index.commit(root, search_index.manifest_for(shard.model, 384, [search_index.entry(shard)], records, {}))
    manifest = next(i for i, e in enumerate(events) if e == ("switch", str(root / "search" / "manifest.json")))
    synced = {Path(path).name for kind, path in events[:manifest] if kind == "fsync"}
    built = root / "search" / "shards" / shard.name
    parts = {p.name for p in built.rglob("*") if p.is_file()}
    assert parts <= synced, f"not fsynced before the switch: {sorted(parts - synced)}"
    # the shard folder (synced under its temporary name) and its parent, after the rename: both renames durable
    assert f".{shard.name}.tmp" in synced and "shards" in synced
    assert events[-1][0] == "fsync"  # and the manifest's own folder after its replace
    assert search_index.load(root, model=shard.model).passage_ids == shard.passage_ids


def test_an_embedding_cache_segment_is_on_disk_before_its_manifest(tmp_path, monkeypatch):
    embedder = HashingEmbedder(4)
    cache = EmbeddingCache(tmp_path, embedder.name, embedder.dimension)
    cache.embed(["a", "b"], embedder)
    events = _record(monkeypatch)
    cache.save()
    [manifest] = [i for i, (kind, path) in enumerate(events) if kind == "switch" and path.endswith(".json")]
    [segment] = [p.name.removesuffix(".json") for p in tmp_path.glob("seg-*.json")]
    before = events[:manifest]
    for part in (f"{segment}.keys.npy", f"{segment}.vectors.npy"):
        synced = before.index(("fsync", str(tmp_path / f".{part}.tmp")))  # flushed to disk under its temporary name
        renamed = before.index(("switch", str(tmp_path / part)))
        assert synced < renamed < before.index(("fsync", str(tmp_path)))  # then renamed, and the rename made durable
    assert events[-1] == ("fsync", str(tmp_path))  # the manifest's own rename too
