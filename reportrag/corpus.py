"""The library calls the CLI, the HTTP API and the app share: ingest reports, list them, read one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from index import documents
from ingest.pipeline import IngestResult, expand, info_for_file, ingest, read_manifest
from ingest.tokens import TokenCounter
from reportrag.models import default_model_path
from reportrag.records import Document, Passage
from reportrag.settings import Settings


def model_dir(settings: Settings) -> Path:
    return settings.model_path or default_model_path()


def ingest_reports(
    settings: Settings, paths: list[Path] | None = None, progress: Callable[[str], None] = lambda _: None
) -> IngestResult:
    """Ingest the bundled reports (no paths) or the given files and folders."""
    if paths:
        taken = set(documents.doc_ids(settings.index_dir))
        items = []
        for path in expand(paths):
            info = _stored_info_for(settings, path) or info_for_file(path, taken)
            taken.add(info.doc_id)
            items.append((info, path))
    else:
        items = read_manifest(settings.reports_manifest)
    tokens = TokenCounter(model_dir(settings))
    return ingest(
        settings.index_dir,
        items,
        tokens,
        max_bytes=settings.max_file_bytes,
        max_tokens=settings.max_passage_tokens,
        progress=progress,
    )


def _stored_info_for(settings: Settings, path: Path):
    """Re-adding a file keeps the id it already has (bundled reports keep theirs)."""
    for info, bundled in read_manifest(settings.reports_manifest):
        if bundled.resolve() == Path(path).resolve():
            return info
    return None


def ensure_ingested(settings: Settings) -> None:
    """A fresh checkout has no index yet: build the bundled reports' records (about a second, no model)."""
    if not documents.doc_ids(settings.index_dir):
        ingest_reports(settings)


def list_documents(settings: Settings) -> list[dict]:
    ensure_ingested(settings)
    out = []
    for doc_id in documents.doc_ids(settings.index_dir):
        document, passages = documents.load(settings.index_dir, doc_id)
        out.append(
            {
                **asdict(document.info),
                "sha256": document.sha256,
                "characters": len(document.text),
                "sections": len(document.sections),
                "paragraphs": len(document.paragraphs),
                "passages": len(passages),
                "footnotes": len(document.footnotes),
            }
        )
    return out


def get_document(settings: Settings, doc_id: str) -> Document:
    ensure_ingested(settings)
    return documents.load(settings.index_dir, doc_id)[0]


def get_passages(settings: Settings, doc_id: str) -> list[Passage]:
    ensure_ingested(settings)
    return documents.load(settings.index_dir, doc_id)[1]
