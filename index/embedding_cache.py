"""The embedding cache: vectors keyed by sha1(model, text), kept as append-only segments in one folder.

    seg-<id>.keys.npy      the sorted sha1 digests of "model \\x1f text", raw 20-byte strings (dtype S20)
    seg-<id>.vectors.npy   float32 rows, in the order of the keys
    seg-<id>.json          {"format": 1, "model", "dimension", "count", "sha256": {file: hex}}, written last

Append-only, because a save must cost what was added, not what the cache holds: re-ingesting a corpus embeds only
new or changed texts, and ``save`` writes just those as one new segment (the old layout rewrote every vector of
the cache for each added report). No segment is ever rewritten. ``collect``, run when the index is compacted,
writes the vectors still in use as one segment and deletes the model's older ones. Segments of other models are
never touched by either, so switching models and back embeds nothing again.

The manifest is the commit point: the data files reach the disk under temporary names, are renamed and the folder
synced before it is written, so after a crash a segment is whole or has no manifest and is ignored (a later save
removes its files once they are a minute old; younger ones may be another process's write in progress). Every
save writes its own uniquely named segment, so two processes saving at once lose nothing.

Opening is cheap at any size: only the manifests are read. Keys and vectors are memory-mapped and looked up with
``np.searchsorted``; a segment's files are checked against its sha256 the first time one of its vectors is needed
in this process. A damaged segment counts as absent (its texts are embedded again) and the next save deletes it.
Plain numpy and JSON, never pickle.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reportrag.core.files import fsync_folder, write_atomic

if TYPE_CHECKING:
    from reportrag.index.embed import TextEmbedder

FORMAT = 1
KEY = np.dtype("S20")  # a raw sha1 digest: half the size of its hex, and numpy compares it byte by byte
LEFTOVER_AGE_S = 60  # a manifest-less segment younger than this may be another process's write in progress
_MANIFEST = re.compile(r"seg-[0-9a-f]{12}\.json")
_SEGMENT_FILE = re.compile(r"\.?seg-([0-9a-f]{12})\.")  # its files, and their temporary names
_verified: set[tuple] = set()  # segments whose files matched their sha256 in this process: (path, stats, sums)
log = logging.getLogger(__name__)


class EmbeddingCache:
    """Vectors keyed by sha1(model, text) for one model, read from and appended to ``folder``'s segments."""

    def __init__(self, folder: Path, model_name: str, dimension: int) -> None:
        self.folder, self.model_name, self.dimension = Path(folder), model_name, dimension
        self._new = self._nothing_new()  # embedded since the last save: looked up first, written by the next save
        _import_legacy(self.folder)
        self._segments = self._open_segments()

    def key(self, text: str) -> str:
        return self._digest(text).hex()

    def embed(self, texts: list[str], embedder: TextEmbedder) -> tuple[np.ndarray, int]:
        """Vectors for ``texts`` (cached or computed) and how many distinct texts had to be computed."""
        unique, first, inverse = np.unique(self._digests(texts), return_index=True, return_inverse=True)
        vectors, found = self._lookup(unique)
        missing = np.flatnonzero(~found)
        if len(missing):
            fresh = np.asarray(embedder.encode([texts[i] for i in first[missing]]), dtype=np.float32)
            vectors[missing] = fresh
            keys = np.concatenate([self._new.keys(), unique[missing]])
            order = np.argsort(keys)
            self._new = _Segment(self.folder, "", {}, keys[order], np.concatenate([self._new.vectors(), fresh])[order])
        return vectors[inverse.reshape(-1)], len(missing)

    def missing(self, texts: list[str]) -> int:
        """How many distinct texts are not cached yet (to report progress); embeds nothing."""
        return int((~self._lookup(np.unique(self._digests(texts)))[1]).sum())

    def uncached(self, texts: list[str]) -> list[str]:
        """The distinct texts not cached yet, in the order they first appear (what a distributed ingest sends to
        its embedding workers); embeds nothing."""
        digests = self._digests(texts)
        unique, first = np.unique(digests, return_index=True)
        found = self._lookup(unique)[1]
        return [texts[i] for i in sorted(first[~found])]

    def save(self, keep: set[str] | None = None) -> None:
        """Write the vectors embedded since the last save as one new segment, delete the damaged segments met, and
        leftovers of interrupted writes. ``keep`` is accepted from older callers and ignored: pruning is
        ``collect``'s job. A failure to write is logged, not raised: the vectors are only embedded again later."""
        damaged = [s for s in self._segments if s.damaged]
        if not len(self._new.keys()) and not damaged:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if len(self._new.keys()):
                self._segments.append(
                    _write_segment(self.folder, self.model_name, self.dimension, self._new.keys(), self._new.vectors())
                )
                self._new = self._nothing_new()
            _delete(damaged)
            self._segments = [s for s in self._segments if not s.damaged]
            _remove_leftovers(self.folder)
        except OSError as e:
            log.warning("embedding cache %s not saved (%s); its new vectors will be embedded again", self.folder, e)

    def collect(self, keep: set[str]) -> None:
        """Garbage collection, on index compaction: one new segment with the ``keep`` keys that are cached, then
        this model's older segments deleted. A segment another process writes meanwhile is not among them."""
        self._segments = self._open_segments()
        wanted = np.unique(np.array([d for d in map(_from_hex, keep) if d is not None], dtype=KEY))
        vectors, found = self._lookup(wanted)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            kept = (
                [_write_segment(self.folder, self.model_name, self.dimension, wanted[found], vectors[found])]
                if found.any()
                else []
            )
            _delete(self._segments)
            self._segments = kept
            self._new = self._nothing_new()
            _remove_leftovers(self.folder)
        except OSError as e:
            log.warning("embedding cache %s not collected (%s)", self.folder, e)

    def _nothing_new(self) -> _Segment:
        return _Segment(self.folder, "", {}, np.zeros(0, KEY), np.zeros((0, self.dimension), np.float32))

    def _digest(self, text: str) -> bytes:
        return hashlib.sha1(f"{self.model_name}\x1f{text}".encode()).digest()

    def _digests(self, texts: list[str]) -> np.ndarray:
        return np.array([self._digest(t) for t in texts], dtype=KEY)

    def _open_segments(self) -> list[_Segment]:
        """This model's segments in the folder (only their manifests read), keeping those already open as they are:
        checked, or known damaged."""
        known = {s.name: s for s in getattr(self, "_segments", [])}
        try:
            names = sorted(p.name for p in self.folder.iterdir() if _MANIFEST.fullmatch(p.name))
        except OSError:  # no folder yet, or not one
            return []
        segments = []
        for name in names:
            name = name.removesuffix(".json")
            manifest = known[name].manifest if name in known else _read_manifest(self.folder / f"{name}.json")
            ours = (FORMAT, self.model_name, self.dimension)
            if manifest and (manifest.get("format"), manifest.get("model"), manifest.get("dimension")) == ours:
                segments.append(known.get(name) or _Segment(self.folder, name, manifest))
        return segments

    def _lookup(self, digests: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows for sorted, unique ``digests`` and which of them were found: this session's new vectors first,
        then each segment holding any of the rest (checked on that first use)."""
        vectors = np.zeros((len(digests), self.dimension), np.float32)
        found = np.zeros(len(digests), dtype=bool)
        for segment in [self._new, *self._segments]:
            todo = np.flatnonzero(~found)
            keys = segment.keys() if len(todo) else None
            if keys is None or not len(keys):
                continue
            at = np.searchsorted(keys, digests[todo])
            hit = at < len(keys)
            hit[hit] = keys[at[hit]] == digests[todo[hit]]
            rows = segment.vectors() if hit.any() else None
            if rows is not None:
                vectors[todo[hit]] = rows[at[hit]]
                found[todo[hit]] = True
        return vectors, found


class _Segment:
    """One segment: its manifest read at open, its files opened (and checked) only when a lookup needs them. With
    ``keys`` and ``vectors`` given, it is held in memory (just written, or not yet saved)."""

    def __init__(self, folder: Path, name: str, manifest: dict, keys=None, vectors=None) -> None:
        self.folder, self.name, self.manifest = folder, name, manifest
        self._keys, self._vectors = keys, vectors
        self.damaged = False

    def files(self) -> list[Path]:
        # the manifest first: a deletion cut short leaves a manifest-less segment, ignored, never a broken one
        return [self.folder / f"{self.name}{end}" for end in (".json", ".keys.npy", ".vectors.npy")]

    def keys(self) -> np.ndarray | None:
        """The sorted digests, memory-mapped; None when damaged. Not yet checked against the sha256 (a search
        in them decides whether the segment is needed): a wrong shape or type is caught here all the same."""
        if self._keys is None and not self.damaged:
            try:
                keys = np.load(self.files()[1], mmap_mode="r", allow_pickle=False)
                if keys.dtype != KEY or keys.shape != (self.manifest["count"],):
                    raise ValueError(f"keys {keys.dtype} {keys.shape}")
                self._keys = keys
            except Exception as e:  # any damage at all: the segment is absent, never a crash loop
                self._damage(e)
        return self._keys

    def vectors(self) -> np.ndarray | None:
        """The rows, memory-mapped, once both files matched the manifest's sha256 (hashed once per process, per
        version of the files); None when damaged."""
        if self._vectors is None and not self.damaged:
            try:
                paths = self.files()[1:]
                sums = tuple(self.manifest["sha256"][p.name] for p in paths)
                stamp = (str(paths[0]), *((s.st_ino, s.st_size, s.st_mtime_ns) for s in map(os.stat, paths)), sums)
                if stamp not in _verified and tuple(map(_sha256, paths)) != sums:
                    raise ValueError("sha256 differs from the manifest's")
                vectors = np.load(paths[1], mmap_mode="r", allow_pickle=False)
                if vectors.dtype != np.float32 or vectors.shape != (self.manifest["count"], self.manifest["dimension"]):
                    raise ValueError(f"vectors {vectors.dtype} {vectors.shape}")
                _verified.add(stamp)
                self._vectors = vectors
            except Exception as e:
                self._damage(e)
        return self._vectors

    def _damage(self, error: Exception) -> None:
        log.warning("embedding cache segment %s is damaged (%s): its texts are embedded again", self.name, error)
        self.damaged, self._keys, self._vectors = True, None, None


def _write_segment(folder: Path, model: str, dimension: int, keys: np.ndarray, vectors: np.ndarray) -> _Segment:
    """Write sorted ``keys`` and their ``vectors`` as a new segment: data first, durable, then the manifest."""
    name = f"seg-{uuid.uuid4().hex[:12]}"  # unique: a save never replaces another process's segment
    sums = {}
    try:
        for part, array in (("keys", keys), ("vectors", vectors)):
            path = folder / f"{name}.{part}.npy"
            tmp = folder / f".{path.name}.tmp"
            with open(tmp, "wb") as f:
                np.save(f, array, allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
            sums[path.name] = _sha256(tmp)
            os.replace(tmp, path)
        fsync_folder(folder)  # both renames durable before the manifest makes the segment count
        manifest = {"format": FORMAT, "model": model, "dimension": dimension, "count": len(keys), "sha256": sums}
        write_atomic(folder / f"{name}.json", json.dumps(manifest, indent=1))
    except BaseException:
        for path in folder.glob(f"*{name}.*"):
            path.unlink(missing_ok=True)
        raise
    return _Segment(folder, name, manifest, keys, vectors)


def _delete(segments: list[_Segment]) -> None:
    for segment in segments:
        for path in segment.files():
            path.unlink(missing_ok=True)


def _remove_leftovers(folder: Path) -> None:
    """Delete the files of segments without a readable manifest (an interrupted write) once they are a minute old."""
    groups: dict[str, list[Path]] = {}
    for path in folder.iterdir():
        if match := _SEGMENT_FILE.match(path.name):
            groups.setdefault(match[1], []).append(path)
    for seg_id, paths in groups.items():
        if _read_manifest(folder / f"seg-{seg_id}.json") is not None:
            continue
        try:
            newest = max(p.stat().st_mtime for p in paths)
        except OSError:  # removed meanwhile
            continue
        if time.time() - newest > LEFTOVER_AGE_S:
            for path in paths:
                path.unlink(missing_ok=True)


def _import_legacy(folder: Path) -> None:
    """The old layout (keys.json naming its vectors-*.npy, the model recorded inside) becomes one segment of that
    model, once; the legacy files are then removed. A damaged legacy cache is not imported, only removed."""
    keys_file = folder / "keys.json"
    if not keys_file.is_file():
        return
    legacy = _read_legacy(folder, keys_file)
    try:
        if legacy and len(legacy[2]):
            _write_segment(folder, *legacy)
        for path in [keys_file, *folder.glob("vectors*.npy"), *folder.glob(".vectors-*.tmp")]:
            path.unlink(missing_ok=True)
    except OSError as e:  # not written: the legacy files stay, to be imported next time
        log.warning("embedding cache %s: the old cache was not imported (%s)", folder, e)


def _read_legacy(folder: Path, keys_file: Path) -> tuple[str, int, np.ndarray, np.ndarray] | None:
    """The old cache's model, dimension, sorted digests and their vectors; None when damaged in any way."""
    try:
        legacy = json.loads(keys_file.read_text(encoding="utf-8"))
        name = legacy.get("vectors", "vectors.npy")  # older caches: vectors.npy
        if not isinstance(name, str) or not re.fullmatch(r"vectors(?:-[0-9a-f]{12})?\.npy", name):
            raise ValueError(f"keys.json names {name!r} as its vectors")  # a file of this folder, never a path out
        vectors = np.load(folder / name, allow_pickle=False)
        keys = [_from_hex(k) for k in legacy["keys"]]
        if not isinstance(legacy["model"], str) or None in keys or vectors.ndim != 2 or vectors.dtype.kind != "f":
            raise ValueError("not a cache")
        digests = np.array(keys, dtype=KEY)
        if len(digests) != len(vectors) or len(np.unique(digests)) != len(digests):
            raise ValueError("keys and vectors differ")
        order = np.argsort(digests)
        return legacy["model"], vectors.shape[1], digests[order], np.ascontiguousarray(vectors[order], np.float32)
    except Exception:  # damaged in any way: nothing to import
        return None


def _read_manifest(path: Path) -> dict | None:
    """A segment's manifest; None when missing or unreadable (a write cut short)."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _from_hex(key: object) -> bytes | None:
    try:
        digest = bytes.fromhex(key)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return digest if len(digest) == 20 else None


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
