"""The embedding cache's append-only segments (index/embedding_cache.py), on real files: saves that only append,
collection on compaction, other models left alone, damaged and interrupted segments, the old keys.json layout.

The embedder is the deterministic ``HashingEmbedder``, wrapped to count what it is asked to encode."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from reportrag.index import embedding_cache
from reportrag.index.embed import EmbeddingCache
from reportrag.index.fake_embedder import HashingEmbedder

OLD = ["equal pay for work of equal value", "the death penalty was abolished", "", "?!", "Мен Кәсіпкер"]
NEW = ["rental flats for large families", "the waiting list fell by a third"]
DIM = 16


class Counting:
    """HashingEmbedder, counting the texts it encodes."""

    def __init__(self, dimension: int = DIM) -> None:
        self.inner = HashingEmbedder(dimension)
        self.name, self.dimension, self.max_seq_length = self.inner.name, dimension, self.inner.max_seq_length
        self.encoded: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded += texts
        return self.inner.encode(texts)


def open_cache(folder: Path, embedder: Counting | None = None) -> EmbeddingCache:
    embedder = embedder or Counting()
    return EmbeddingCache(folder, embedder.name, embedder.dimension)


def saved(folder: Path, texts: list[str], embedder: Counting | None = None) -> EmbeddingCache:
    cache = open_cache(folder, embedder)
    cache.embed(texts, embedder or Counting())
    cache.save()
    return cache


def segments(folder: Path) -> list[str]:
    return sorted(p.name.removesuffix(".json") for p in folder.glob("seg-*.json"))


def manifest(folder: Path, segment: str) -> dict:
    return json.loads((folder / f"{segment}.json").read_text(encoding="utf-8"))


def embedded(folder: Path, texts: list[str]) -> tuple[np.ndarray, int, list[str]]:
    """A fresh cache's vectors for ``texts``, how many it embedded, and the texts it encoded."""
    embedder = Counting()
    vectors, fresh = open_cache(folder, embedder).embed(texts, embedder)
    return vectors, fresh, embedder.encoded


def expected(texts: list[str]) -> np.ndarray:
    return HashingEmbedder(DIM).encode(texts)


# --- saving appends ---------------------------------------------------------------------------------------------


def test_a_segment_is_plain_numpy_with_its_manifest_last(tmp_path):
    cache = saved(tmp_path, OLD)
    [segment] = segments(tmp_path)
    info = manifest(tmp_path, segment)
    keys = np.load(tmp_path / f"{segment}.keys.npy", allow_pickle=False)
    vectors = np.load(tmp_path / f"{segment}.vectors.npy", allow_pickle=False)
    assert (info["format"], info["model"], info["dimension"], info["count"]) == (1, cache.model_name, DIM, len(OLD))
    assert sorted(info["sha256"]) == [f"{segment}.keys.npy", f"{segment}.vectors.npy"]
    assert keys.dtype == np.dtype("S20") and list(keys) == sorted(keys)
    assert [k.ljust(20, b"\0").hex() for k in keys] == sorted(cache.key(t) for t in OLD)  # key(): unchanged sha1 hex
    assert vectors.dtype == np.float32 and vectors.shape == (len(OLD), DIM)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"{segment}.{end}" for end in ("json", "keys.npy", "vectors.npy")
    ]


def test_a_save_appends_one_segment_and_never_rewrites_one(tmp_path):
    saved(tmp_path, OLD)
    [first] = segments(tmp_path)
    files = [tmp_path / f"{first}.{end}" for end in ("json", "keys.npy", "vectors.npy")]
    before = [(p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes()) for p in files]

    embedder = Counting()
    cache = open_cache(tmp_path, embedder)
    vectors, fresh = cache.embed(OLD + NEW, embedder)
    assert fresh == len(NEW) and embedder.encoded == sorted(NEW, key=cache.key)  # only the new texts
    cache.save()
    assert sorted(manifest(tmp_path, s)["count"] for s in segments(tmp_path)) == sorted([len(OLD), len(NEW)])
    assert [(p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes()) for p in files] == before

    again, fresh, encoded = embedded(tmp_path, NEW + OLD)
    assert (fresh, encoded) == (0, [])
    np.testing.assert_array_equal(again, expected(NEW + OLD))
    np.testing.assert_array_equal(vectors, expected(OLD + NEW))


