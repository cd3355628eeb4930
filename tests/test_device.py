"""The embedding device: chosen automatically (CUDA in fp16 when there is a GPU), overridable by a setting."""

from __future__ import annotations

import numpy as np
import pytest

from reportrag.core.settings import Settings
from reportrag.index.embed import Embedder, choose_device, folder_dimension
from reportrag.index.model_path import default_model_path


def model_folder():
    """The configured model (REPORTRAG_MODEL_PATH), else the bundled one."""
    return Settings.from_env().index.model_path or default_model_path()


def _cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def test_an_explicit_device_is_kept():
    assert choose_device("cpu") == "cpu" and choose_device("cuda:1") == "cuda:1"


def test_auto_picks_the_cpu_without_a_gpu():
    assert choose_device("auto") == ("cuda" if _cuda() else "cpu")


def test_a_bad_device_setting_is_refused():
    with pytest.raises(ValueError):
        Settings(device="gpu0")


def test_dimension_and_length_are_read_without_loading_the_model():
    embedder = Embedder(model_folder())
    assert (embedder.dimension, embedder.max_seq_length, embedder.loaded) == (384, 256, False)
    assert folder_dimension(model_folder()) == 384


@pytest.mark.skipif(not _cuda(), reason="no CUDA GPU here: the GPU path runs where one exists")
def test_the_gpu_path_embeds_like_the_cpu():
    texts = ["What does Kazakhstan say about shelters for victims of domestic violence?", "death penalty"] * 8
    gpu = Embedder(model_folder(), device="auto")
    cpu = Embedder(model_folder(), device="cpu")
    a, b = gpu.encode(texts), cpu.encode(texts)
    assert str(gpu.model.device).startswith("cuda") and next(gpu.model.parameters()).dtype.itemsize == 2  # fp16
    assert a.dtype == np.float32 and np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-3)
    assert float(np.min(np.sum(a * b, axis=1))) > 0.999  # fp16 moves the vectors by rounding only


@pytest.mark.skipif(not _cuda(), reason="no CUDA GPU here: the GPU path runs where one exists")
def test_questions_on_a_gpu_stay_on_torch(tmp_path):
    """query_runtime "onnx" is for a CPU (onnxruntime here has no CUDA provider): a GPU model keeps torch in fp16."""
    gpu = Embedder(model_folder(), device="auto", runtime="onnx", onnx_dir=tmp_path)
    assert gpu.encode(["death penalty"]).shape == (1, 384)
    assert gpu.onnx is None and not list(tmp_path.iterdir())
