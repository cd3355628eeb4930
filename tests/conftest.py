"""Shared fixtures: the two real reports, ingested once per test session with the real tokenizer."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from reportrag.index.model_path import default_model_path
from reportrag.ingest.pipeline import build_document, build_passages, read_manifest
from reportrag.ingest.tokens import TokenCounter

from reportrag.core.settings import PROJECT_ROOT, Settings

MANIFEST = PROJECT_ROOT / "data" / "reports" / "manifest.json"


@pytest.fixture(scope="session")
def tokens() -> TokenCounter:
    return TokenCounter(default_model_path())


@pytest.fixture(scope="session")
def reports(tokens):
    """{doc_id: (Document, passages)} for the bundled reports, built in memory."""
    out = {}
    for info, path in read_manifest(MANIFEST):
        document = build_document(path, info, max_bytes=Settings().ingest.max_file_bytes)
        out[info.doc_id] = (document, build_passages(document, tokens, max_tokens=Settings().ingest.max_passage_tokens))
    return out


@pytest.fixture(scope="session")
def review(reports):
    return reports["review"]


@pytest.fixture(scope="session")
def cedaw(reports):
    return reports["cedaw"]


def run_cli(*args: str, index_dir: Path, check: bool = False, env: dict | None = None) -> subprocess.CompletedProcess:
    """The installed command, as a user runs it, against a private index folder."""
    env = {**os.environ, "REPORTRAG_INDEX_DIR": str(index_dir), **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "reportrag.skins.cli", *args], capture_output=True, text=True, env=env, cwd=PROJECT_ROOT
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="session")
def search_settings(tmp_path_factory) -> Settings:
    """A private index and embedding cache over the bundled reports, built once per session (about 90 s)."""
    root = tmp_path_factory.mktemp("search")
    return Settings(index_dir=root / "index", cache_dir=root / "cache")


@pytest.fixture(scope="session")
def searcher(search_settings):
    from reportrag.service import ingesting as corpus

    corpus.ingest_reports(search_settings)  # reading never builds: ingest first, as `make run` does
    return corpus.open_searcher(search_settings)


@pytest.fixture(scope="session")
def app_server(app_process) -> str:
    """The base URL of the running app."""
    return app_process[0]


@pytest.fixture(scope="session")
def app_process(search_settings, searcher, tmp_path_factory):
    """``python app.py`` as a user starts it, on 127.0.0.1 and a free port, over the session's index.
    Yields (base URL, process)."""
    work = tmp_path_factory.mktemp("work")
    with start_server(work, {"REPORTRAG_INDEX_DIR": str(search_settings.index.index_dir),
                             "REPORTRAG_CACHE_DIR": str(search_settings.index.cache_dir), "REPORTRAG_WORK_DIR": str(work)}) as server:
        yield server


@contextlib.contextmanager
def start_server(folder: Path, env: dict[str, str], *args: str):
    """The app started for a test, stopped after it; its log (in ``folder``) is shown if it fails to come up.
    Gradio's temporary files go where the app puts them by default, whatever the calling shell says."""
    from reportrag.eval.loadtest import start_app, stop_app

    gradio_tmp = str(Path(env["REPORTRAG_WORK_DIR"]) / "tmp")
    with open(folder / "server.log", "w+") as log:
        try:
            proc, url, _ = start_app({**env, "GRADIO_TEMP_DIR": gradio_tmp}, *args, log=log)
        except RuntimeError as e:
            log.seek(0)
            pytest.fail(f"{e}:\n{log.read()[-3000:]}")
        try:
            yield url, proc
        finally:
            stop_app(proc)
