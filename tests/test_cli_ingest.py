"""`reportrag ingest/docs/doc/passages` as a user runs them, good and bad input included."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, run_cli
from tests.fixtures_files import write_docx, write_encrypted_pdf

REVIEW = PROJECT_ROOT / "data" / "reports" / "annual-review-2022.txt"


@pytest.fixture(scope="module")
def bundled_index(tmp_path_factory) -> Path:
    index = tmp_path_factory.mktemp("index")
    proc = run_cli("ingest", index_dir=index, check=True)
    assert "ingested 2" in proc.stdout
    assert "[1/2] review" in proc.stderr  # progress is shown
    return index


def _snapshot(index: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((index / "documents").glob("*"))}


def test_docs_lists_both_reports(bundled_index):
    docs = json.loads(run_cli("docs", "--json", index_dir=bundled_index, check=True).stdout)
    assert {d["doc_id"] for d in docs} == {"review", "cedaw"}
    cedaw = next(d for d in docs if d["doc_id"] == "cedaw")
    assert cedaw["period"] == "2020–2023" and cedaw["original_file"] == "003_7a7a09d00813c630.txt"
    assert cedaw["passages"] > 100 and cedaw["footnotes"] == 3


def test_doc_json_has_text_sections_and_footnotes(bundled_index):
    doc = json.loads(run_cli("doc", "cedaw", "--json", index_dir=bundled_index, check=True).stdout)
    assert doc["doc_id"] == "cedaw" and doc["title"].startswith("Sixth periodic report")
    assert "[bookmark" not in doc["text"]
    assert len(doc["footnotes"]) == 3
    assert any(s["label"] == "Article 16" for s in doc["sections"])


def test_passages_json_follows_the_contract(bundled_index):
    doc = json.loads(run_cli("doc", "review", "--json", index_dir=bundled_index, check=True).stdout)
    passages = json.loads(run_cli("passages", "review", "--json", index_dir=bundled_index, check=True).stdout)
    for p in passages:
        assert {"passage_id", "doc_id", "section", "paragraph", "start", "end", "text"} <= set(p)
        assert doc["text"][p["start"] : p["end"]] == p["text"]


def test_reingest_unchanged_is_a_no_op(bundled_index):
    before = _snapshot(bundled_index)
    proc = run_cli("ingest", index_dir=bundled_index, check=True)
    assert "ingested 0, unchanged 2" in proc.stdout
    assert _snapshot(bundled_index) == before


def test_unknown_report_is_a_clear_error(bundled_index):
    proc = run_cli("doc", "nope", index_dir=bundled_index)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "nope: no such report" in proc.stderr and "Traceback" not in proc.stderr


def test_folder_mixing_good_and_bad_files(bundled_index, tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "good.md").write_text("# Shelters\n\nThe state runs 12 crisis centres for women.\n", encoding="utf-8")
    write_docx(folder / "memo.docx")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 20)
    (folder / "latin1.txt").write_bytes("Ombudsman caf\xe9 report".encode("latin-1"))
    (folder / "notes.xyz").write_text("what is this", encoding="utf-8")
    (folder / "junk.docx").write_bytes(b"PK\x03\x04 this is not really a zip")
    write_encrypted_pdf(folder / "locked.pdf", [["Locked text"]], user_password="secret")
    shutil.copy(REVIEW, folder / "review-copy.txt")  # the same report twice
    before = _snapshot(bundled_index)

    proc = run_cli("ingest", str(folder), index_dir=bundled_index)

    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    for name in ("empty.txt", "binary.txt", "latin1.txt", "notes.xyz", "junk.docx", "locked.pdf", "review-copy.txt"):
        assert sum(name in line for line in errors) == 1, (name, errors)
    assert "already in the index as 'review'" in proc.stderr
    assert "ingested 2," in proc.stdout and "failed 7" in proc.stdout
    after = _snapshot(bundled_index)
    assert {k: v for k, v in after.items() if k in before} == before  # stored reports untouched
    assert {"good.json", "memo.json"} <= set(after)
    passages = json.loads(run_cli("passages", "good", "--json", index_dir=bundled_index, check=True).stdout)
    assert passages[0]["text"] == "The state runs 12 crisis centres for women."
    assert passages[0]["section"] == ["Shelters"]


def test_missing_path_is_a_clear_error(tmp_path):
    proc = run_cli("ingest", str(tmp_path / "nowhere.pdf"), index_dir=tmp_path / "index")
    assert proc.returncode == 1
    assert "nowhere.pdf: no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_damaged_stored_report_gives_a_way_out(tmp_path):
    index = tmp_path / "index"
    run_cli("ingest", index_dir=index, check=True)
    stored = index / "documents" / "cedaw.json"
    stored.write_text(stored.read_text(encoding="utf-8")[:1000], encoding="utf-8")  # truncated
    proc = run_cli("doc", "cedaw", "--json", index_dir=index)
    assert proc.returncode == 1 and "run 'reportrag ingest'" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("ingest", index_dir=index, check=True)
    assert "ingested 1, unchanged 1" in proc.stdout  # the damaged one is rebuilt, the other kept
    run_cli("doc", "cedaw", "--json", index_dir=index, check=True)
