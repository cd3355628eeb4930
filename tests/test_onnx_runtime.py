"""Questions through ONNX Runtime (index/onnx_runtime.py): the model's own vectors, an export checked each time it
is opened and made again when damaged or unlike the model, and torch whenever ONNX Runtime cannot be used."""

from __future__ import annotations

import copy
import logging
import sys

import numpy as np
import pytest
import torch
from reportrag.eval.runner import load_questions
from reportrag.index import onnx_runtime
from reportrag.index.onnx_runtime import onnx_encoder

from reportrag.core.settings import PROJECT_ROOT, Settings
from reportrag.service import Service, ingesting

QUESTIONS = [q["question"] for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")][:48]


@pytest.fixture(scope="module")
def model(searcher):
    model = searcher.embedder.model
    if model.device.type != "cpu":
        pytest.skip("ONNX Runtime runs the model on a CPU; a GPU keeps torch")
    return model


def _torch(model, texts, batch_size=16):
    return model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)


def test_an_export_gives_the_models_vectors_and_is_reused(model, tmp_path):
    encoder = onnx_encoder(model, tmp_path, "minilm", threads=2)
    assert encoder is not None
    [export] = tmp_path.glob("minilm-*.onnx")
    texts = [*QUESTIONS, " ".join(QUESTIONS)]  # the last is cut at the model's 256 word pieces, as torch cuts it
    for batch_size in (1, 16):
        vectors = encoder.encode(texts, batch_size)
        assert vectors.dtype == np.float32 and vectors.shape == (len(texts), model.get_embedding_dimension())
        assert np.abs(vectors - _torch(model, texts, batch_size)).max() < 1e-5  # rounding, not another model
    written = export.stat().st_mtime_ns
    assert onnx_encoder(model, tmp_path, "minilm", threads=2) is not None
    assert export.stat().st_mtime_ns == written and list(tmp_path.iterdir()) == [export]  # opened, not made again


def test_a_damaged_export_is_made_again(model, tmp_path):
    onnx_encoder(model, tmp_path, "minilm", threads=2)
    [export] = tmp_path.glob("*.onnx")
    size = export.stat().st_size
    with open(export, "r+b") as f:
        f.truncate(size // 3)
    encoder = onnx_encoder(model, tmp_path, "minilm", threads=2)
    assert encoder is not None and export.stat().st_size == size
    assert np.abs(encoder.encode(QUESTIONS[:4], 16) - _torch(model, QUESTIONS[:4])).max() < 1e-5


def test_an_export_unlike_the_model_is_made_again(model, tmp_path, monkeypatch):
    """Another model's export under the same file name (weights changed in place): the probe check finds it."""
    monkeypatch.setattr(onnx_runtime, "_file_stem", lambda model, name: name)
    onnx_encoder(model, tmp_path, "minilm", threads=2)
    changed = copy.deepcopy(model)
    with torch.no_grad():
        for parameter in changed[0].auto_model.encoder.layer[-1].output.dense.parameters():
            parameter.mul_(1.5)
    assert np.abs(_torch(changed, QUESTIONS[:4]) - _torch(model, QUESTIONS[:4])).max() > 1e-3
    encoder = onnx_encoder(changed, tmp_path, "minilm", threads=2)
    assert encoder is not None
    assert np.abs(encoder.encode(QUESTIONS[:4], 16) - _torch(changed, QUESTIONS[:4])).max() < 1e-5


def test_without_onnxruntime_questions_run_on_torch(model, tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed: importing it raises ImportError
    with caplog.at_level(logging.WARNING, logger=onnx_runtime.__name__):
        assert onnx_encoder(model, tmp_path, "minilm", threads=2) is None
    assert "embedded by torch" in caplog.text and "pip install onnxruntime" in caplog.text
    assert not list(tmp_path.iterdir())


def test_an_unexportable_model_leaves_torch(model, tmp_path, monkeypatch, caplog):
    def fails(model, path):
        raise RuntimeError("Unsupported: ONNX export of operator foo")

    monkeypatch.setattr(onnx_runtime, "_export", fails)
    with caplog.at_level(logging.WARNING, logger=onnx_runtime.__name__):
        assert onnx_encoder(model, tmp_path, "minilm", threads=2) is None
    assert "failed: RuntimeError: Unsupported: ONNX export of operator foo" in caplog.text


def test_the_server_answers_the_same_on_either_runtime(search_settings, searcher):
    onnx = Service(search_settings)
    plain = Service(search_settings.but(query_runtime="torch"))
    assert onnx.searcher.embedder.embedder.runtime == "onnx" and onnx.searcher.embedder.embedder.onnx is not None
    assert plain.searcher.embedder.embedder.onnx is None
    for question in QUESTIONS:
        a, b = onnx.search(question, k=10), plain.search(question, k=10)
        assert [h.passage.passage_id for h in a] == [h.passage.passage_id for h in b]
        assert np.allclose([h.score for h in a], [h.score for h in b], atol=1e-5)
    for question in QUESTIONS[:8]:
        a, b = onnx.ask(question).to_json(), plain.ask(question).to_json()
        assert [c["anchor"] for c in a["citations"]] == [c["anchor"] for c in b["citations"]]


def test_bfloat16_questions_run_on_torch(search_settings):
    embedder = ingesting.make_query_embedder(search_settings.but(query_precision="bfloat16"))
    assert embedder.bfloat16 and embedder.embedder.runtime == "torch"  # autocast is torch's


def test_one_question_from_the_command_line_runs_on_torch():
    """Opening and checking the export (0.2-0.8 s) would cost more than it saves on one question."""
    from argparse import Namespace

    from reportrag.skins.cli import _one_shot

    settings = Settings()
    assert _one_shot(settings, Namespace(batch=None)).index.query_runtime == "torch"
    assert _one_shot(settings, Namespace(batch="questions.jsonl")).index.query_runtime == "onnx"


def test_an_embedder_on_onnx_runtime_releases_torchs_weights(search_settings):
    """ONNX Runtime holds its own copy; torch's is released once the export is checked, and encoding goes on."""
    embedder = ingesting.make_query_embedder(search_settings).embedder
    before = embedder.encode(QUESTIONS[:3])
    assert embedder.onnx is not None
    assert {p.device.type for p in embedder.model[0].parameters()} == {"meta"}
    assert np.abs(embedder.encode(QUESTIONS[:3]) - before).max() == 0
