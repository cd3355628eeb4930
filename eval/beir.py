"""Load a BEIR-layout data set and score a search function on it the way BEIR / pytrec_eval do.

Layout: ``corpus.jsonl`` (``{"_id", "title", "text"}``), ``queries.jsonl`` (``{"_id", "text"}``) and
``qrels/<split>.tsv`` (a ``query-id<TAB>corpus-id<TAB>score`` header, then one judgement a line).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from reportrag.eval.metrics import mrr_at_k, ndcg_at_k_graded, recall_at_k_ids

from reportrag.core.errors import BadDataset
from reportrag.retrieval.query import tidy

Corpus = dict[str, dict[str, str]]
Qrels = dict[str, dict[str, int]]


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, stripped line) for each non-blank line; a missing or undecodable file is a BadDataset."""
    if not path.is_file():
        raise BadDataset(f"{path}: file not found (expected a BEIR data set: corpus.jsonl, queries.jsonl, qrels/)")
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line.rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise BadDataset(f"{path}: not UTF-8 text ({exc.reason})") from exc


def _records(path: Path, fields: Sequence[str]) -> Iterator[tuple[str, dict[str, str]]]:
    for number, line in _lines(path):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadDataset(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict) or not isinstance(record.get("_id"), (str, int)):
            raise BadDataset(f'{path}:{number}: expected a JSON object with an "_id"')
        values = {field: record.get(field) or "" for field in fields}
        if not all(isinstance(value, str) for value in values.values()):
            raise BadDataset(f"{path}:{number}: {', '.join(fields)} must be strings")
        yield str(record["_id"]), values


def _qrels(path: Path, known_docs: Container[str] | None = None) -> Qrels:
    qrels: Qrels = {}
    for index, (number, line) in enumerate(_lines(path)):
        cols = line.split("\t")
        if index == 0 and cols[0].strip() == "query-id":
            continue
        if len(cols) != 3:
            raise BadDataset(f"{path}:{number}: expected 3 tab-separated columns (query-id, corpus-id, score)")
        try:
            score = int(cols[2])
        except ValueError:
            raise BadDataset(f"{path}:{number}: score {cols[2]!r} is not an integer") from None
        doc = cols[1].strip()
        if known_docs is not None and doc not in known_docs:
            raise BadDataset(f"{path}:{number}: corpus-id {doc!r} is not in corpus.jsonl")
        qrels.setdefault(cols[0].strip(), {})[doc] = score
    if not qrels:
        raise BadDataset(f"{path}: no relevance judgements")
    return qrels


def load_beir(directory: str | Path, split: str = "test") -> tuple[Corpus, dict[str, str], Qrels]:
    """Read ``(corpus, queries, qrels)``; queries are only those judged in ``qrels/<split>.tsv``.

    Every corpus-id in the qrels must be in ``corpus.jsonl`` (else BadDataset naming the qrels line).
    """
    root = Path(directory)
    corpus = dict(_records(root / "corpus.jsonl", ("title", "text")))
    qrels = _qrels(root / "qrels" / f"{split}.tsv", known_docs=corpus)
    all_queries = {qid: record["text"] for qid, record in _records(root / "queries.jsonl", ("text",))}
    missing = sorted(set(qrels) - set(all_queries))
    if missing:
        raise BadDataset(f"{root}/qrels/{split}.tsv: query ids not in queries.jsonl: {', '.join(missing[:5])}")
    queries = {qid: text for qid, text in all_queries.items() if qid in qrels}
    return corpus, queries, qrels


