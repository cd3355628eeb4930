"""Shared fixtures: the two real reports, ingested once per test session with the real tokenizer; a search index
over them built with the real model (slow tier) or with the hashing stand-in (fast tier); the slow-tier marking.

The real model here is the fast all-MiniLM-L6-v2, not the default all-mpnet-base-v2 (4-5× slower): settings
built in tests say ``model=FAST_MODEL``, and every subprocess (CLI, app, benchmarks) inherits
``REPORTRAG_MODEL=minilm``. Only tests/test_mpnet.py assembles or loads mpnet (fixture ``allow_mpnet``); anything
else that reaches it fails with a message saying how to pin the fast model.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from reportrag.index.fake_embedder import HashingEmbedder
from reportrag.index.model_path import default_model_path
from reportrag.ingest.pipeline import build_document, build_passages, read_manifest
from reportrag.ingest.tokens import TokenCounter

from reportrag.core.settings import PROJECT_ROOT, Settings

MANIFEST = PROJECT_ROOT / "data" / "reports" / "manifest.json"
FAST_MODEL = "minilm"
os.environ["REPORTRAG_MODEL"] = FAST_MODEL  # subprocesses and Settings.from_env(); Settings(...) says model=FAST_MODEL

# --- tiers: `make test-fast` runs `pytest -m "not slow"` ------------------------------------------------------------
# A test is slow when it needs the real embedding model, a server, a browser or killed subprocesses. It is marked
# here, from what it uses, so test files need no marks of their own (the fast tier's search tests use fake_searcher).

# Fixtures that load the real model (or start the app, which does): whatever requests them, directly or through
# another fixture, is slow.
REAL_MODEL_FIXTURES = {
    "search_settings",  # the session's real index: searcher, app_server and app_process build on it
    "embedder",  # test_langchain.py, test_beir.py: the model alone
    "small",  # test_bad_input.py: a small corpus indexed with the model (its CLI tests load it again)
    "bundled_index",  # test_cli_ingest.py: `reportrag ingest` through the CLI
    "world",  # test_crash_safety.py
    "mpnet_folder",  # test_mpnet.py: all-mpnet-base-v2 assembled from its real parts (440 MB), then loaded
    "quality_searcher",  # test_quality.py: the bundled reports indexed with the default model, all-mpnet-base-v2
}
# Modules where every test is a server, browser, load or crash test.
SLOW_MODULES = {"test_api", "test_browser", "test_crash_safety", "test_load"}
# Tests that load the model themselves, without a fixture.
SLOW_TESTS = {
    "test_cli_ingest.py::test_damaged_stored_report_gives_a_way_out",  # ingest + search through the CLI
    "test_langchain.py::TestEmbeddingsUnitStandard",  # ReportragEmbeddings() loads the bundled model
    "test_docx_pages.py::test_cli_json_and_api_cite_page_3",  # `reportrag ingest` of a DOCX through the CLI
}


def pytest_configure(config):
    """In a run without the slow tier, loading the real model is an error that names the fix, not a silent minute.
    In any run, reaching all-mpnet-base-v2 outside ``allow_mpnet`` is an error (a forgotten ``model=FAST_MODEL``)."""
    _guard_mpnet(config)
    if "not slow" not in (config.option.markexpr or ""):
        return
    from reportrag.index import embed

    def refuse(*args, **kwargs):
        raise RuntimeError("the fast tier loaded the real embedding model: use fake_searcher, or list what this test "
                           "uses in REAL_MODEL_FIXTURES or SLOW_TESTS (tests/conftest.py)")

    real_load = embed._load  # the one place the model is loaded (an Embedder loads it on its first encode)
    embed._load = refuse
    config.add_cleanup(lambda: setattr(embed, "_load", real_load))


def _guard_mpnet(config) -> None:
    from reportrag.index import mpnet

    real_ensure = mpnet.ensure

    def guarded(*args, **kwargs):
        if not guarded.allowed:
            raise RuntimeError("a test reached all-mpnet-base-v2, the default model: build its Settings with "
                               "model=FAST_MODEL (tests/conftest.py), or use the allow_mpnet fixture "
                               "(tests/test_mpnet.py)")
        return real_ensure(*args, **kwargs)

    guarded.allowed = False
    mpnet.ensure = guarded
    config.add_cleanup(lambda: setattr(mpnet, "ensure", real_ensure))


@contextlib.contextmanager
def mpnet_allowed():
    """Within this block all-mpnet-base-v2 may be assembled (tests/test_mpnet.py)."""
    from reportrag.index import mpnet

    before = getattr(mpnet.ensure, "allowed", True)
    mpnet.ensure.allowed = True
    try:
        yield
    finally:
        mpnet.ensure.allowed = before


@pytest.fixture
def allow_mpnet():
    with mpnet_allowed():
        yield


def pytest_collection_modifyitems(config, items):
    for item in items:
        where = item.nodeid.removeprefix("tests/")
        if (
            REAL_MODEL_FIXTURES.intersection(getattr(item, "fixturenames", ()))
            or item.path.stem in SLOW_MODULES
            or any(where == test or where.startswith((test + "::", test + "[")) for test in SLOW_TESTS)
        ):
            item.add_marker(pytest.mark.slow)


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


CLI_CACHE_DIR: Path | None = None  # set by cli_embedding_cache for the session


@pytest.fixture(scope="session", autouse=True)
def cli_embedding_cache(tmp_path_factory) -> Path:
    """One embedding cache for the session's CLI calls that name none, shared as data/cache is for a user, but never
    data/cache itself: compacting an index prunes its cache to the index, dropping the vectors of a user's reports."""
    global CLI_CACHE_DIR
    CLI_CACHE_DIR = tmp_path_factory.mktemp("cli-cache")
    return CLI_CACHE_DIR


