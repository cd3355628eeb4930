"""Keyword index: bm25s over a tokenizer that keeps identifiers searchable as users type them.

"36 (e)", "12(1)", "2022–2024", "1,472", "CEDAW", "Article 11" must match the text however they are spaced:
numbers lose their thousands separators, a number followed by "(x)" also yields the joined token "36(e)",
ranges yield both ends and the range, and words are stemmed (PyStemmer) with English stop words removed.
"""

from __future__ import annotations

import re
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

_TOKEN = re.compile(
    r"(?P<ident>\d+(?:[.,]\d+)*\s?\((?:[a-z]|\d{1,2})\))"  # 36 (e), 12(1)
    r"|(?P<range>\d{4}\s?[–—-]\s?\d{2,4})"  # 2022–2024
    r"|(?P<num>\d+(?:[.,]\d+)*)"  # 1,472  16,6  72.1
    r"|(?P<item>\((?:[a-z]|\d{1,2})\))"  # (e) on its own
    r"|(?P<word>[^\W\d_]+)",  # words, any script
    re.UNICODE,
)
_STOPWORDS = set(bm25s.stopwords.STOPWORDS_EN) if hasattr(bm25s, "stopwords") else set()
_stemmer = Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Index and query tokens. Never fails: any string gives a (possibly empty) list."""
    tokens: list[str] = []
    for m in _TOKEN.finditer(text.lower()):
        kind, value = m.lastgroup, m.group()
        if kind == "ident":
            number, item = re.match(r"(.+?)\s?(\(.+\))", value).groups()
            tokens += [_number(number), item, _number(number) + item]
        elif kind == "range":
            a, b = re.split(r"\s?[–—-]\s?", value)
            tokens += [a, b, f"{a}-{b}"]
        elif kind == "num":
            tokens.append(_number(value))
        elif kind == "item":
            tokens.append(value)
        elif value not in _STOPWORDS and len(value) > 1:
            tokens.append(_stemmer.stemWord(value))
    return tokens


# The same Kazakh word, transliterated differently by the two reports ("Mazhilis" in the review, "Majilis" in the
# CEDAW report): a query naming one also finds the other. Query side only, so no index needs rebuilding.
_SPELLED_ALIKE = [{"mazhili", "majili", "majli", "mazhli"}, {"maslikhat", "maslihat"}, {"akimat", "akimiat"}]
_VARIANTS = {t: group for group in _SPELLED_ALIKE for t in group}


def query_tokens(query: str) -> list[str]:
    """``tokenize(query)`` plus the other spellings of any transliterated word it holds."""
    tokens = tokenize(query)
    return tokens + [v for t in tokens for v in sorted(_VARIANTS.get(t, ())) if v != t]


def _number(value: str) -> str:
    """1,472 → 1472 (thousands separators go; a decimal comma or point stays: 16,6 / 72.1)."""
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", value):
        return value.replace(",", "")
    return value


class KeywordIndex:
    def __init__(self, bm25: bm25s.BM25) -> None:
        self._bm25 = bm25
        self._vocab = bm25.vocab_dict

    @classmethod
    def build(cls, texts: list[str]) -> KeywordIndex:
        bm25 = bm25s.BM25()
        bm25.index([tokenize(t) or [""] for t in texts], show_progress=False)
        return cls(bm25)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query`` (zeros when no query term is known)."""
        ids = [self._vocab[t] for t in dict.fromkeys(query_tokens(query)) if t in self._vocab]
        n = self._bm25.scores["num_docs"]
        return self._bm25.get_scores(ids) if ids else np.zeros(n, dtype=np.float32)

    def save(self, folder: Path) -> None:
        self._bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        return cls(bm25s.BM25.load(str(folder), mmap=False, show_progress=False))
