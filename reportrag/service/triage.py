"""What an ingest does with each file, decided before any reading: build it, leave it (unchanged), or a one-line
failure. Shared by the single-machine loop (``ingesting.ingest``) and the distributed one (``reportrag.cluster``)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from reportrag.core.records import ReportInfo
from reportrag.index import document_store as documents
from reportrag.ingest.pipeline import PIPELINE_VERSION


def _same_file(index_dir: Path, doc_id: str, path: Path) -> bool:
    """Was stored report ``doc_id`` read from ``path`` itself (not from a copy of it)?"""
    try:
        return Path(documents.catalog_entry(index_dir, doc_id)["info"]["file"]).resolve() == Path(path).resolve()
    except (OSError, ValueError, KeyError, TypeError):
        return False


def info_hash(info: ReportInfo) -> str:
    """What the manifest says of a report, hashed: a corrected symbol or date refreshes the stored report."""
    return hashlib.sha256(json.dumps(asdict(info), sort_keys=True).encode("utf-8")).hexdigest()[:16]


def known_builds(index_dir: Path) -> dict[str, dict | None]:
    """Each stored report's build info (what ``triage`` compares a file with)."""
    return {doc_id: documents.build_info(index_dir, doc_id) for doc_id in documents.doc_ids(index_dir)}


@dataclass
class Step:
    """What an ingest does with one file: ``failed`` (one line), ``unchanged`` (the stored report's id), or build it
    (``build``: the build info to store with it; ``sha256``: the file's). ``twin``: the stored report whose file has
    the same bytes, if any."""

    failed: str | None = None
    unchanged: str | None = None
    build: dict | None = None
    sha256: str | None = None
    twin: str | None = None


def triage(index_dir: Path, known: dict[str, dict | None], info: ReportInfo, path: Path, *, max_tokens: int) -> Step:
    """Decide, before any reading, what an ingest does with ``path`` given the ``known`` stored builds."""
    try:
        sha = hashlib.sha256(Path(path).read_bytes()).hexdigest() if Path(path).is_file() else None
    except OSError:
        sha = None
    if not documents.valid_doc_id(info.doc_id):  # "../x" would be written outside the index folder
        return Step(failed=f"{Path(path).name}: report id {info.doc_id!r} is not a plain name (letters, digits, '-', "
                    "'_', '.'); fix its doc_id in the manifest")
    build = {"pipeline": PIPELINE_VERSION, "max_tokens": max_tokens, "sha256": sha, "info": info_hash(info)}
    twin = next((d for d, b in known.items() if b and b.get("sha256") == sha and d != info.doc_id), None)
    if sha and twin and _same_file(index_dir, twin, path):
        # the very file already stored (a re-run, e.g. after an interrupted ingest): unchanged, not a failure
        return Step(unchanged=twin, twin=twin)
    if sha and twin:
        return Step(failed=f"{Path(path).name}: the same report is already in the index as '{twin}'; nothing to do",
                    twin=twin)
    if sha and known.get(info.doc_id) == build:
        return Step(unchanged=info.doc_id)
    return Step(build=build, sha256=sha)
