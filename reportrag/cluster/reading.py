"""Reading, cleaning, structuring and chunking reports as Ray tasks, each report stored by the task that read it.

The driver decides first, as the single-machine loop does (``service.triage``: unchanged, a duplicate, a bad id),
and sends a task only for the files to build. A task reads the file on its node (the paths, like the index folder,
name shared storage), builds the ``Document`` and its passages and stores them in the index folder, returning a few
numbers. A bad file costs only itself: the task returns its one-line failure. A task whose node dies is run again
elsewhere by Ray (``max_retries``); one lost that many times is that file's failure, and the others go on. Any other
exception is a bug, raised as the single-machine loop raises it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reportrag.core.errors import ReportragError
from reportrag.core.records import ReportInfo
from reportrag.core.settings import Settings
from reportrag.index import document_store as documents
from reportrag.ingest.pipeline import build_document, build_passages
from reportrag.ingest.tokens import TokenCounter
from reportrag.service.ingesting import IngestResult, tokenizer_dir
from reportrag.service.triage import known_builds, triage

TASK_RETRIES = 3  # a task lost with its worker or node is run again this many times, then is its file's failure
_counters: dict[str, TokenCounter] = {}  # per worker process: the tokenizer is loaded once, not once per report


@dataclass
class Read:
    """What a reading task sends back: the report stored, or why not (one line)."""

    doc_id: str
    failed: str | None = None
    paragraphs: int = 0
    passages: int = 0


def read_report(info: ReportInfo, path: str, sha256: str | None, build: dict, index_dir: str, tokenizer: str,
                max_bytes: int, max_tokens: int) -> Read:
    """In a worker: one report read, cleaned, structured, chunked and stored in the index folder."""
    counter = _counters.get(tokenizer) or _counters.setdefault(tokenizer, TokenCounter(Path(tokenizer)))
    try:
        document = build_document(Path(path), info, max_bytes=max_bytes, sha256=sha256)
        passages = build_passages(document, counter, max_tokens=max_tokens)
        documents.save(Path(index_dir), document, passages, build)
    except ReportragError as e:
        return Read(info.doc_id, failed=str(e))
    return Read(info.doc_id, paragraphs=len(document.paragraphs), passages=len(passages))


def read_all(ray, settings: Settings, items: list[tuple[ReportInfo, Path]],
             progress: Callable[[str], None] = lambda _: None) -> IngestResult:
    """Bring the stored reports up to ``items`` with one task per file to build; the result lists them in the
    order of ``items``, as the single-machine ingest does. A file with the same bytes as one being read waits for
    it: stored, it is a duplicate; failed, it is read in its turn."""
    index_dir = settings.index.index_dir
    task = ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(read_report)
    args = (str(index_dir), str(tokenizer_dir(settings)), settings.ingest.max_file_bytes,
            settings.ingest.max_passage_tokens)
    known = known_builds(index_dir)
    outcome: dict[int, tuple[str, str]] = {}  # item number → ("added" | "unchanged" | "failed", doc id or line)
    waiting = list(enumerate(items, 1))
    while waiting:
        running: dict = {}  # task → (item number, path, doc id, the build info it replaced)
        deferred = []
        for i, (info, path) in waiting:
            step = triage(index_dir, known, info, path, max_tokens=settings.ingest.max_passage_tokens)
            if step.twin and any(step.twin == r[2] for r in running.values()):
                deferred.append((i, (info, path)))
            elif step.failed or step.unchanged:
                outcome[i] = ("failed", step.failed) if step.failed else ("unchanged", step.unchanged)
                if step.unchanged:
                    progress(f"[{i}/{len(items)}] {step.unchanged}: unchanged")
            else:
                ref = task.remote(info, str(Path(path).resolve()), step.sha256, step.build, *args)
                running[ref] = (i, path, info.doc_id, known.get(info.doc_id))
                known[info.doc_id] = step.build  # a later file with these bytes waits for this one
        while running:
            [ref], _ = ray.wait(list(running), num_returns=1)
            i, path, doc_id, before = running.pop(ref)
            read = _outcome(ray, ref, doc_id, path)
            if read.failed:
                outcome[i] = ("failed", read.failed)
                if before is None:
                    known.pop(doc_id, None)
                else:
                    known[doc_id] = before
                continue
            outcome[i] = ("added", doc_id)
            progress(f"[{i}/{len(items)}] {doc_id}: {read.paragraphs} paragraphs, {read.passages} passages")
        waiting = deferred
    result = IngestResult()
    for i in sorted(outcome):
        kind, value = outcome[i]
        getattr(result, kind).append(value)
    return result


def _outcome(ray, ref, doc_id: str, path: Path) -> Read:
    """A task's result; lost with its worker every time it ran, that file's one-line failure."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError:
        raise  # an exception other than a bad file's (a bug): raised, as the single-machine loop raises it
    except ray.exceptions.RayError as e:
        return Read(doc_id, failed=f"{Path(path).name}: its worker was lost {TASK_RETRIES + 1} times while reading it "
                    f"({type(e).__name__}: a node died, or it ran out of memory); nothing was stored for it; ingest "
                    "it again")