def evaluate_beir(
    search: Callable[[list[str]], list[list[str]]],
    queries: Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]],
    k_values: Sequence[int] = (10, 100),
) -> dict[str, Any]:
    """Mean nDCG@k and Recall@k over the judged queries, for each k in ``k_values``.

    ``search`` gets all query texts in one batch and returns ranked corpus ids for each. As in BEIR, a hit whose
    id equals its query's id is dropped. A query with no hits scores 0 (pytrec_eval would leave it out).
    Returns ``{"n_queries", "ndcg@k", "recall@k", …, "per_query": {qid: {metric: value}}}``.
    """
    qids = [qid for qid in queries if qid in qrels]
    if not qids:
        raise ValueError("no query has relevance judgements")
    results = search([queries[qid] for qid in qids])
    if len(results) != len(qids):
        raise ValueError(f"search returned {len(results)} result lists for {len(qids)} queries")
    depth = max(k_values)
    per_query: dict[str, dict[str, float]] = {}
    for qid, ranked in zip(qids, results):
        ranked = [doc for doc in ranked if doc != qid][:depth]
        scores: dict[str, float] = {}
        for k in k_values:
            scores[f"ndcg@{k}"] = ndcg_at_k_graded(ranked, qrels[qid], k)
            scores[f"recall@{k}"] = recall_at_k_ids(ranked, qrels[qid], k)
        per_query[qid] = scores
    names = list(next(iter(per_query.values())))
    summary: dict[str, Any] = {"n_queries": len(qids)}
    summary.update({name: sum(s[name] for s in per_query.values()) / len(qids) for name in names})
    summary["per_query"] = per_query
    return summary


# --- Running our retrieval pipeline on a BEIR data set --------------------------------------------------------------
#
# The corpus is indexed in memory the way the reports are: one "passage" per document (title + " " + text, the MTEB
# convention, cut at the model's own token limit when embedded), the sentences of its text (and, optionally, its
# title as one more sentence) for the best-sentence part, and bm25s over our identifier-aware tokenizer. Each mode
# scores every document like ``Searcher.scores``: keyword = BM25, dense = exact cosine of passage vectors, hybrid =
# ``search.fuse`` with the same weights and identifier rule as the reports. Vectors are cached by content under
# ``data/cache/beir/<dataset>/`` so a rerun embeds nothing.

BEIR_MODES = ("keyword", "dense", "hybrid")
DEPTH = 100  # ranked ids kept per query: enough for Recall@100
_EMBED_CHUNK = 2048  # texts embedded between cache saves, so an interrupted first run keeps what it embedded


def default_cache_dir(dataset: str) -> Path:
    from reportrag.core.settings import PROJECT_ROOT

    return PROJECT_ROOT / "data" / "cache" / "beir" / dataset


def default_results_dir() -> Path:
    from reportrag.core.settings import PROJECT_ROOT

    return PROJECT_ROOT / "eval" / "results" / "beir"


def dataset_name(directory: str | Path) -> str:
    return Path(directory).resolve().name


def doc_text(record: Mapping[str, str]) -> str:
    """What a document's passage vector and BM25 entry are built from: ``title + " " + text`` (MTEB)."""
    return f"{record.get('title', '')} {record.get('text', '')}".strip()


def doc_sentences(record: Mapping[str, str]) -> list[str]:
    """The sentences of a document's text, split as the reports' passages are."""
    from reportrag.ingest.sentences import split_sentences

    text = record.get("text", "")
    return [text[span.start : span.end] for span in split_sentences(text)]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Variant:
    """An extra hybrid run reported beside the default: other ``search.Weights`` and/or the title sentence."""

    weights: Any = None  # search.Weights; None: the defaults
    title_sentence: bool = True


@dataclass
class BeirIndex:
    """One dataset's corpus, indexed in memory as our reports are."""

    doc_ids: list[str]
    passage_vectors: np.ndarray  # (n_docs, dim), normalised
    sentence_vectors: np.ndarray  # abstract sentences, then titles
    sentence_owner: np.ndarray  # row of the document each sentence belongs to
    sentence_is_title: np.ndarray  # bool: the title, embedded as one more sentence
    keyword: Any  # index.keyword.KeywordIndex
    timings: dict[str, float]
    embedded_new: int

    def sentences(self, title_sentence: bool) -> tuple[np.ndarray, np.ndarray]:
        if title_sentence:
            return self.sentence_vectors, self.sentence_owner
        keep = ~self.sentence_is_title
        return self.sentence_vectors[keep], self.sentence_owner[keep]


