"""Keyword index: BM25 (as bm25s scores it) over a tokenizer that keeps identifiers searchable as users type them.

"36 (e)", "12(1)", "2022–2024", "1,472", "CEDAW", "Article 11" must match the text however they are spaced:
numbers lose their thousands separators, a number followed by "(x)" also yields the joined token "36(e)",
ranges yield both ends and the range, and words are stemmed (PyStemmer) with English stop words removed.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from scipy import sparse

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


# The same word written differently by the two reports: a Kazakh word transliterated ("Mazhilis" in the review,
# "Majilis" in the CEDAW report) or an office renamed in translation (the review's "Ombudsman" is the CEDAW report's
# "Ombudsperson"). A query naming one also finds the other. Query side only, so no index needs rebuilding.
_SPELLED_ALIKE = [{"mazhili", "majili", "majli", "mazhli"}, {"maslikhat", "maslihat"}, {"akimat", "akimiat"},
                  {"kurultai", "kuryltay"}, {"ombudsman", "ombudsperson"}]
_VARIANTS = {t: group for group in _SPELLED_ALIKE for t in group}


def query_tokens(query: str) -> list[str]:
    """``tokenize(query)`` plus the other spellings of any transliterated word it holds."""
    tokens = tokenize(query)
    return tokens + [v for t in tokens for v in sorted(_VARIANTS.get(t, ())) if v != t]


def with_spellings(tokens: list[str]) -> set[str]:
    """``tokens`` and the other spellings of any transliterated word among them: a sentence saying "Majilis" carries
    the question's "Mazhilis" (what the answer step checks a sentence for)."""
    return set(tokens).union(*(_VARIANTS.get(t, ()) for t in tokens))


def _number(value: str) -> str:
    """1,472 → 1472 (thousands separators go; a decimal comma or point stays: 16,6 / 72.1)."""
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", value):
        return value.replace(",", "")
    return value


# bm25s's defaults (method "lucene"), which scored the index before it was sharded: the same scores, to float32 noise
K1, B = 1.5, 0.75