def test_nothing_new_writes_nothing(tmp_path):
    embedder = Counting()
    open_cache(tmp_path / "never", embedder).save()
    assert not (tmp_path / "never").exists()
    saved(tmp_path, OLD)
    listing = sorted(p.name for p in tmp_path.iterdir())
    cache = open_cache(tmp_path, embedder)
    assert cache.embed(OLD, embedder)[1] == 0 and cache.missing(OLD + NEW) == len(NEW)
    cache.save()
    assert sorted(p.name for p in tmp_path.iterdir()) == listing


def test_repeated_texts_are_embedded_once_and_each_gets_its_row(tmp_path):
    embedder = Counting()
    cache = open_cache(tmp_path, embedder)
    texts = [NEW[0], OLD[0], NEW[0], OLD[0], OLD[1]]
    vectors, fresh = cache.embed(texts, embedder)
    assert fresh == 3 and len(embedder.encoded) == 3
    np.testing.assert_array_equal(vectors, expected(texts))
    again, fresh = cache.embed(texts[::-1], embedder)  # unsaved vectors are served too
    assert fresh == 0
    np.testing.assert_array_equal(again, expected(texts[::-1]))
    assert cache.embed([], embedder)[0].shape == (0, DIM)


def test_two_caches_saving_at_once_lose_nothing(tmp_path):
    one, other = Counting(), Counting()
    first, second = open_cache(tmp_path, one), open_cache(tmp_path, other)
    first.embed(OLD, one)
    second.embed(NEW, other)
    second.save()
    first.save()
    assert len(segments(tmp_path)) == 2
    assert embedded(tmp_path, OLD + NEW)[1] == 0


# --- collection on compaction, other models ---------------------------------------------------------------------


def test_collect_keeps_exactly_the_keep_keys_in_one_segment(tmp_path):
    saved(tmp_path, OLD)
    embedder = Counting()
    cache = open_cache(tmp_path, embedder)
    cache.embed(NEW, embedder)  # not saved: collect keeps those wanted all the same
    keep = {cache.key(t) for t in OLD[:2] + NEW[:1]} | {cache.key("never embedded"), "not a key", "ab" * 20}
    cache.collect(keep)
    [segment] = segments(tmp_path)
    assert manifest(tmp_path, segment)["count"] == 3
    kept, fresh, _ = embedded(tmp_path, OLD[:2] + NEW[:1])
    assert fresh == 0
    np.testing.assert_array_equal(kept, expected(OLD[:2] + NEW[:1]))
    assert embedded(tmp_path, OLD[2:] + NEW[1:])[1] == len(OLD[2:] + NEW[1:])
    cache.collect(set())
    assert segments(tmp_path) == []


def test_other_models_segments_survive_save_and_collect(tmp_path):
    theirs = Counting(DIM * 2)
    saved(tmp_path, OLD + NEW, theirs)
    [their_segment] = segments(tmp_path)
    ours = saved(tmp_path, OLD)
    ours.embed(NEW, Counting())
    ours.save()
    ours.collect({ours.key(OLD[0])})
    assert len(segments(tmp_path)) == 2 and their_segment in segments(tmp_path)
    assert embedded(tmp_path, OLD[:1])[1] == 0
    embedder = Counting(DIM * 2)
    vectors, fresh = open_cache(tmp_path, embedder).embed(OLD + NEW, embedder)
    assert fresh == 0
    np.testing.assert_array_equal(vectors, HashingEmbedder(DIM * 2).encode(OLD + NEW))


# --- damage and interrupted writes ------------------------------------------------------------------------------


def _flip_vector_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-5:] = bytes(b ^ 0xFF for b in data[-5:])  # last row's bytes; the header and the size unchanged
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _wrong_dtype(path: Path) -> None:  # hex keys where raw digests belong: readable, but not this format
    np.save(path, np.load(path).astype("S40"), allow_pickle=False)


