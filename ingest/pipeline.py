"""load → clean → structure → chunk, for one file; the bundled reports' manifest; naming a user's report."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from collections.abc import Iterable
from pathlib import Path

from reportrag.ingest.chunk import chunk
from reportrag.ingest.clean import clean
from reportrag.ingest.contents import contents_pages
from reportrag.ingest.loaders import load
from reportrag.ingest.structure import structure
from reportrag.ingest.tokens import TokenCounter

from reportrag.core.errors import ReportragError
from reportrag.core.records import Document, Passage, ReportInfo

# Bump when cleaning, structure or chunking change what a report turns into: stored reports are then rebuilt.
# 2: paragraphs carry the concluding observations they address; 3: sections their first page; 4: PDF pages marked;
# 5: DOCX page breaks marked; 6: "Given the above, …" closes a concluding-observations block
PIPELINE_VERSION = 6


def read_manifest(path: Path) -> list[tuple[ReportInfo, Path]]:
    """The bundled reports: their metadata and where their files are."""
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))["reports"]
        # keys starting with "_" are notes for people ("_note": where a date or a symbol comes from)
        return [(ReportInfo(**{k: v for k, v in e.items() if not k.startswith("_")}), Path(path).parent / e["file"])
                for e in entries]
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
    pages = contents_pages(source.text)
    sections = tuple(replace(s, page=pages[s.label]) if s.label in pages else s for s in parts.sections)
    return Document(
        info=info,
        sha256=sha256 or hashlib.sha256(Path(path).read_bytes()).hexdigest(),
        source_text=source.text,
        text=cleaned.text,
        segments=tuple(cleaned.segments),
        sections=sections,
        paragraphs=parts.paragraphs,
        footnotes=parts.footnotes,
    )


def build_passages(document: Document, tokens: TokenCounter, *, max_tokens: int) -> list[Passage]:
    return chunk(document.doc_id, document.text, document.paragraphs, tokens, max_tokens=max_tokens)


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
