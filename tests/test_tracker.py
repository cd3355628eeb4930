"""The concluding-observations tracker on the real reports (fast: the hashing-embedder index, no model): every
reference the report makes is listed, each listed paragraph responds to it, statuses are verbatim slices; the CLI
(a real subprocess), the API, the web tab's HTML, the CSV and DOCX exports; the Committee's words beside the
response when a concluding-observations document is in the index."""

from __future__ import annotations

import csv
import io
import json

import pytest

from reportrag.answers import tracker_export
from reportrag.answers.tracker import paragraph_label, references_named, tracker, track
from reportrag.ingest.pipeline import build_document, info_for_file
from reportrag.service import Service
from reportrag.skins.web.co_tab import tracker_html
from tests.conftest import run_cli
from tests.fixtures_files import CO_TEXT

REFERENCES_NAMED = 66  # labels the CEDAW report names, paragraph by paragraph (the count)
DISTINCT = 65  # … of them distinct: "24(d)" is named twice (¶201 opens its block, ¶206 closes it)


@pytest.fixture(scope="module")
def tracked(fake_searcher):
    return tracker(fake_searcher)


def test_every_reference_is_tracked_and_every_listed_paragraph_responds_to_it(tracked, fake_searcher):
    named = references_named(fake_searcher.documents)
    assert len(named) == REFERENCES_NAMED
    in_passages = {(p.doc_id, r) for p in fake_searcher.passages for r in p.concluding_observations}
    assert {(d, r) for d, r, _ in named} == in_passages  # every label ingest found is one the report names
    assert {(t.doc_id, t.reference) for t in tracked} == in_passages and len(tracked) == DISTINCT
    passages = {p.passage_id: p for p in fake_searcher.passages}
    for t in tracked:
        assert t.responses, t.reference
        for r in t.responses:
            passage = passages[r.passage_id]
            assert r.paragraph in passage.paragraphs and not passage.duplicate_of
            assert t.reference in passage.concluding_observations, (t.reference, r.paragraph)
            paragraph = fake_searcher.documents[t.doc_id].paragraphs[r.paragraph - 1]
            assert paragraph.number == r.paragraph and t.reference in paragraph.addresses
    order = [(int(t.reference.split("(")[0]), t.reference) for t in tracked]
    assert order == sorted(order)


def test_26a_is_answered_by_165_to_167_and_no_status_is_inferred(tracked):
    by_ref = {t.reference: t for t in tracked}
    assert by_ref["26(a)"].paragraphs == (165, 166, 167) and by_ref["26(a)"].paragraph_label == "¶165–167"
    assert by_ref["26(a)"].sections == ("Article 5 (a)",) and not by_ref["26(a)"].status
    assert [s.phrase for s in by_ref["44(a)"].status] == ["has been partially fulfilled"]
    assert by_ref["14(b)"].status[0].quote == "Thus, paragraph 14 (b) of the Committee’s concluding observations is being fulfilled."
    assert [s.phrase for s in by_ref["36(a)"].status] == ["work is under way"]
    assert not by_ref["42(a)"].status  # "in fulfilment of paragraph 42 (a)" states no status
    assert sum(bool(t.status) for t in tracked) >= 30


def test_status_quotes_are_verbatim_slices_that_name_their_paragraph(tracked, fake_searcher):
    statuses = [(t, s) for t in tracked for s in t.status]
    assert statuses
    for t, s in statuses:
        document = fake_searcher.documents[t.doc_id]
        assert document.text[s.start:s.end] == s.quote and s.phrase in s.quote
        paragraph = document.paragraphs[s.paragraph - 1]
        assert paragraph.start <= s.start < s.end <= paragraph.end and s.paragraph in t.paragraphs
        assert s.anchor.startswith(f"{t.doc_id}-p{s.paragraph}-")


def test_service_reads_the_tracker_from_the_store_without_a_model(fake_settings, tracked):
    service = Service(fake_settings)
    assert [t.to_json() for t in service.co()] == [t.to_json() for t in tracked]
    assert service._searcher is None  # no model was loaded


def test_cli_co_json_and_csv(fake_settings, tracked, tmp_path):
    out, docx = tmp_path / "co.csv", tmp_path / "co.docx"
    proc = run_cli("co", "--json", "--csv", str(out), "--docx", str(docx), index_dir=fake_settings.index.index_dir,
                   check=True)
    assert json.loads(proc.stdout) == [t.to_json() for t in tracked]
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["reference"] for r in rows] == [t.reference for t in tracked]
    row = next(r for r in rows if r["reference"] == "44(a)")
    assert row["status"] == "has been partially fulfilled" and row["paragraphs"].startswith("¶")
    from docx import Document

    cells = [c.text for table in Document(str(docx)).tables for row in table.rows for c in row.cells]
    assert "26(a)" in cells and any("¶165–167" in c for c in cells)
    text = run_cli("co", index_dir=fake_settings.index.index_dir, check=True).stdout
    assert "26(a)" in text and "¶165–167" in text
    bad = run_cli("co", "--csv", str(tmp_path / "co.pdf"), index_dir=fake_settings.index.index_dir)
    assert bad.returncode == 1 and ".csv or .docx" in bad.stderr


def test_api_co_matches_the_library(fake_settings, fake_searcher, tracked):
    from fastapi.testclient import TestClient

    from reportrag.skins.api import create_api

    with TestClient(create_api(Service(fake_settings, searcher=fake_searcher))) as client:
        got = client.get("/api/co")
    assert got.status_code == 200 and got.json() == [t.to_json() for t in tracked]


def test_tab_html_links_each_paragraph_and_status_into_the_evidence_panel(tracked):
    html = tracker_html(tracked)
    t = next(t for t in tracked if t.reference == "14(b)")
    assert f'href="?cite={t.responses[0].passage_id}"' in html and f'href="?cite={t.status[0].anchor}"' in html
    assert 'data-reference="26(a)"' in html and "¶165–167" in html
    hostile = tracked[0].__class__("<script>", "x", tracked[0].responses)
    assert "<script>" not in tracker_html([hostile])
    assert paragraph_label([62, 64, 65]) == "¶62, 64–65" and paragraph_label([]) == ""


def test_the_committees_words_stand_beside_the_response(tmp_path, fake_searcher):
    path = tmp_path / "cedaw-co5.md"
    path.write_text(CO_TEXT, encoding="utf-8")
    co = build_document(path, info_for_file(path, fake_searcher.documents), max_bytes=1_000_000)
    documents = {**fake_searcher.documents, co.doc_id: co}
    by_ref = {t.reference: t for t in track(documents, fake_searcher.passages)}
    words = by_ref["26(a)"].committee
    assert words.text == "(a) Amend the Criminal Code to criminalize domestic violence;"
    assert co.text[words.start:words.end] == words.text and words.doc_id == co.doc_id
    assert by_ref["10"].committee.text.startswith("10. The Committee recommends")
    assert by_ref["14(b)"].committee.text.startswith("(b) Provide capacity-building")
    assert by_ref["26(b)"].committee and by_ref["28(a)"].committee is None  # not in the tiny document
    assert "The Committee" in tracker_html(list(by_ref.values()))
    assert by_ref["26(a)"].to_json()["committee"]["text"] == words.text
    rows = tracker_export.csv_rows([by_ref["26(a)"]])
    assert rows[0]["committee"] == words.text