@dataclass
class Postings:
    """One shard's keyword index: term frequencies as a sparse matrix (passages × terms, CSC: a term's postings
    are contiguous), its vocabulary and each passage's length in tokens.

    Why not bm25s here: bm25s stores scores already multiplied by the idf and average length of the corpus it
    indexed, so two of its indexes can never be summed into one ranking. Postings keep raw counts; ``KeywordScorer``
    applies BM25 with statistics summed over every live shard, so N shards rank exactly as one index would."""

    vocab: dict[str, int]
    indptr: np.ndarray  # int64, len(vocab) + 1: term t's postings are rows[indptr[t]:indptr[t + 1]]
    rows: np.ndarray  # int32 passage rows
    tf: np.ndarray  # float32 term frequencies
    lengths: np.ndarray  # int32 tokens per passage (at least 1, as bm25s counted an empty passage)

    @classmethod
    def build(cls, texts: list[str]) -> Postings:
        vocab: dict[str, int] = {}
        rows, cols, counts, lengths = [], [], [], []
        for row, text in enumerate(texts):
            tokens = tokenize(text)
            lengths.append(max(len(tokens), 1))
            for token, count in Counter(tokens).items():
                rows.append(row)
                cols.append(vocab.setdefault(token, len(vocab)))
                counts.append(count)
        return cls._from_triples(vocab, np.asarray(rows, np.int64), np.asarray(cols, np.int64),
                                 np.asarray(counts, np.float32), np.asarray(lengths, np.int32))

    @classmethod
    def counted(cls, groups: list[list[str]]) -> Postings:
        """Per group of texts (a report's sentences), how many of its texts hold each term; ``lengths`` is the number
        of texts in each group. What sentence-level document frequencies need, summed over live groups, at a few
        entries per report and term instead of one per sentence."""
        vocab: dict[str, int] = {}
        rows, cols, counts = [], [], []
        for row, texts in enumerate(groups):
            held: Counter[str] = Counter()
            for text in texts:
                held.update(set(tokenize(text)))
            for token, count in held.items():
                rows.append(row)
                cols.append(vocab.setdefault(token, len(vocab)))
                counts.append(count)
        return cls._from_triples(vocab, np.asarray(rows, np.int64), np.asarray(cols, np.int64),
                                 np.asarray(counts, np.float32), np.asarray([len(g) for g in groups], np.int32))

    @classmethod
    def _from_triples(cls, vocab: dict[str, int], rows, cols, tf, lengths) -> Postings:
        matrix = sparse.csc_matrix((tf, (rows, cols)), shape=(len(lengths), len(vocab)), dtype=np.float32)
        matrix.sort_indices()
        return cls(vocab, matrix.indptr.astype(np.int64), matrix.indices.astype(np.int32),
                   matrix.data.astype(np.float32), lengths)

    @classmethod
    def merge(cls, parts: list[tuple[Postings, np.ndarray]], n_rows: int) -> Postings:
        """One set of postings from several: ``parts`` pairs each with its row map (old row → new row, -1 to drop).
        Counts are copied, never re-tokenized: compaction costs no tokenizer pass."""
        vocab: dict[str, int] = {}
        rows, cols, tf = [], [], []
        lengths = np.ones(n_rows, dtype=np.int32)
        for postings, row_map in parts:
            kept = row_map >= 0
            lengths[row_map[kept]] = postings.lengths[kept]
            to_global = np.array([vocab.setdefault(t, len(vocab)) for t in postings.vocab], dtype=np.int64)
            local_cols = np.repeat(np.arange(len(postings.vocab)), np.diff(postings.indptr))
            new_rows = row_map[postings.rows]
            live = new_rows >= 0
            rows.append(new_rows[live])
            cols.append(to_global[local_cols[live]])
            tf.append(postings.tf[live])
        merged = cls._from_triples(vocab, np.concatenate(rows or [np.zeros(0, np.int64)]),
                                   np.concatenate(cols or [np.zeros(0, np.int64)]),
                                   np.concatenate(tf or [np.zeros(0, np.float32)]), lengths)
        used = np.diff(merged.indptr) > 0  # terms only dropped passages held: out of the vocabulary
        if used.all():
            return merged
        terms = [t for t, i in sorted(vocab.items(), key=lambda kv: kv[1]) if used[i]]
        keep_cols = np.flatnonzero(used)
        starts, ends = merged.indptr[keep_cols], merged.indptr[keep_cols + 1]
        take = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends)] or [np.zeros(0, np.int64)])
        indptr = np.concatenate([[0], np.cumsum(ends - starts)]).astype(np.int64)
        return cls({t: i for i, t in enumerate(terms)}, indptr, merged.rows[take], merged.tf[take], lengths)

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        col = self.vocab.get(term)
        if col is None:
            return None
        a, b = self.indptr[col], self.indptr[col + 1]
        return self.rows[a:b], self.tf[a:b]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        (folder / "vocab.json").write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
        for name in ("indptr", "rows", "tf", "lengths"):
            np.save(folder / f"{name}.npy", getattr(self, name), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> Postings:
        terms = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        arrays = {name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in ("indptr", "rows", "tf", "lengths")}
        postings = cls({t: i for i, t in enumerate(terms)}, **arrays)
        n = len(postings.lengths)
        if not (isinstance(terms, list) and len(postings.indptr) == len(terms) + 1 and postings.indptr[-1] == len(postings.rows)
                == len(postings.tf) and (len(postings.rows) == 0 or 0 <= postings.rows.min() <= postings.rows.max() < n)):
            raise ValueError("keyword postings do not fit together")
        return postings


class KeywordScorer:
    """BM25 over the live passages of several shards, with corpus-wide statistics: N, the average length and each
    term's document frequency are summed over the live rows of every shard, so the scores equal one index built
    over the same passages (a removed report's passages count nowhere). ``parts`` pairs each shard's postings with
    its row map (shard row → row of the merged view, -1 for a removed passage)."""

    def __init__(self, parts: list[tuple[Postings, np.ndarray]], n_rows: int) -> None:
        self.parts = parts
        self.n_rows = n_rows
        self.total_length = sum(int(postings.lengths[row_map >= 0].sum(dtype=np.int64)) for postings, row_map in parts)
        self.average_length = self.total_length / n_rows if n_rows else 1.0
        # A term's live rows and BM25 weights never change for this view; queries repeat their terms, and walking
        # the postings again was a fifth of a served request's own work. Kept within a byte budget.
        self._weights = _ByteBudgetCache(WEIGHT_CACHE_BYTES)

    @classmethod
    def over(cls, texts: list[str]) -> KeywordScorer:
        """A scorer over ``texts`` alone (one set of postings, every row live): the BEIR benchmark's keyword index."""
        return cls([(Postings.build(texts), np.arange(len(texts)))], len(texts))

    def document_frequencies(self, terms: list[str]) -> list[int]:
        """How many live passages hold each term (a replica's share of corpus-wide statistics)."""
        return [self._document_frequency(term) for term in terms]

    def _document_frequency(self, term: str) -> int:
        key = ("df", term)
        found = self._weights.get(key)
        if found is None:
            found = sum(len(self._live_postings(postings, row_map, term)[0]) for postings, row_map in self.parts)
            self._weights.put(key, found, 64)
        return found

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every live passage for ``query`` (zeros when no query term is known)."""
        terms = list(dict.fromkeys(query_tokens(query)))
        return self.scores_with(terms, self.document_frequencies(terms), self.n_rows, self.average_length)

    def scores_with(self, terms: list[str], df: list[int], n_total: int, average_length: float) -> np.ndarray:
        """BM25 of these rows with statistics given from outside (summed over every replica of a cluster), so each
        replica scores its passages exactly as one index over the whole corpus would."""
        out = np.zeros(self.n_rows, dtype=np.float32)
        for term, frequency in zip(terms, df):
            if frequency == 0:
                continue
            rows, weights = self._term_weights(term, frequency, n_total, average_length)
            out[rows] += weights  # shards' rows are disjoint: the same float32 sums as one shard after another
        return out

    def _term_weights(self, term: str, frequency: int, n_total: int, average_length: float):
        """(live rows, their float32 BM25 weight for ``term``), computed once per term and statistics."""
        key = (term, frequency, n_total, average_length)
        found = self._weights.get(key)
        if found is not None:
            return found
        idf = np.float32(math.log(1 + (n_total - frequency + 0.5) / (frequency + 0.5)))
        rows_parts, weight_parts = [], []
        for postings, row_map in self.parts:  # as bm25s: float64 term weight, stored as float32, summed in float32
            rows, tf, lengths = self._live_postings(postings, row_map, term)
            norm = K1 * ((1 - B) + B * lengths.astype(np.float64) / average_length)
            rows_parts.append(rows)
            weight_parts.append((np.float64(idf) * (tf / (norm + tf))).astype(np.float32))
        found = (np.concatenate(rows_parts), np.concatenate(weight_parts))
        self._weights.put(key, found, found[0].nbytes + found[1].nbytes)
        return found

    @staticmethod
    def _live_postings(postings: Postings, row_map: np.ndarray, term: str):
        hit = postings.postings(term)
        if hit is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.int32)
        rows = row_map[hit[0]]
        live = rows >= 0
        return rows[live], hit[1][live], postings.lengths[hit[0][live]]


WEIGHT_CACHE_BYTES = 64 << 20  # per scorer: every term of thousands of queries at two reports; the common ones at 1M


class _ByteBudgetCache:
    """A least-recently-used map whose entries' sizes add up to at most ``budget`` bytes, safe across request
    threads. (functools.lru_cache bounds the count, and one common term's arrays at a million passages weigh
    megabytes.)"""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key, value, size: int) -> None:
        if size > self.budget:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = (value, size)
            self.used += size
            while self.used > self.budget:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.used -= dropped
