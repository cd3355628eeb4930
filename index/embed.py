"""Embeddings with sentence-transformers, from a model folder on disk (never a hub name), cached by content.

``TextEmbedder`` is what indexing, search and evaluation need from an embedder; ``Embedder`` (the real model)
and ``fake_embedder.HashingEmbedder`` (deterministic, no model: fast tests) both provide it.

The cache keys each vector by a hash of the model and the exact text embedded, so re-ingesting a corpus
embeds only passages and sentences that are new or changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import uuid
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from reportrag.index.model_path import model_name

from reportrag.core.files import fsync_folder, write_atomic


@runtime_checkable
class TextEmbedder(Protocol):
    """What the index, the searcher, answers and the benchmarks use from an embedder."""

    name: str  # recorded in the index and the cache keys: an index is only ever searched by the embedder that built it
    dimension: int
    max_seq_length: int  # word pieces read per text; the rest is ignored (reported by the BEIR benchmark)

    def encode(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised float32 row per text, shape ``(len(texts), dimension)``."""
        ...


class Embedder:
    """all-MiniLM-L6-v2 (or any sentence-transformers folder): normalized float32 vectors, batched.

    The model loads on the first ``encode``, not before: opening an index, reading reports, citing and removing
    a report whose neighbours' vectors are cached never pay its seconds. ``device``: "auto" (CUDA when torch
    sees a GPU, in fp16; else the CPU), "cpu", "cuda" or "cuda:N"."""

    def __init__(self, model_dir: Path, *, batch_size: int = 64, device: str = "auto") -> None:
        self.model_dir = Path(model_dir)
        self.batch_size = batch_size
        self.device = device
        self.name = model_name(self.model_dir)
        self._model = None
        self._loading = threading.Lock()
        self.dimension = folder_dimension(self.model_dir) or self.model.get_sentence_embedding_dimension()
        config = _read_json(self.model_dir / "sentence_bert_config.json") or {}
        self.max_seq_length = int(config.get("max_seq_length") or self.model.max_seq_length)

    @property
    def model(self):
        with self._loading:
            if self._model is None:
                self._model = _load(self.model_dir, self.device)
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def choose_device(setting: str = "auto") -> str:
    """The device a model runs on: the setting, or for "auto" CUDA when torch sees a GPU, else the CPU."""
    if setting != "auto":
        return setting
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _load(model_dir: Path, device_setting: str):
    from sentence_transformers import SentenceTransformer  # heavy: loaded only when a text must be embedded
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Loading weights" bars in CLI output
    device = choose_device(device_setting)
    model = SentenceTransformer(str(model_dir), device=device, local_files_only=True)
    if device.startswith("cuda"):
        model.half()  # fp16 on the GPU: the same ranking at half the memory traffic (SCALE-NOTES: 5.9k texts/s)
    return model


def folder_dimension(model_dir: Path) -> int | None:
    """The output dimension a sentence-transformers folder declares (a Dense layer's, else the pooling's), read
    without loading the model; None when the folder does not say."""
    modules = _read_json(Path(model_dir) / "modules.json") or []
    dimension = None
    for module in modules:
        config = _read_json(Path(model_dir) / module.get("path", "") / "config.json") or {}
        if module.get("type", "").endswith("Pooling"):
            dimension = config.get("word_embedding_dimension", dimension)
        elif module.get("type", "").endswith("Dense"):
            dimension = config.get("out_features", dimension)
    return int(dimension) if dimension else None


def _read_json(path: Path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _vectors_name(name: object) -> str:
    """The vectors file keys.json names: a plain file name in the cache folder, never a path out of it."""
    if not isinstance(name, str) or not re.fullmatch(r"vectors(?:-[0-9a-f]{12})?\.npy", name):
        raise ValueError(f"keys.json names {name!r} as its vectors")
    return name


class EmbeddingCache:
    """Vectors keyed by sha1(model, text), stored as ``keys.json`` + the ``vectors-*.npy`` it names (no pickle)."""

    def __init__(self, folder: Path, model_name: str, dimension: int) -> None:
        self.folder, self.model_name, self.dimension = Path(folder), model_name, dimension
        self._vectors: dict[str, np.ndarray] = {}
        try:
            keys = json.loads((self.folder / "keys.json").read_text(encoding="utf-8"))
            # keys.json names the vectors file it goes with (older caches: vectors.npy)
            vectors = np.load(self.folder / _vectors_name(keys.get("vectors", "vectors.npy")), allow_pickle=False)
            if keys.get("model") == model_name and vectors.shape == (len(keys["keys"]), dimension):
                self._vectors = dict(zip(keys["keys"], vectors))
        except Exception:  # no cache, or a damaged one of any shape: everything is embedded again, never a crash loop
            self._vectors = {}

    def key(self, text: str) -> str:
        return hashlib.sha1(f"{self.model_name}\x1f{text}".encode()).hexdigest()

    def embed(self, texts: list[str], embedder: TextEmbedder) -> tuple[np.ndarray, int]:
        """Vectors for ``texts`` (cached or computed) and how many had to be computed."""
        keys = [self.key(t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in self._vectors}.items())
        if missing:
            fresh = embedder.encode([t for _, t in missing])
            self._vectors.update({k: v for (k, _), v in zip(missing, fresh)})
        out = np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, self.dimension), np.float32)
        return out.astype(np.float32), len(missing)

    def save(self, keep: set[str] | None = None) -> None:
        """Write the cache, keeping only ``keep`` keys when given (what the current corpus uses)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = sorted(k for k in self._vectors if keep is None or k in keep)
        vectors = np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, self.dimension), np.float32)
        # Keys and vectors must change together: the vectors go to a new file, then keys.json (one atomic
        # replace) switches to it. Replacing vectors.npy first and keys.json second let a crash in between pair
        # new vectors with old keys, and with equal counts the wrong vectors were served silently ever after.
        name = f"vectors-{uuid.uuid4().hex[:12]}.npy"
        tmp = self.folder / f".{name}.tmp"
        with open(tmp, "wb") as f:
            np.save(f, vectors, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())  # on disk before keys.json names it: a power cut never pairs keys with no vectors
        tmp.replace(self.folder / name)
        fsync_folder(self.folder)
        write_atomic(self.folder / "keys.json", json.dumps({"model": self.model_name, "keys": keys, "vectors": name}))
        for old in self.folder.glob("vectors*.npy"):  # the previous file(s); a reader still holding one is unaffected
            if old.name != name:
                old.unlink(missing_ok=True)
