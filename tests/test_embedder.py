"""The embedder protocol and its deterministic stand-in, ``HashingEmbedder``; the real model's side is slow-tier."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from reportrag.index import search_index as store
from reportrag.index.embed import Embedder, EmbeddingCache, TextEmbedder
from reportrag.index.fake_embedder import HashingEmbedder
from reportrag.index.model_path import default_model_path, model_name

from reportrag.core.errors import IndexMismatch
from reportrag.core.settings import PROJECT_ROOT

TEXTS = ["Equal pay for work of equal value", "the death penalty was abolished", "", "?!", "Мен Кәсіпкер"]


def test_hashing_embedder_provides_the_protocol():
    embedder = HashingEmbedder()
    assert isinstance(embedder, TextEmbedder)
    vectors = embedder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), embedder.dimension) and vectors.dtype == np.float32
    assert vectors.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)  # text without words included
    assert embedder.encode([]).shape == (0, embedder.dimension)


def test_shared_words_and_word_order_move_vectors_together():
    embedder = HashingEmbedder()
    pay, pay_again, reordered, death = embedder.encode(
        ["equal pay for women", "EQUAL PAY for Women", "women for pay equal", "the death penalty"]
    )
    assert pay @ pay_again == pytest.approx(1.0)  # case does not matter
    assert 0.3 < pay @ reordered < 0.99  # same words, other bigrams
    assert abs(pay @ death) < 0.3


def test_vectors_are_the_same_in_every_process():
    """Python salts ``hash()`` per process; the stand-in's vectors must not depend on it."""
    script = (
        "import json, sys; from reportrag.index.fake_embedder import HashingEmbedder; "
        "print(json.dumps(HashingEmbedder(64).encode(json.loads(sys.argv[1])).tolist()))"
    )
    runs = [
        subprocess.run([sys.executable, "-c", script, json.dumps(TEXTS)], capture_output=True, text=True, check=True,
                       cwd=PROJECT_ROOT, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1]
    np.testing.assert_array_equal(np.array(json.loads(runs[0]), dtype=np.float32), HashingEmbedder(64).encode(TEXTS))


def test_words_past_max_seq_length_are_ignored_as_the_model_ignores_them():
    embedder = HashingEmbedder(max_seq_length=4)
    a, b = embedder.encode(["one two three four five", "one two three four six"])
    assert a @ b == pytest.approx(1.0)


def test_name_never_passes_for_the_models(tmp_path):
    assert HashingEmbedder().name != model_name(default_model_path())
    assert HashingEmbedder(64).name != HashingEmbedder(384).name
    cache = EmbeddingCache(tmp_path, HashingEmbedder().name, 384)
    model_cache = EmbeddingCache(tmp_path, model_name(default_model_path()), 384)
    assert cache.key("same text") != model_cache.key("same text")


def test_an_index_built_by_the_stand_in_is_refused_under_the_models_name(fake_settings):
    with pytest.raises(IndexMismatch):
        store.load(fake_settings.index.index_dir, model=model_name(default_model_path()))
    assert store.load(fake_settings.index.index_dir, model=HashingEmbedder().name).manifest["dimension"] == 384


def test_cache_round_trip_with_the_stand_in(tmp_path):
    embedder = HashingEmbedder()
    cache = EmbeddingCache(tmp_path, embedder.name, embedder.dimension)
    vectors, fresh = cache.embed(TEXTS, embedder)
    assert fresh == len(TEXTS)
    cache.save()
    again, fresh = EmbeddingCache(tmp_path, embedder.name, embedder.dimension).embed(TEXTS, embedder)
    assert fresh == 0
    np.testing.assert_array_equal(again, vectors)


@pytest.mark.slow
def test_the_real_model_provides_the_protocol():
    embedder = Embedder(default_model_path())
    assert isinstance(embedder, TextEmbedder)
    assert (embedder.name, embedder.dimension, embedder.max_seq_length) == (model_name(default_model_path()), 384, 256)
    vectors = embedder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
