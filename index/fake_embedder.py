"""A deterministic stand-in for the embedding model: feature hashing, no weights, no torch.

For tests and examples that exercise indexing, search, answers and citations without paying for the real model.
Texts sharing words (and word pairs) get similar vectors, which is enough for plumbing; ranking quality is only
ever measured with the real model.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import numpy as np

_WORD = re.compile(r"\w+")


@lru_cache(maxsize=1 << 16)
def _bucket_and_sign(feature: str, dimension: int) -> tuple[int, float]:
    # hashlib, not hash(): Python salts str hashes per process, and the vectors must not change between runs
    value = int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "big")
    return value % dimension, 1.0 if value >> 63 else -1.0


class HashingEmbedder:
    """Lowercased word unigrams and bigrams hashed into ``dimension`` signed buckets, L2-normalised float32.

    Its ``name`` is never a model's, so an index built with it is refused by a searcher using the real model
    (and vice versa), and its vectors never share cache entries with the model's."""

    def __init__(self, dimension: int = 384, *, max_seq_length: int = 256) -> None:
        if dimension < 2:
            raise ValueError(f"dimension: {dimension}; needs at least 2 buckets")
        self.dimension = dimension
        self.max_seq_length = max_seq_length  # words read per text, as the model reads that many word pieces
        self.name = f"fake-hashing-embedder-v1-{dimension}d"

    def features(self, text: str) -> list[str]:
        words = _WORD.findall(text.lower())[: self.max_seq_length]
        if not words:  # punctuation only, or nothing: still a unit vector, as the model always gives one
            return [f"\x00{text.strip()}"]
        return words + [f"{a} {b}" for a, b in zip(words, words[1:])]

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature in self.features(text):
                bucket, sign = _bucket_and_sign(feature, self.dimension)
                vectors[row, bucket] += sign
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        # features can cancel out exactly (+1 and -1 in one bucket); such a text keeps one fixed direction
        vectors[norms[:, 0] == 0, 0] = 1.0
        norms[norms == 0] = 1.0
        return vectors / norms