def run_cli(*args: str, index_dir: Path, check: bool = False, env: dict | None = None) -> subprocess.CompletedProcess:
    """The installed command, as a user runs it, against a private index folder (and the session's CLI cache)."""
    env = {**os.environ, "REPORTRAG_INDEX_DIR": str(index_dir), "REPORTRAG_CACHE_DIR": str(CLI_CACHE_DIR), **(env or {})}
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
    return Settings(index_dir=root / "index", cache_dir=root / "cache", model=FAST_MODEL)


@pytest.fixture(scope="session")
def searcher(search_settings):
    from reportrag.service import ingesting as corpus

    corpus.ingest_reports(search_settings)  # reading never builds: ingest first, as `make run` does
    return corpus.open_searcher(search_settings)


@pytest.fixture(scope="session")
def quality_searcher(tmp_path_factory):
    """The bundled reports indexed with the default model, all-mpnet-base-v2, for the tests that measure answer
    quality (tests/test_quality.py): what users get. Built once per session, about 4-7 minutes on two cores."""
    from reportrag.service import ingesting as corpus

    root = tmp_path_factory.mktemp("quality")
    settings = Settings(index_dir=root / "index", cache_dir=root / "cache", model="mpnet")
    with mpnet_allowed():  # the model is assembled (once, cached in data/models) and loaded here, not later
        corpus.ingest_reports(settings)
        return corpus.open_searcher(settings)


@pytest.fixture(scope="session")
def fake_settings(tmp_path_factory, tokens) -> Settings:
    """The bundled reports ingested (real cleaning, structure and chunking) and indexed with ``HashingEmbedder``
    into a private folder: a few seconds, no model. For search plumbing, filters, answers' structure and
    citations, never for ranking quality."""
    from reportrag.service import ingesting as corpus

    root = tmp_path_factory.mktemp("fake-search")
    settings = Settings(index_dir=root / "index", cache_dir=root / "cache", model=FAST_MODEL)
    # corpus.ingest, not ingest_reports: the latter indexes with the real model
    result = corpus.ingest(settings.index.index_dir, read_manifest(settings.ingest.reports_manifest), tokens,
                           max_bytes=settings.ingest.max_file_bytes, max_tokens=settings.ingest.max_passage_tokens)
    assert result.added == ["review", "cedaw"] and not result.failed
    corpus.refresh_search_index(settings, HashingEmbedder())
    return settings


@pytest.fixture(scope="session")
def fake_searcher(fake_settings):
    """A ``Searcher`` over ``fake_settings``' index; read-only: tests that change an index copy the folder."""
    from reportrag.retrieval.search import Searcher

    return Searcher(fake_settings.index.index_dir, HashingEmbedder())


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
def upload_server(search_settings: Settings, root: Path):
    """A server with --allow-uploads over a copy of the session's index in ``root`` (the copy is changed, not the
    original). Yields (base URL, root)."""
    import shutil

    shutil.copytree(search_settings.index.index_dir, root / "index")
    shutil.copytree(search_settings.index.cache_dir, root / "cache")
    env = {"REPORTRAG_INDEX_DIR": str(root / "index"), "REPORTRAG_CACHE_DIR": str(root / "cache"),
           "REPORTRAG_WORK_DIR": str(root / "work")}
    with start_server(root, env, "--allow-uploads") as (url, _):
        yield url, root


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