def _embed_cached(
    texts: list[str], embedder: Any, cache: Any, progress: Callable[[str], Any], what: str
) -> tuple[np.ndarray, int]:
    """``cache.embed`` in chunks, saving after each chunk that embedded anything, with a rate and ETA line."""
    todo = len({cache.key(t) for t in texts} - set(cache._vectors))  # noqa: SLF001 — only to report progress
    if todo:
        progress(f"  embedding {todo:,} new {what} (of {len(texts):,}); cached vectors are reused")
    parts, new, start = [], 0, time.perf_counter()
    for i in range(0, len(texts), _EMBED_CHUNK):
        vectors, fresh = cache.embed(texts[i : i + _EMBED_CHUNK], embedder)
        parts.append(vectors)
        if fresh:
            new += fresh
            cache.save()
            rate = new / (time.perf_counter() - start)
            progress(f"  {what}: {new:,}/{todo:,} embedded, {rate:.1f}/s, ~{(todo - new) / rate / 60:.1f} min left")
    out = np.concatenate(parts) if parts else np.zeros((0, embedder.dimension), np.float32)
    return out, new


def build_beir_index(
    corpus: Corpus, embedder: Any, cache_dir: str | Path, *, progress: Callable[[str], Any] = print
) -> BeirIndex:
    """Embed (through the cache) and BM25-index ``corpus``."""
    from reportrag.index.embed import EmbeddingCache
    from reportrag.index.keyword import KeywordIndex

    started = time.perf_counter()
    doc_ids = list(corpus)
    passages = [doc_text(corpus[d]) for d in doc_ids]
    sentence_texts: list[str] = []
    owner: list[int] = []
    for row, doc in enumerate(doc_ids):
        for sentence in doc_sentences(corpus[doc]):
            sentence_texts.append(sentence)
            owner.append(row)
    n_body = len(sentence_texts)
    for row, doc in enumerate(doc_ids):
        title = corpus[doc].get("title", "").strip()
        if title:
            sentence_texts.append(title)
            owner.append(row)
    split_done = time.perf_counter()

    cache = EmbeddingCache(Path(cache_dir), embedder.name, embedder.dimension)
    passage_vectors, new_p = _embed_cached(passages, embedder, cache, progress, "passages")
    sentence_vectors, new_s = _embed_cached(sentence_texts, embedder, cache, progress, "sentences")
    if new_p + new_s:
        cache.save(keep={cache.key(t) for t in passages + sentence_texts})
    embedded = time.perf_counter()

    keyword = KeywordIndex.build(passages)
    done = time.perf_counter()
    is_title = np.zeros(len(sentence_texts), dtype=bool)
    is_title[n_body:] = True
    return BeirIndex(
        doc_ids=doc_ids,
        passage_vectors=passage_vectors,
        sentence_vectors=sentence_vectors,
        sentence_owner=np.asarray(owner, dtype=np.int32),
        sentence_is_title=is_title,
        keyword=keyword,
        timings={
            "split_seconds": split_done - started,
            "embed_seconds": embedded - split_done,
            "keyword_seconds": done - embedded,
            "build_seconds": done - started,
        },
        embedded_new=new_p + new_s,
    )


def beir_scores(
    index: BeirIndex,
    text: str,
    vector: np.ndarray | None,
    mode: str,
    *,
    weights: Any = None,
    title_sentence: bool = True,
) -> np.ndarray:
    """A score for every document: the very scorer the reports' search runs (``retrieval.scoring.scores``)."""
    from reportrag.retrieval.query import has_identifiers
    from reportrag.retrieval.scoring import IndexArrays, Weights, scores

    if mode not in BEIR_MODES:
        raise ValueError(f"mode {mode!r} is not one of {', '.join(BEIR_MODES)}")
    keyword = index.keyword.scores(text) if mode != "dense" else None
    arrays = IndexArrays(index.passage_vectors, *index.sentences(title_sentence))
    return scores(arrays, mode, vector, keyword, weights or Weights(), identifiers=has_identifiers(text))


