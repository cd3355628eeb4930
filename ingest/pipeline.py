"""load → clean → structure → chunk, for one file; and ingesting a set of files into the index folder."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from index import documents
from ingest.chunk import chunk
from ingest.clean import clean
from ingest.loaders import load
from ingest.structure import structure
from ingest.tokens import TokenCounter
from reportrag.errors import ReportragError
from reportrag.records import Document, Passage, ReportInfo

# Bump when cleaning, structure or chunking change what a report turns into: stored reports are then rebuilt.
PIPELINE_VERSION = 2  # 2: paragraphs carry the concluding observations they address


def read_manifest(path: Path) -> list[tuple[ReportInfo, Path]]:
    """The bundled reports: their metadata and where their files are."""
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))["reports"]
        return [(ReportInfo(**e), Path(path).parent / e["file"]) for e in entries]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as e:  # a config file: one line, no traceback
        raise ReportragError(
            f"{Path(path).name}: not a readable reports manifest ({type(e).__name__}: {e}); fix it "
            '(a JSON object {"reports": [{"doc_id", "file", "title", …}]}) or point REPORTRAG_REPORTS_MANIFEST elsewhere'
        ) from e


def info_for_file(path: Path, taken: Iterable[str] = ()) -> ReportInfo:
    """Metadata for a report a user adds: its id is a slug of its file name, made unique."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")[:40] or "report"
    doc_id, n = slug, 2
    while doc_id in set(taken):
        doc_id, n = f"{slug}-{n}", n + 1
    fmt = path.suffix.lower().lstrip(".")
    return ReportInfo(doc_id, path.stem, path.stem[:40], "", "", fmt, path.name, str(path.resolve()))


def build_document(path: Path, info: ReportInfo, *, max_bytes: int, sha256: str | None = None) -> Document:
    source = load(path, max_bytes=max_bytes)
    cleaned = clean(source)
    parts = structure(info.doc_id, cleaned)
    return Document(
        info=info,
        sha256=sha256 or hashlib.sha256(Path(path).read_bytes()).hexdigest(),
        source_text=source.text,
        text=cleaned.text,
        segments=tuple(cleaned.segments),
        sections=parts.sections,
        paragraphs=parts.paragraphs,
        footnotes=parts.footnotes,
    )


def build_passages(document: Document, tokens: TokenCounter, *, max_tokens: int) -> list[Passage]:
    return chunk(document.doc_id, document.text, document.paragraphs, tokens, max_tokens=max_tokens)


def _same_file(index_dir: Path, doc_id: str, path: Path) -> bool:
    """Was stored report ``doc_id`` read from ``path`` itself (not from a copy of it)?"""
    try:
        stored = json.loads((Path(index_dir) / "documents" / f"{doc_id}.json").read_text(encoding="utf-8"))
        return Path(stored["document"]["info"]["file"]).resolve() == Path(path).resolve()
    except (OSError, ValueError, KeyError, TypeError):
        return False


@dataclass
class IngestResult:
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # one line per bad file: file, problem, what to do


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files named, and the report files inside folders named (sorted, so runs are repeatable)."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".")))
        else:
            out.append(p)
    return out


def ingest(
    index_dir: Path,
    items: list[tuple[ReportInfo, Path]],
    tokens: TokenCounter,
    *,
    max_bytes: int,
    max_tokens: int,
    progress: Callable[[str], None] = lambda _: None,
) -> IngestResult:
    """Add or refresh reports in the index folder. A bad file costs only itself; stored reports are untouched."""
    result = IngestResult()
    known = {doc_id: documents.build_info(index_dir, doc_id) for doc_id in documents.doc_ids(index_dir)}
    for i, (info, path) in enumerate(items, 1):
        try:
            sha = hashlib.sha256(Path(path).read_bytes()).hexdigest() if Path(path).is_file() else None
        except OSError:
            sha = None
        if not documents.valid_doc_id(info.doc_id):  # "../x" would be written outside the index folder
            result.failed.append(
                f"{Path(path).name}: report id {info.doc_id!r} is not a plain name (letters, digits, '-', '_', '.'); "
                "fix its doc_id in the manifest"
            )
            continue
        build = {"pipeline": PIPELINE_VERSION, "max_tokens": max_tokens, "sha256": sha}
        twin = next((d for d, b in known.items() if b and b.get("sha256") == sha and d != info.doc_id), None)
        if sha and twin and _same_file(index_dir, twin, path):
            # the very file already stored (a re-run, e.g. after an interrupted ingest): unchanged, not a failure
            result.unchanged.append(twin)
            progress(f"[{i}/{len(items)}] {twin}: unchanged")
            continue
        if sha and twin:
            result.failed.append(f"{Path(path).name}: the same report is already in the index as '{twin}'; nothing to do")
            continue
        if sha and known.get(info.doc_id) == build:
            result.unchanged.append(info.doc_id)
            progress(f"[{i}/{len(items)}] {info.doc_id}: unchanged")
            continue
        try:
            document = build_document(path, info, max_bytes=max_bytes, sha256=sha)
            passages = build_passages(document, tokens, max_tokens=max_tokens)
            documents.save(index_dir, document, passages, build)  # refuses an id that would leave documents/
        except ReportragError as e:
            result.failed.append(str(e))
            continue
        known[info.doc_id] = build
        result.added.append(info.doc_id)
        progress(f"[{i}/{len(items)}] {info.doc_id}: {len(document.paragraphs)} paragraphs, {len(passages)} passages")
    return result
