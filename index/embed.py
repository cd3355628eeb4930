"""Embeddings with sentence-transformers, from a model folder on disk (never a hub name), cached by content.

``TextEmbedder`` is what indexing, search and evaluation need from an embedder; ``Embedder`` (the real model)
and ``fake_embedder.HashingEmbedder`` (deterministic, no model: fast tests) both provide it.

The cache (``embedding_cache.EmbeddingCache``, importable from here too) keys each vector by a hash of the model
and the exact text embedded, so re-ingesting a corpus embeds only passages and sentences that are new or changed.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from reportrag.index.embedding_cache import EmbeddingCache  # noqa: F401 — re-exported: callers import it here
from reportrag.index.model_path import model_name


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
    sees a GPU, in fp16; else the CPU), "cpu", "cuda" or "cuda:N". ``runtime``: "torch", or "onnx" for the
    transformer in ONNX Runtime on a CPU (``onnx_runtime``; exported into ``onnx_dir`` once, torch on a GPU)."""

    def __init__(self, model_dir: Path, *, batch_size: int = 64, device: str = "auto", runtime: str = "torch",
                 onnx_dir: Path | None = None) -> None:
        self.model_dir = Path(model_dir)
        self.batch_size = batch_size
        self.device = device
        self.runtime = runtime if onnx_dir is not None else "torch"
        self.onnx_dir = onnx_dir
        self.name = model_name(self.model_dir)
        self._model = None
        self._onnx = None  # the OnnxEncoder, once built; False when torch runs the model after all
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
        if onnx := self.onnx:
            return onnx.encode(texts, self.batch_size)
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    @property
    def on_gpu(self) -> bool:
        """Does the model run on a GPU (loading it to know, as "auto" decides when it loads)?"""
        return str(self.model.device).startswith("cuda")

    @property
    def onnx(self):
        """The model with its transformer in ONNX Runtime when ``runtime`` asks for it on a CPU, else None."""
        if self._onnx is None:
            model = self.model
            with self._loading:
                if self._onnx is None:
                    self._onnx = self.runtime == "onnx" and str(model.device) == "cpu" and _onnx_encoder(
                        model, self.onnx_dir, self.name)
                    if self._onnx:
                        # ONNX Runtime holds its own copy of the weights and every encode goes there from now on:
                        # torch's copy is released (all-mpnet-base-v2: 1,474 → 928 MiB of resident memory)
                        model[0].to("meta")
        return self._onnx or None


def _onnx_encoder(model, folder: Path, name: str):
    import torch
    from reportrag.index.onnx_runtime import onnx_encoder

    return onnx_encoder(model, folder, name, threads=torch.get_num_threads()) or False


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