def _top_ids(index: BeirIndex, scores: np.ndarray, mode: str, depth: int) -> list[str]:
    depth = min(depth, scores.size)
    if depth <= 0:
        return []
    top = np.argpartition(-scores, depth - 1)[:depth]
    top = top[np.lexsort((top, -scores[top]))]  # score descending, corpus order among ties
    if mode == "keyword":  # as in the reports: a document no query word matches is not a hit
        top = top[scores[top] > 0]
    return [index.doc_ids[row] for row in top]


def _mrr_at_k(ranked: Sequence[str], judged: Mapping[str, int], qid: str, k: int) -> float:
    """MRR@k as BEIR's tools count it: the query's own id, if retrieved, is not a hit."""
    ranked = [doc for doc in dict.fromkeys(ranked) if doc != qid]
    return mrr_at_k([rank for rank, doc in enumerate(ranked, start=1) if judged.get(doc, 0) > 0], k)


def score_mode(
    index: BeirIndex,
    embedder: Any,
    queries: Mapping[str, str],
    qrels: Qrels,
    mode: str,
    *,
    weights: Any = None,
    title_sentence: bool = True,
    depth: int = DEPTH,
) -> dict[str, Any]:
    """nDCG@10, Recall@10/@100, MRR@10 and ms/query (query embedding included) of one mode."""
    ranked_by_text: dict[str, list[str]] = {}
    elapsed = 0.0

    def search(texts: list[str]) -> list[list[str]]:
        nonlocal elapsed
        started = time.perf_counter()
        cleaned = [tidy(t) for t in texts]
        vectors = embedder.encode(cleaned) if mode != "keyword" else None
        out = []
        for i, text in enumerate(cleaned):
            vector = None if vectors is None else vectors[i]
            scores = beir_scores(index, text, vector, mode, weights=weights, title_sentence=title_sentence)
            out.append(_top_ids(index, scores, mode, depth))
        elapsed = time.perf_counter() - started
        ranked_by_text.update(zip(texts, out))
        return out

    summary = evaluate_beir(search, queries, qrels, k_values=(10, 100))
    per_query = summary.pop("per_query")
    for qid, figures in per_query.items():
        figures["mrr@10"] = _mrr_at_k(ranked_by_text[queries[qid]], qrels[qid], qid, 10)
    summary["mrr@10"] = sum(f["mrr@10"] for f in per_query.values()) / len(per_query)
    summary["ms_per_query"] = 1000 * elapsed / max(summary["n_queries"], 1)
    summary["per_query"] = per_query
    return summary


