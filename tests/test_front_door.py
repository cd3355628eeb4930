"""One front door: every CLI command goes through ``Service``; reading never ingests and never loads the model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from reportrag.core.errors import IndexNotFound
from reportrag.core.settings import PROJECT_ROOT, Settings
from reportrag.service import Service
from tests.conftest import FAST_MODEL, run_cli

READS = [("docs",), ("doc", "cedaw"), ("passages", "cedaw"), ("search", "shelters"), ("ask", "shelters"),
         ("cite", "concluding observations 36 (e)"), ("co",)]


@pytest.mark.parametrize("command", READS, ids=lambda c: c[0])
def test_a_read_on_an_empty_index_points_at_ingest_and_writes_nothing(command, tmp_path):
    index = tmp_path / "index"
    proc = run_cli(*command, index_dir=index)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"error: no reports in the index at {index}; run 'reportrag ingest' (or 'make run') first"
    ]
    assert not index.exists()  # nothing was ingested or created


def test_the_service_refuses_reads_without_an_index(tmp_path):
    service = Service(Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache", model=FAST_MODEL))
    with pytest.raises(IndexNotFound, match="reportrag ingest"):
        service.documents()
    with pytest.raises(IndexNotFound, match="reportrag ingest"):
        service.search("shelters")


def test_reading_the_stored_reports_never_loads_the_model(search_settings, searcher):
    code = (
        "import json, sys\n"
        "from reportrag.core.settings import Settings\n"
        "from reportrag.service import Service\n"
        f"s = Service(Settings(index_dir={str(search_settings.index.index_dir)!r}, model={FAST_MODEL!r}))\n"
        "docs = s.documents(); doc = s.document('cedaw'); ps = s.passages('review')\n"
        "print(json.dumps([len(docs), doc.doc_id, len(ps), 'sentence_transformers' in sys.modules, 'torch' in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, check=True)
    n_docs, doc_id, n_review, model_loaded, torch_loaded = json.loads(out.stdout)
    assert (n_docs, doc_id) == (2, "cedaw")
    assert n_review == sum(p.doc_id == "review" for p in searcher.passages)
    assert not model_loaded and not torch_loaded


def test_service_reads_equal_the_searchers_corpus(search_settings, searcher):
    service = Service(search_settings)
    assert [d["doc_id"] for d in service.documents()] == list(searcher.documents)
    assert service.document("cedaw") == searcher.documents["cedaw"]
    assert service.passages("cedaw") == [p for p in searcher.passages if p.doc_id == "cedaw"]


def _model_loaded_after(code: str, index_dir) -> bool:
    script = (
        "import sys\n"
        "from reportrag.core.settings import Settings\n"
        "from reportrag.service import Service\n"
        f"s = Service(Settings(index_dir={str(index_dir)!r}, model={FAST_MODEL!r}))\n"
        f"{code}\n"
        "print('sentence_transformers' in sys.modules or 'torch' in sys.modules)"  # torch alone costs 1.6 s
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1] == "True"


def test_citing_and_removing_never_load_the_model(search_settings, searcher, tmp_path):
    import shutil

    assert not _model_loaded_after("s.cite(quote='death penalty'); s.cite('concluding observations 36 (e)')",
                                   search_settings.index.index_dir)
    copy = tmp_path / "index"
    shutil.copytree(search_settings.index.index_dir, copy)
    # the other report's vectors come from the cache: nothing to embed, so no model
    code = f"import os; os.environ['REPORTRAG_CACHE_DIR'] = {str(search_settings.index.cache_dir)!r}\n" \
           f"s = Service(Settings(index_dir={str(copy)!r}, cache_dir={str(search_settings.index.cache_dir)!r}, " \
           f"model={FAST_MODEL!r}))\n" \
           "s.remove('review')"
    assert not _model_loaded_after(code, copy)
    assert _model_loaded_after("s.search('death penalty')", search_settings.index.index_dir)  # the check can fail
