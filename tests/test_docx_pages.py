"""A user's own DOCX cites the page a quote stands on where the author broke the pages (Insert → Page break, "page
break before", a new-page section), as a PDF does; a DOCX whose pages can't be told from its breaks gets none."""

from __future__ import annotations

import json

import docx
from docx.enum.section import WD_SECTION
from docx.enum.text import WD_BREAK
from docx.oxml import OxmlElement
from reportrag.ingest.docx_reader import MAX_PAGE_CHARS
from reportrag.ingest.loaders import load
from reportrag.ingest.pipeline import build_document, build_passages

from reportrag.core.records import ReportInfo
from reportrag.core.settings import Settings
from tests.conftest import FAST_MODEL, run_cli

ON_PAGE_3 = "Crisis centres now serve rural districts as well."
PAGES = {"Shelters for women were opened": 1, "The budget for shelters doubled": 2, ON_PAGE_3: 3,
         "A hotline answers calls": 3}


def _three_pages(path, *, breaks: bool = True):
    """Page 1, an Insert → Page break paragraph, page 2, a break inside a paragraph's runs, page 3."""
    d = docx.Document()
    d.add_heading("Own report on shelters", 0)
    d.add_paragraph("Shelters for women were opened in every region of the country in 2022.")
    if breaks:
        d.add_page_break()
    d.add_heading("Budget", 1)
    p = d.add_paragraph("The budget for shelters doubled in 2023. ")
    if breaks:
        p.add_run().add_break(WD_BREAK.PAGE)
    p.add_run(ON_PAGE_3)
    d.add_paragraph("A hotline answers calls at any hour, in Kazakh and in Russian.")
    d.save(path)
    return path


def _build(path):
    info = ReportInfo(doc_id="own", title="Own report on shelters", short_title="Own report", issuer="", period="",
                      source_format="docx", original_file=path.name, file=path.name)
    return build_document(path, info, max_bytes=Settings().ingest.max_file_bytes)


def _pages(document) -> dict[str, int | None]:
    return {needle: document.page_at(document.text.index(needle)) for needle in PAGES}


def test_a_quote_after_two_page_breaks_cites_page_3(tmp_path, tokens):
    document = _build(_three_pages(tmp_path / "own.docx"))
    assert _pages(document) == PAGES
    start = document.text.index(ON_PAGE_3)
    place = document.place((), "", 2, start, start + len(ON_PAGE_3), "own-2")
    assert place.print_label == "Own report, p. 3, para. 2 (counted)" and place.to_json()["page"] == 3
    # the break inside a paragraph leaves it one paragraph; offsets hold for every passage and sentence
    assert [p.text for p in document.paragraphs][1] == f"The budget for shelters doubled in 2023. {ON_PAGE_3}"
    for passage in build_passages(document, tokens, max_tokens=Settings().ingest.max_passage_tokens):
        assert document.text[passage.start : passage.end] == passage.text
        assert all(document.text[s.start : s.end].strip() for s in passage.sentences)


def test_a_docx_without_breaks_has_no_pages_and_the_same_paragraphs(tmp_path):
    plain = _build(_three_pages(tmp_path / "plain.docx", breaks=False))
    assert set(_pages(plain).values()) == {None} and "\f" not in plain.source_text
    start = plain.text.index(ON_PAGE_3)
    assert "p." not in plain.place((), "", 2, start, start + 5, "x").print_label
    broken = _build(_three_pages(tmp_path / "broken.docx"))
    assert len(broken.paragraphs) == len(plain.paragraphs)
    # the loader reads a document without breaks exactly as python-docx does
    assert load(tmp_path / "plain.docx").text == "\n".join(p.text for p in docx.Document(tmp_path / "plain.docx").paragraphs)


def test_page_break_before_and_new_page_sections_turn_pages(tmp_path):
    d = docx.Document()
    first = d.add_paragraph("Opening words on the first page.")
    first.paragraph_format.page_break_before = True  # already at the top of page 1: no page turns
    d.add_paragraph("Chapter two starts here.").paragraph_format.page_break_before = True
    d.add_section(WD_SECTION.NEW_PAGE)
    d.add_paragraph("Annex on a page of its own.")
    d.add_section(WD_SECTION.CONTINUOUS)
    d.add_paragraph("Still the annex page.")
    d.save(tmp_path / "sections.docx")
    document = _build(tmp_path / "sections.docx")
    got = {n: document.page_at(document.text.index(n)) for n in ("Opening", "Chapter two", "Annex", "Still")}
    assert got == {"Opening": 1, "Chapter two": 2, "Annex": 3, "Still": 3}


def _rendered_break(run) -> None:
    run._r.insert(0, OxmlElement("w:lastRenderedPageBreak"))


def test_pages_word_laid_out_beyond_the_breaks_mean_no_page_numbers(tmp_path):
    """Word's record of its last layout (w:lastRenderedPageBreak) is no page number, but where it turned a page that
    no hard break explains, the text overflowed and counting breaks would mislead: no pages then."""
    path = _three_pages(tmp_path / "echo.docx")
    d = docx.Document(path)
    _rendered_break(d.paragraphs[3].runs[0])  # Word's echo of the hard break just before "Budget"
    d.save(path)
    assert _pages(_build(path)) == PAGES

    _rendered_break(d.paragraphs[1].runs[0])  # a turn no hard break explains: the first page overflowed
    d.save(path)
    assert set(_pages(_build(path)).values()) == {None}

    full = _three_pages(tmp_path / "full.docx")
    d = docx.Document(full)
    d.paragraphs[1].add_run(" More words." * (MAX_PAGE_CHARS // 10))  # more than a page holds
    d.save(full)
    assert set(_pages(_build(full)).values()) == {None}


def test_cli_json_and_api_cite_page_3(tmp_path):
    """The real thing: `reportrag ingest own.docx`, then `reportrag cite --quote … --json` and GET /api/cite."""
    from fastapi.testclient import TestClient

    from reportrag.service import Service
    from reportrag.skins.api import create_api

    path = _three_pages(tmp_path / "own-report.docx")
    index = tmp_path / "index"
    run_cli("ingest", str(path), index_dir=index, check=True)
    cli = json.loads(run_cli("cite", "--quote", ON_PAGE_3, "--json", index_dir=index, check=True).stdout)
    settings = Settings(index_dir=index, cache_dir=tmp_path / "cache", model=FAST_MODEL)
    with TestClient(create_api(Service(settings))) as client:
        api = client.get("/api/cite", params={"quote": ON_PAGE_3}).json()
    for found in (cli, api):
        place = found["places"][0]
        assert found["exact"] and place["page"] == 3, found
        assert place["print_label"] == "own-report, Budget, p. 3, para. 2 (counted)"
    assert api == cli