DAMAGE = {
    "vectors bytes flipped": ("vectors.npy", _flip_vector_bytes),
    "keys truncated": ("keys.npy", _truncate),
    "keys of the wrong dtype": ("keys.npy", _wrong_dtype),
    "vectors missing": ("vectors.npy", Path.unlink),
    "vectors empty": ("vectors.npy", lambda p: p.write_bytes(b"")),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_segment_is_embedded_again_and_replaced(tmp_path, damage):
    saved(tmp_path, NEW)
    saved(tmp_path, OLD)
    [damaged] = [s for s in segments(tmp_path) if manifest(tmp_path, s)["count"] == len(OLD)]
    end, harm = DAMAGE[damage]
    harm(tmp_path / f"{damaged}.{end}")

    embedder = Counting()
    cache = open_cache(tmp_path, embedder)
    vectors, fresh = cache.embed(NEW + OLD, embedder)
    assert fresh == len(OLD) and sorted(embedder.encoded) == sorted(OLD)
    np.testing.assert_array_equal(vectors, expected(NEW + OLD))
    cache.save()
    assert damaged not in segments(tmp_path) and not list(tmp_path.glob(f"{damaged}.*"))
    for segment in segments(tmp_path):  # a healthy cache: every segment matches its manifest
        for name, digest in manifest(tmp_path, segment)["sha256"].items():
            assert embedding_cache._sha256(tmp_path / name) == digest
    again, fresh, _ = embedded(tmp_path, NEW + OLD)
    assert fresh == 0
    np.testing.assert_array_equal(again, expected(NEW + OLD))


def test_segments_are_hashed_when_first_needed_once_per_process(tmp_path, monkeypatch):
    saved(tmp_path, OLD)
    saved(tmp_path, NEW)
    hashed = []
    real = embedding_cache._sha256
    monkeypatch.setattr(embedding_cache, "_sha256", lambda path: hashed.append(path.name) or real(path))
    cache = open_cache(tmp_path)
    assert hashed == []  # opening reads the manifests only
    assert embedded(tmp_path, OLD[:2])[1] == 0
    [needed] = [s for s in segments(tmp_path) if manifest(tmp_path, s)["count"] == len(OLD)]
    assert sorted(hashed) == [f"{needed}.keys.npy", f"{needed}.vectors.npy"]
    assert cache.embed(OLD, Counting())[1] == 0 and embedded(tmp_path, OLD)[1] == 0
    assert len(hashed) == 2  # checked once in this process, whichever cache reads it


def test_a_segment_without_its_manifest_is_ignored_and_removed_once_stale(tmp_path):
    saved(tmp_path, OLD)
    [interrupted] = segments(tmp_path)
    (tmp_path / f"{interrupted}.json").unlink()  # the write cut short before its manifest
    (tmp_path / f".{interrupted}.json.x1y2.tmp").write_text("{")
    leftovers = sorted(p.name for p in tmp_path.iterdir())

    embedder = Counting()
    cache = open_cache(tmp_path, embedder)
    assert cache.embed(OLD, embedder)[1] == len(OLD)
    cache.save()  # the leftovers are young: maybe another process is writing them right now
    assert set(leftovers) <= {p.name for p in tmp_path.iterdir()}
    stale = os.stat(tmp_path).st_mtime - 120
    for name in leftovers:
        os.utime(tmp_path / name, (stale, stale))
    cache.embed(NEW, embedder)
    cache.save()
    assert not set(leftovers) & {p.name for p in tmp_path.iterdir()}
    assert len(segments(tmp_path)) == 2 and embedded(tmp_path, OLD + NEW)[1] == 0


# --- the old keys.json layout -----------------------------------------------------------------------------------


def write_legacy(folder: Path, texts: list[str], embedder: Counting) -> None:
    """A cache as the previous version saved it: keys.json naming its vectors file."""
    cache = open_cache(folder / "scratch", embedder)  # only for key()
    keys = sorted(cache.key(t) for t in texts)
    by_key = dict(zip((cache.key(t) for t in texts), embedder.inner.encode(texts)))
    folder.mkdir(exist_ok=True)
    np.save(folder / "vectors-0123456789ab.npy", np.stack([by_key[k] for k in keys]), allow_pickle=False)
    (folder / "keys.json").write_text(
        json.dumps({"model": embedder.name, "keys": keys, "vectors": "vectors-0123456789ab.npy"})
    )


def test_a_legacy_cache_is_imported_once_and_served_without_embedding(tmp_path):
    write_legacy(tmp_path, OLD, Counting())
    write_legacy(tmp_path / "other", NEW, Counting(DIM * 2))
    vectors, fresh, encoded = embedded(tmp_path, OLD)
    assert (fresh, encoded) == (0, [])
    np.testing.assert_array_equal(vectors, expected(OLD))
    assert not (tmp_path / "keys.json").exists() and not list(tmp_path.glob("vectors*.npy"))
    assert len(segments(tmp_path)) == 1 and embedded(tmp_path, OLD)[1] == 0

    embedder = Counting()  # another model's legacy cache becomes that model's segment, untouched by ours
    cache = open_cache(tmp_path / "other", embedder)
    assert cache.embed(NEW, embedder)[1] == len(NEW)
    cache.save()
    cache.collect(set())
    theirs = Counting(DIM * 2)
    assert open_cache(tmp_path / "other", theirs).embed(NEW, theirs)[1] == 0


LEGACY_DAMAGE = {
    "keys.json not JSON": lambda f: (f / "keys.json").write_text("{"),
    "keys not a list": lambda f: (f / "keys.json").write_text('{"keys": 5}'),
    "vectors named out of the folder": lambda f: (f / "keys.json").write_text(
        json.dumps({**json.loads((f / "keys.json").read_text()), "vectors": "../vectors-0123456789ab.npy"})
    ),
    "vectors missing": lambda f: (f / "vectors-0123456789ab.npy").unlink(),
    "vectors short": lambda f: np.save(f / "vectors-0123456789ab.npy", np.zeros((2, DIM), np.float32)),
    "vectors a pickle": lambda f: np.save(f / "vectors-0123456789ab.npy", np.array([{}], dtype=object)),
}


@pytest.mark.parametrize("damage", LEGACY_DAMAGE)
def test_a_damaged_legacy_cache_is_ignored(tmp_path, damage):
    write_legacy(tmp_path, OLD, Counting())
    LEGACY_DAMAGE[damage](tmp_path)
    vectors, fresh, _ = embedded(tmp_path, OLD)
    assert fresh == len(OLD)
    np.testing.assert_array_equal(vectors, expected(OLD))
    assert segments(tmp_path) == [] and not (tmp_path / "keys.json").exists()


# --- every other way a folder can be wrong: no exception ---------------------------------------------------------


def _odd_manifests(folder: Path) -> None:
    saved(folder, NEW)
    [segment] = segments(folder)
    info = manifest(folder, segment)
    for n, odd in enumerate(([], "text", {**info, "count": "many"}, {**info, "sha256": None}, {**info, "count": 99})):
        (folder / f"seg-{n:012x}.json").write_text(json.dumps(odd))
    (folder / "seg-00000000000f.json").write_bytes(b"\xff\xfe")
    (folder / f"{segment}.json").write_text(json.dumps({**info, "sha256": {}}))


FOLDERS = {
    "a file, not a folder": lambda p: p.write_text("not a folder"),
    "odd manifests": _odd_manifests,
    "strangers": lambda p: (p.mkdir(), (p / "seg-.json").write_text("{}"), (p / "vectors.npy").write_text("x")),
}


@pytest.mark.parametrize("case", FOLDERS)
def test_no_failure_mode_raises(tmp_path, case):
    folder = tmp_path / "cache"
    FOLDERS[case](folder)
    embedder = Counting()
    cache = open_cache(folder, embedder)
    vectors, fresh = cache.embed(OLD + NEW, embedder)
    assert fresh == len(OLD + NEW)
    np.testing.assert_array_equal(vectors, expected(OLD + NEW))
    cache.save()
    cache.collect({cache.key(OLD[0])})
    assert cache.missing(OLD) >= 0
