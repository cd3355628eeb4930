"""The ingested reports on disk: one JSON file per report (its document and passages), written atomically.

Layout of the index folder (documented in the README):

    documents/<doc_id>.json   {"format": 1, "build": {...}, "document": {...}, "passages": [...]}
    catalog/<doc_id>.json     {"format": 1, "build": {...}, "info": {...}, "counts": {...}, "record": [size, mtime]}:
                              what an ingest needs to know of a stored report (is it unchanged? which file was it read
                              from?) and what the reports list shows, without parsing the whole record, so adding one
                              report to thousands, or listing them, reads a few hundred bytes of each, not megabytes

JSON only: nothing on disk is ever unpickled or executed.
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import orjson

from reportrag.core.errors import IndexMismatch, IndexNotFound, ReportragError
from reportrag.core.files import write_atomic
from reportrag.core.records import Document, Footnote, Paragraph, Passage, ReportInfo, Section, Segment, Span

FORMAT_VERSION = 1
# A report id is one plain file name: no separators, no leading dot, so "../x" can never read or write outside
# documents/ (ids come from manifests, the CLI and the HTTP API).
_DOC_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def valid_doc_id(doc_id: object) -> bool:
    return isinstance(doc_id, str) and bool(_DOC_ID.fullmatch(doc_id))


def _path(index_dir: Path, doc_id: str) -> Path:
    if not valid_doc_id(doc_id):
        raise ReportragError(
            f"{str(doc_id)[:60]!r}: not a valid report id (letters, digits, '-', '_', '.'; no path separators); "
            "use another id"
        )
    return Path(index_dir) / "documents" / f"{doc_id}.json"


def save(index_dir: Path, document: Document, passages: list[Passage], build: dict) -> Path:
    """Write (or replace) one report's record; readers see the old file or the new one, never half of one.

    ``build`` records what shaped it (pipeline version, settings, source hash) so an unchanged report is skipped.
    """
    path = _path(index_dir, document.doc_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT_VERSION,
        "build": build,
        "document": asdict(document),
        "passages": [asdict(p) for p in passages],
    }
    write_atomic(path, json.dumps(payload, ensure_ascii=False))
    # after the record: a crash in between leaves an older catalog entry, which only makes the next ingest redo it.
    # The record's size and mtime tie the entry to it: a record damaged or replaced since is read in full instead.
    write_atomic(_catalog_path(index_dir, document.doc_id),
                 json.dumps({"format": FORMAT_VERSION, "build": build, "info": asdict(document.info),
                             "counts": _counts(document, passages), "record": _stamp(path)}, ensure_ascii=False))
    return path


def summary(document: Document, passages: list[Passage]) -> dict:
    """A stored report in one line of the reports list: its metadata and its counts."""
    return {**asdict(document.info), **_counts(document, passages)}


def _counts(document: Document, passages: list[Passage]) -> dict:
    return {"sha256": document.sha256, "characters": len(document.text), "sections": len(document.sections),
            "paragraphs": len(document.paragraphs), "passages": len(passages), "footnotes": len(document.footnotes)}


def summaries(index_dir: Path, doc_ids: list[str]) -> list[dict]:
    """``summary`` of each report, from its catalog entry (a few hundred bytes) where that entry belongs to the
    record as it stands and holds the counts; else from the record itself (an entry written before the counts were
    kept, or one the record has changed since). 554 reports: 0.02 s, against 3.8 s reading every record."""
    with _collector_paused():
        return [_catalog_summary(index_dir, doc_id) or summary(*load(index_dir, doc_id)) for doc_id in doc_ids]


def _catalog_summary(index_dir: Path, doc_id: str) -> dict | None:
    entry = _current_entry(index_dir, doc_id)
    if entry is None or entry.get("format") != FORMAT_VERSION:
        return None
    info, counts = entry.get("info"), entry.get("counts")
    if not isinstance(info, dict) or not isinstance(counts, dict) or set(counts) != _COUNTED:
        return None
    return {**info, **counts}


_COUNTED = {"sha256", "characters", "sections", "paragraphs", "passages", "footnotes"}


def _catalog_path(index_dir: Path, doc_id: str) -> Path:
    folder = Path(index_dir) / "catalog"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / _path(index_dir, doc_id).name


def _stamp(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def catalog_entry(index_dir: Path, doc_id: str) -> dict | None:
    """A stored report's build info and metadata ({"build", "info"}), read from its small catalog entry (or, for a
    report stored before catalogs existed, from its record); None when unreadable or of another format."""
    if not valid_doc_id(doc_id):
        return None
    entry = _current_entry(index_dir, doc_id)
    if _built(entry):
        payload = entry
    else:  # no entry, or one the record has changed since: trust only the record itself
        try:
            payload = json.loads(_path(index_dir, doc_id).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
        if not _built(payload):
            return None
        try:  # a whole record must also load: a damaged one is rebuilt, never called unchanged
            _record(payload)
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
    info = payload.get("info", (payload.get("document") or {}).get("info"))
    return {"build": payload["build"], "info": info if isinstance(info, dict) else {}}


def _current_entry(index_dir: Path, doc_id: str) -> dict | None:
    """A report's catalog entry, when it belongs to the record as it stands (the record's size and mtime)."""
    record = _path(index_dir, doc_id)
    try:
        entry = orjson.loads((Path(index_dir) / "catalog" / record.name).read_bytes())
    except (OSError, json.JSONDecodeError):
        return None
    return entry if isinstance(entry, dict) and entry.get("record") == _stamp(record) else None


def _built(payload: object) -> bool:
    return isinstance(payload, dict) and payload.get("format") == FORMAT_VERSION and isinstance(payload.get("build"), dict)


def remove(index_dir: Path, doc_id: str) -> bool:
    path = _path(index_dir, doc_id)
    if path.exists():
        path.unlink()  # the record first: a catalog entry without its record is ignored (doc_ids lists records)
        (Path(index_dir) / "catalog" / path.name).unlink(missing_ok=True)
        return True
    return False


def doc_ids(index_dir: Path) -> list[str]:
    folder = Path(index_dir) / "documents"
    return sorted(p.stem for p in folder.glob("*.json") if valid_doc_id(p.stem)) if folder.is_dir() else []


def build_info(index_dir: Path, doc_id: str) -> dict | None:
    """What built a stored report, or None when it is unreadable or from another format (so it is rebuilt)."""
    entry = catalog_entry(index_dir, doc_id)
    return entry["build"] if entry else None


def build_hash(build: dict | None) -> str | None:
    """What built a stored report (source hash, pipeline, passage size, metadata), hashed: the search index's
    manifest names each report's, so a record and the index over it can be told to belong together."""
    return hashlib.sha256(json.dumps(build, sort_keys=True).encode()).hexdigest()[:16] if build else None


