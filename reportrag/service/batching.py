"""Micro-batching: the query embeddings of requests that arrive together go through the model as one batch.

Under load, the requests that arrive while a pass runs go through the next pass together, instead of each
queueing behind every other request's own pass. A lone request may also wait up to ``max_wait`` for company:
worth it on a GPU, where a pass over 16 questions costs about what one costs. On a CPU one question costs 4.0 ms
against 3.6 in a batch (ONNX Runtime): without the wait one user's answers came 1.8× faster, and 32 clients' as
fast (BENCHMARKS.md), so ``max_wait=None`` (the server's) waits only where the model runs on a GPU. The wrapper has the embedder's interface (``encode``, ``name``, ``dimension``), so the searcher and the
answer code use it unchanged; everything after the embedding (scoring, answers) runs outside the model lock.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future

import numpy as np

log = logging.getLogger(__name__)

GPU_WAIT = 0.004  # seconds a lone request waits for company where the model runs on a GPU


class BatchingEmbedder:
    def __init__(self, embedder, *, max_batch: int = 64, max_wait: float | None = 0.004,
                 bfloat16: bool = False) -> None:
        self.embedder = embedder
        self.bfloat16 = bfloat16  # questions through the model in bfloat16 on a CPU (query_precision)
        self.max_batch = max_batch
        # seconds a request waits for others before its batch goes; None: GPU_WAIT on a GPU, none elsewhere,
        # decided at the first request (the model's device is known once it loads, and opening a searcher to cite
        # must not import torch to find out)
        self.max_wait = max_wait
        self._pending: list[tuple[list[str], Future]] = []
        self._cond = threading.Condition()
        self._worker = threading.Thread(target=self._run, name="reportrag-embed", daemon=True)
        self._worker.start()
        self.batches = 0  # forward passes run, for the benchmark and tests

    @property
    def name(self) -> str:
        return self.embedder.name

    @property
    def dimension(self) -> int:
        return self.embedder.dimension

    def __getattr__(self, attribute):  # model_dir, max_seq_length …: whatever else callers read of the embedder
        return getattr(self.embedder, attribute)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return self.embedder.encode(texts)
        future: Future = Future()
        with self._cond:
            self._pending.append((list(texts), future))
            self._cond.notify()
        return future.result()

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            texts = [t for request, _ in batch for t in request]
            try:
                vectors = self._encode(texts)
            except BaseException as e:  # every waiting request gets the error, none hangs
                for _, future in batch:
                    future.set_exception(e)
                continue
            self.batches += 1
            start = 0
            for request, future in batch:
                future.set_result(vectors[start : start + len(request)])
                start += len(request)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not self.bfloat16:
            return self.embedder.encode(texts)
        try:
            with _cpu_bfloat16():
                return self.embedder.encode(texts)
        except RuntimeError as e:  # seen with torch 2.11: "mixed dtype (CPU)" in LayerNorm under autocast
            log.warning("bfloat16 questions failed (%s); embedding them in float32 from now on", e)
            self.bfloat16 = False
            return self.embedder.encode(texts)

    def _next_batch(self) -> list[tuple[list[str], Future]]:
        """Wait for a first request, then up to ``max_wait`` for more, up to ``max_batch`` texts."""
        with self._cond:
            while not self._pending:
                self._cond.wait()
        if self.max_wait is None:  # outside the lock: this may load the model
            self.max_wait = GPU_WAIT if getattr(self.embedder, "on_gpu", False) else 0.0
        with self._cond:
            deadline = time.monotonic() + self.max_wait
            while sum(len(r) for r, _ in self._pending) < self.max_batch:
                left = deadline - time.monotonic()
                if left <= 0 or not self._cond.wait(left):
                    break
            batch, size = [], 0
            while self._pending and (not batch or size + len(self._pending[0][0]) <= self.max_batch):
                request = self._pending.pop(0)
                batch.append(request)
                size += len(request[0])
            return batch


def _cpu_bfloat16():
    """bfloat16 autocast for a model on the CPU (a CUDA model keeps its fp16)."""
    import torch  # the worker thread's own: autocast state is per thread

    return torch.autocast("cpu", dtype=torch.bfloat16)
