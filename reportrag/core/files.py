"""Writing files so that a reader sees the old file or the new one, never half of one, even after a power cut."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Write beside ``path``, fsync, rename into place, then fsync the folder so the rename itself is durable."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Make the folder's entries (a rename, a new file) durable; a no-op where folders can't be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    """fsync every file under ``folder`` and the folders themselves: before a build folder is switched to."""
    for path in sorted(Path(folder).rglob("*"), reverse=True):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
        elif path.is_dir():
            fsync_folder(path)
    fsync_folder(Path(folder))


@contextlib.contextmanager
def writer_lock(folder: Path) -> Iterator[None]:
    """One writer at a time in ``folder`` (an advisory lock, released when the process dies): two ingests at once
    would each commit a manifest without the other's shard. Readers answering requests never take it (a serving
    process reopening the index in the background takes ``reader_lock``). A no-op without fcntl (Windows)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    with open(Path(folder) / ".writer.lock", "a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def reader_lock(folder: Path) -> Iterator[None]:
    """The writer lock, shared: no writer runs meanwhile, so a reader opening the index sees each writer's change
    whole (its reports, shards and manifest) or not at all; readers do not exclude each other. It waits for a writer
    under way. A no-op where the lock file cannot be opened (no writer has run; a folder readers cannot write to)
    and without fcntl."""
    try:
        import fcntl

        f = open(Path(folder) / ".writer.lock", "rb")  # noqa: SIM115 (closed below, after the lock)
    except (ImportError, OSError):
        yield
        return
    with f:
        fcntl.flock(f.fileno(), fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