def load(index_dir: Path, doc_id: str, *, built: str | None = None) -> tuple[Document, list[Passage]]:
    """A stored report and its passages; ``built``: the build hash the index being opened names for it (a record
    another process has replaced since, by an ingest under way, is an error to retry, never read as the old one)."""
    path = _path(index_dir, doc_id) if valid_doc_id(doc_id) else None  # an invalid id is simply not there
    if path is None or not path.is_file():
        known = ", ".join(doc_ids(index_dir)) or "none"
        raise IndexNotFound(f"{doc_id}: no such report in the index (known: {known}); run 'reportrag ingest'")
    try:  # orjson: half json's time on a record (4.2 → 2.1 ms for the CEDAW report); its errors are JSONDecodeErrors
        payload = orjson.loads(path.read_bytes())
    except (OSError, json.JSONDecodeError) as e:
        raise IndexNotFound(f"{path.name}: the stored report is damaged ({e}); run 'reportrag ingest' to rebuild it") from e
    if not isinstance(payload, dict):  # valid JSON but not a report: damaged, not an AttributeError
        raise IndexNotFound(f"{path.name}: the stored report is damaged (not a report record); run 'reportrag ingest' to rebuild it")
    if payload.get("format") != FORMAT_VERSION:
        raise IndexMismatch(
            f"{path.name}: stored in format {payload.get('format')}, this version reads {FORMAT_VERSION}; "
            "run 'reportrag ingest' to rebuild it"
        )
    if built is not None and build_hash(payload.get("build")) != built:
        raise IndexMismatch(f"{doc_id}: the stored report was replaced after the search index was read (another "
                            "process is changing the index); try again once it is done")
    try:
        return _record(payload)
    except (KeyError, TypeError, ValueError, AttributeError) as e:  # wrong shapes or types inside a valid JSON
        raise IndexNotFound(f"{path.name}: the stored report is incomplete ({type(e).__name__}); run 'reportrag ingest'") from e


