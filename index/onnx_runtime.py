"""The model's transformer in ONNX Runtime on a CPU: exported once from the loaded model, checked, then run.

Why: torch's eager forward carries a fixed cost per call on two cores (one question: 9 ms for all-MiniLM-L6-v2
where ONNX Runtime takes 4, 55 ms for all-mpnet-base-v2 where it takes 23; batches of 16: 3-15% faster), and
torch's OpenMP worker spins after each call, taking a core from the requests that score and answer. Under 32
clients the server answers about a third more requests a second with it (BENCHMARKS.md: Many users at once).

Why not sentence-transformers' own ``backend="onnx"``: it runs through optimum-onnx, which requires
transformers < 5 (this project runs 5.x).

Only the first module (the transformer) runs in ONNX Runtime. Tokenizing, pooling and normalizing stay
sentence-transformers' own modules, so the vectors are the model's: an export is compared with torch on probe
texts each time it is opened, and anything beyond rounding, or any failure to export or load, leaves the model
on torch with one warning.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

PROBES = (
    "What does Kazakhstan say about shelters for victims of domestic violence?",
    "Article 11",
    ("The Committee recommends that the State party strengthen its efforts to combat trafficking in persons, "
     "in particular of women and children, and provide statistics disaggregated by sex, age and region."),
)
TOLERANCE = 1e-4  # largest difference per component from torch's vector; rounding leaves about 2e-7


class OnnxEncoder:
    """``encode(texts, batch_size)`` as sentence-transformers' ``encode(..., normalize_embeddings=True)``: texts
    longest first in batches (each padded to its own longest), the transformer in ONNX Runtime."""

    def __init__(self, model, session, inputs: list[str]) -> None:
        self.model = model
        self.session = session
        self.inputs = inputs  # the tensors the export takes, by name, as the model's tokenizer gives them

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        import torch

        order = np.argsort([-len(t) for t in texts], kind="stable")
        vectors = None
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            features = self.model.preprocess([texts[i] for i in rows])
            hidden = self.session.run(None, {name: features[name].numpy() for name in self.inputs})[0]
            features["token_embeddings"] = torch.from_numpy(hidden)
            with torch.inference_mode():
                for module in list(self.model)[1:]:  # pooling, normalizing, any dense layer: the model's own
                    features = module(features)
                batch = torch.nn.functional.normalize(features["sentence_embedding"], p=2, dim=1).numpy()
            if vectors is None:
                vectors = np.empty((len(texts), batch.shape[1]), dtype=np.float32)
            vectors[rows] = batch
        return vectors


def onnx_encoder(model, folder: Path, name: str, threads: int) -> OnnxEncoder | None:
    """The loaded sentence-transformers ``model`` with its transformer in ONNX Runtime, exported into ``folder``
    the first time (about 2 s for all-MiniLM-L6-v2, 6 s for all-mpnet-base-v2); None, with a warning, when that
    cannot be done or its vectors are not torch's."""
    try:
        import onnxruntime  # noqa: F401 — a missing package is reported below, once
    except ImportError as e:
        log.warning("questions are embedded by torch: %s (pip install onnxruntime onnx)", e)
        return None
    path = Path(folder) / f"{_file_stem(model, name)}.onnx"
    problem = None
    for export in ((False, True) if path.exists() else (True,)):  # one found damaged or unlike torch: made again
        try:
            if export:
                _export(model, path)
            encoder = OnnxEncoder(model, _session(path, threads), _input_names(model))
            difference = _difference_from_torch(model, encoder)
        except Exception as e:  # noqa: BLE001 — onnx missing, an unexportable architecture, a damaged file: torch still works
            problem = f"{type(e).__name__}: {str(e)[:200]}"
            continue
        if difference <= TOLERANCE:
            return encoder
        problem = f"its vectors differ from torch's by {difference:.1e}"
    log.warning("questions are embedded by torch: the ONNX export of %s (%s) failed: %s", name, path, problem)
    return None


def _file_stem(model, name: str) -> str:
    """The model's name and a digest of its weights' shapes and a sample of values: another model saved under the
    same name gets its own export (the probe check would catch it anyway, at the cost of an export each start)."""
    digest = hashlib.sha256()
    for key, tensor in model.state_dict().items():
        digest.update(f"{key}{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().reshape(-1)[:8].float().cpu().numpy().tobytes())
    return f"{name}-{digest.hexdigest()[:12]}"


def _input_names(model) -> list[str]:
    import torch

    return sorted(name for name, value in model.preprocess([PROBES[0]]).items() if isinstance(value, torch.Tensor))


def _export(model, path: Path) -> None:
    """The transformer module, traced over a probe with batch and length left free, written beside ``path`` and
    renamed into place: two servers exporting at once each write their own file, and a reader never sees half."""
    import torch

    names = _input_names(model)
    transformer = model[0]

    class Transformer(torch.nn.Module):  # positional tensors in, token embeddings out: what the exporter traces
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *tensors):
            return self.transformer(dict(zip(names, tensors)))["token_embeddings"]

    features = model.preprocess(list(PROBES[:2]))
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # a killed export's, once no export could still be writing it
        if time.time() - stale.stat().st_mtime > 600:
            stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide it from another user's server sharing the cache
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes; the probe check is what vouches for the export
            torch.onnx.export(Transformer().eval(), tuple(features[n] for n in names), tmp, input_names=names,
                              output_names=["token_embeddings"], opset_version=17, dynamo=False,
                              dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names},
                                            "token_embeddings": {0: "batch", 1: "tokens"}})
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _session(path: Path, threads: int):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # its threads sleep between calls: under load the request threads need those cores (measured: more requests/s)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: the optimizer's notes are not the user's business
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _difference_from_torch(model, encoder: OnnxEncoder) -> float:
    torch_vectors = model.encode(list(PROBES), batch_size=len(PROBES), normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)
    return float(np.abs(encoder.encode(list(PROBES), len(PROBES)) - torch_vectors).max())
