"""Reading a BEIR-layout data set: ``corpus.jsonl`` (``{"_id", "title", "text"}``), ``queries.jsonl``
(``{"_id", "text"}``) and ``qrels/<split>.tsv`` (a ``query-id<TAB>corpus-id<TAB>score`` header, then one judgement a
line). Every problem is a ``BadDataset`` naming the file and line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Container, Iterator, Mapping, Sequence
from pathlib import Path


from reportrag.core.errors import BadDataset

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