def load_many(index_dir: Path, doc_ids: list[str], *, built: dict[str, str] | None = None
              ) -> list[tuple[Document, list[Passage]]]:
    """``load`` for each report (``built``: the build hash of each, as the index names it), with Python's cycle
    collector paused meanwhile. Opening an index creates a few dozen objects per passage, all kept: each collection
    the allocations trigger walks every one made so far, which nearly doubled the time to read 2,000 reports (32.6 s
    against 18.7). Nothing made here forms a cycle, so nothing is left for the collector to find. Figures:
    eval/open_bench.py."""
    built = built or {}
    with _collector_paused():
        return [load(index_dir, doc_id, built=built.get(doc_id)) for doc_id in doc_ids]


_pause_lock = threading.Lock()
_pauses = 0  # loads under way in any thread: the collector runs again only when the last one ends
_was_enabled = True


@contextmanager
def _collector_paused() -> Iterator[None]:
    global _pauses, _was_enabled
    with _pause_lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0:
                # The collector still counted the objects made meanwhile: resumed as they are, its next passes would
                # walk every one of them three times over (young, middle, then a full pass: 1.4 s at 200,000
                # passages). Freezing resets those counts and sets them apart; unfreezing at once puts them with the
                # old objects, where only the full collections look, as they would at last. Nothing stays frozen, so
                # an index opened later still frees this one.
                gc.freeze()
                gc.unfreeze()
                if _was_enabled:
                    gc.enable()


# Records are built field by field rather than through merged dicts (``Passage(**{**p, ...})``), and the values a
# record repeats on every paragraph and passage (its id, section paths and labels, empty tuples) become one object
# each, through ``shared`` (one dict a record). At 200,271 passages (eval/open_bench.py) the process's own memory
# once open is 1,479 MiB instead of 1,713; opening is 4.4 s instead of 4.5 (with the collector paused, the merged
# dicts cost little time). A field missing, of the wrong type or unknown to this version is an error, as before.
_PASSAGE_FIELDS = frozenset(Passage.__dataclass_fields__)
_PARAGRAPH_FIELDS = frozenset(Paragraph.__dataclass_fields__)


def _record(payload: dict) -> tuple[Document, list[Passage]]:
    shared: dict = {}
    return _document(payload["document"], shared), [_passage(p, shared) for p in payload["passages"]]


def _one(shared: dict, value):
    """``value``, or the equal object the record already holds."""
    return shared.setdefault(value, value)


def _known(d: dict, names: frozenset[str]) -> dict:
    if not d.keys() <= names:
        raise TypeError(f"unknown fields {sorted(d.keys() - names)}")
    return d


def _document(d: dict, shared: dict) -> Document:
    return Document(
        info=ReportInfo(**d["info"]),
        sha256=d["sha256"],
        source_text=d["source_text"],
        text=d["text"],
        segments=tuple(Segment(**s) for s in d["segments"]),
        sections=tuple(Section(**{**s, "path": _one(shared, tuple(s["path"]))}) for s in d["sections"]),
        paragraphs=tuple(_paragraph(p, shared) for p in d["paragraphs"]),
        footnotes=tuple(Footnote(**f) for f in d["footnotes"]),
    )


def _paragraph(p: dict, shared: dict) -> Paragraph:
    _known(p, _PARAGRAPH_FIELDS)
    return Paragraph(
        _one(shared, p["doc_id"]), p["number"], p["start"], p["end"], p["text"], _one(shared, tuple(p["section"])),
        _one(shared, p["section_label"]), _one(shared, tuple(p["concluding_observations"])), p.get("duplicate_of"),
        _one(shared, tuple(p["footnotes"])), _one(shared, tuple(p.get("addresses", ()))),
    )


def _passage(p: dict, shared: dict) -> Passage:
    _known(p, _PASSAGE_FIELDS)
    return Passage(
        p["passage_id"], _one(shared, p["doc_id"]), _one(shared, tuple(p["section"])), _one(shared, p["section_label"]),
        tuple(p["paragraphs"]), p["start"], p["end"], p["text"], tuple([_span(s) for s in p["sentences"]]),
        _one(shared, tuple(p["concluding_observations"])), p.get("duplicate_of"),
    )


def _span(s: dict) -> Span:
    if len(s) != 2:
        raise TypeError("a span is a start and an end")
    return Span(s["start"], s["end"])
