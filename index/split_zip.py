"""A zip archive cut into byte ranges (``name.zip.001``, ``name.zip.002`` …, as 7-Zip splits one), read in place:
the parts are joined as one seekable file, never concatenated on disk."""

from __future__ import annotations

import bisect
import hashlib
import io
import itertools
import os
import zipfile
from pathlib import Path


class JoinedFile(io.RawIOBase):
    """The parts, in order, as one read-only file: offsets in the zip's directory count from the first part."""

    def __init__(self, parts: list[Path]) -> None:
        self._files = [open(part, "rb") for part in parts]
        sizes = [os.fstat(f.fileno()).st_size for f in self._files]
        self._starts = list(itertools.accumulate(sizes, initial=0))  # part i covers [starts[i], starts[i + 1])
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._starts[-1]}[whence]
        if base + offset < 0:
            raise OSError(f"seek to {base + offset}: before the start of the joined parts")
        self._position = base + offset
        return self._position

    def readinto(self, buffer) -> int:
        """Read from the part holding the current offset (a short read at a part's end; the caller reads on)."""
        part = bisect.bisect_right(self._starts, self._position) - 1
        if part >= len(self._files):
            return 0  # at or past the end
        f = self._files[part]
        f.seek(self._position - self._starts[part])
        view = memoryview(buffer)[: self._starts[part + 1] - self._position]
        n = f.readinto(view) or 0
        self._position += n
        return n

    def close(self) -> None:
        for f in self._files:
            f.close()
        super().close()


def open_joined(parts: list[Path]) -> io.BufferedReader:
    """The parts as one buffered, seekable file (``zipfile.ZipFile`` reads it like a whole archive)."""
    return io.BufferedReader(JoinedFile(parts), buffer_size=1 << 20)


def copy_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path) -> str:
    """Write one member to ``target`` and return the sha256 of what was written, hashed on the way (one pass).
    zipfile checks the member's CRC-32 as it reads: a damaged part raises ``zipfile.BadZipFile``."""
    digest = hashlib.sha256()
    with archive.open(member) as source, open(target, "wb") as out:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