def run_beir(
    dataset_dir: str | Path,
    embedder: Any,
    *,
    modes: Sequence[str] = BEIR_MODES,
    cache_dir: str | Path | None = None,
    split: str = "test",
    weights: Any = None,
    title_sentence: bool = True,
    variants: Mapping[str, Variant] | None = None,
    progress: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """Index a BEIR-layout data set in memory and score each mode on its ``split`` qrels.

    ``weights`` (default ``search.Weights()``) is what "hybrid" fuses with; ``title_sentence`` adds each document's
    title to its sentences for the best-sentence part (on SciFact's train split: nDCG@10 0.7393 with, 0.7330
    without). ``variants`` maps extra result names to ``Variant``s (tuned hybrids), reported beside, never instead
    of, the default. ``cache_dir`` defaults to ``data/cache/beir/<dataset>/``. Returns the figures per mode under
    ``"modes"`` (per-query figures included; ``write_results`` leaves those out).
    """
    from reportrag.retrieval.scoring import Weights

    unknown = [m for m in modes if m not in BEIR_MODES]
    if unknown:
        raise ValueError(f"mode {unknown[0]!r} is not one of {', '.join(BEIR_MODES)}")
    weights = weights or Weights()
    runs: list[tuple[str, str, Any, bool]] = [(m, m, weights, title_sentence) for m in modes]
    for label, variant in (variants or {}).items():
        if label in {run[0] for run in runs}:
            raise ValueError(f"variant name {label!r} is taken by a mode")
        runs.append((label, "hybrid", variant.weights or Weights(), variant.title_sentence))
    root = Path(dataset_dir)
    name = dataset_name(root)
    progress(f"{name}: reading {root}")
    load_started = time.perf_counter()
    corpus, queries, qrels = load_beir(root, split)
    load_seconds = time.perf_counter() - load_started
    progress(f"{name}: {len(corpus):,} documents, {len(queries):,} {split} queries")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir(name)
    index = build_beir_index(corpus, embedder, cache, progress=progress)
    built = index.timings["build_seconds"]
    progress(f"{name}: index built in {built:.1f}s ({index.embedded_new:,} texts embedded anew)")

    results: dict[str, Any] = {}
    for label, mode, w, titles in runs:
        figures = score_mode(index, embedder, queries, qrels, mode, weights=w, title_sentence=titles)
        if mode == "hybrid":
            figures["weights"] = asdict(w)
            figures["title_sentence"] = titles
        results[label] = figures
        progress(
            f"{name} {label}: nDCG@10 {figures['ndcg@10']:.4f}  Recall@100 {figures['recall@100']:.4f}  "
            f"{figures['ms_per_query']:.1f} ms/query"
        )
    return {
        "dataset": name,
        "split": split,
        "corpus_sha256": _sha256(root / "corpus.jsonl"),
        "corpus_size": len(corpus),
        "n_queries": len(queries),
        "n_sentences": int((~index.sentence_is_title).sum()),
        "title_sentence": title_sentence,
        "model": embedder.name,
        "max_seq_length": embedder.max_seq_length,
        "doc_text": 'title + " " + text',
        "index": {**index.timings, "load_seconds": load_seconds, "embedded_new": index.embedded_new},
        "modes": results,
        "published": published_references(root),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def published_references(dataset_dir: str | Path) -> dict[str, Any]:
    """Reference figures shipped with a data set: the rows of README.md's Markdown table, and PUBLISHED.txt lines
    that name the data set."""
    root = Path(dataset_dir)
    out: dict[str, Any] = {"table": [], "lines": []}
    readme = root / "README.md"
    if readme.is_file():
        rows = [line.strip() for line in readme.read_text(encoding="utf-8", errors="replace").splitlines()]
        rows = [line for line in rows if line.startswith("|") and line.endswith("|")]
        if len(rows) > 2 and set(rows[1].replace("|", "").strip()) <= set("-: "):
            header = [cell.strip() for cell in rows[0].strip("|").split("|")]
            for row in rows[2:]:
                cells = [cell.strip() for cell in row.strip("|").split("|")]
                out["table"].append(dict(zip(header, cells)))
        out["source"] = "README.md"
    published = root / "PUBLISHED.txt"
    if published.is_file():
        out["lines"] = _published_lines(published.read_text(encoding="utf-8", errors="replace"), dataset_name(root))
        out["source"] = "README.md, PUBLISHED.txt" if readme.is_file() else "PUBLISHED.txt"
    return out


def _published_lines(text: str, name: str) -> list[str]:
    """Rows of a PUBLISHED.txt that give figures for ``name`` (the name at a line's start or after "|", then a
    number), each with its section heading ("A. …") and column header (the last line above it naming nDCG)."""
    row = re.compile(rf"(?:^|\|)\s*({re.escape(name)}\s+\d*\.\d+[^|]*)", re.IGNORECASE)
    lines = text.splitlines()
    out: list[str] = []
    heading, header = "", ""
    for i, line in enumerate(lines):
        if re.match(r"[A-Z]\.\s", line):
            heading, header = line.strip(), ""
            continue
        if "ndcg" in line.lower() and not row.search(line):
            above = lines[i - 1] if i else ""
            lead = " ".join(above.split()) + " / " if above.strip() and above.startswith(" ") else ""
            header = lead + " ".join(line.split())
            continue
        match = row.search(line)
        if match and name:
            context = " — ".join(part for part in (heading, header) if part)
            figures = " ".join(match.group(1).split())
            out.append(f"{context}: {figures}" if context else figures)
    return out


def without_per_query(result: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(result)
    out["modes"] = {k: {f: v for f, v in m.items() if f != "per_query"} for k, m in result["modes"].items()}
    return out


def format_markdown(result: Mapping[str, Any]) -> str:
    def cell(value: Any) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    idx = result["index"]
    lines = [
        f"# BEIR {result['dataset']} ({result['split']} split)",
        "",
        f"{result['corpus_size']:,} documents, {result['n_queries']:,} queries; model {result['model']} "
        f"(max {result['max_seq_length']} tokens); document text {result['doc_text']}; "
        f"{result['n_sentences']:,} sentences (hybrid rows say whether each title is one more sentence). "
        f"Index built in {idx['build_seconds']:.1f} s ({idx['embedded_new']:,} texts embedded anew, "
        f"embedding {idx['embed_seconds']:.1f} s, BM25 {idx['keyword_seconds']:.1f} s). "
        f"corpus.jsonl sha256 `{result['corpus_sha256'][:16]}…`; run {result['created']}.",
        "",
        "| system | nDCG@10 | Recall@100 | Recall@10 | MRR@10 | ms/query |",
        "|---|---|---|---|---|---|",
    ]
    from reportrag.retrieval.scoring import Weights

    for label, m in result["modes"].items():
        what = {"keyword": "BM25: bm25s, our tokenizer", "dense": "exact cosine"}.get(label, "")
        if "weights" in m:
            weights = ", ".join(f"{k}={v}" for k, v in m["weights"].items())
            kind = "default" if m["weights"] == asdict(Weights()) else "tuned"
            what = f"{'' if label == 'hybrid' else 'variant: '}search.fuse, {kind} Weights({weights})"
            what += ", title as a sentence" if m.get("title_sentence") else ", no title sentence"
        lines.append(
            f"| reportrag {label} ({what}) | {cell(m['ndcg@10'])} | {cell(m['recall@100'])} | {cell(m['recall@10'])} "
            f"| {cell(m['mrr@10'])} | {m['ms_per_query']:.1f} |"
        )
    published = result.get("published") or {}
    for row in published.get("table", []):
        values = list(row.values())
        ndcg = next((v for k, v in row.items() if k.lower().startswith("ndcg")), "")
        recall = next((v for k, v in row.items() if k.lower().startswith("recall")), "")
        lines.append(f"| published: {values[0]} | {ndcg} | {recall} | | | |")
    if published.get("lines"):
        lines += ["", "Published figures for this data set in PUBLISHED.txt (section — columns: row):", ""]
        lines += [f"- {line}" for line in published["lines"]]
    elif published.get("source"):
        lines += ["", f"Published figures from the data set's {published['source']}."]
    notes = result.get("notes")
    if notes:
        lines += ["", "Notes:", ""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def write_results(result: Mapping[str, Any], out_dir: str | Path | None = None) -> tuple[Path, Path]:
    """``<out_dir>/<dataset>.json`` (figures without the per-query ones) and ``<dataset>.md`` (a table)."""
    from reportrag.core.files import write_atomic

    folder = Path(out_dir) if out_dir is not None else default_results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / f"{result['dataset']}.json", folder / f"{result['dataset']}.md"
    write_atomic(json_path, json.dumps(without_per_query(result), indent=2, ensure_ascii=False) + "\n")
    write_atomic(md_path, format_markdown(result))
    return json_path, md_path
