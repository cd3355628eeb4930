"""Citations a reader can check in print: manifest fields, the review's contents-list pages, print labels, the JSON
(old fields kept, new ones added), reference-manager exports, old stored reports still loading."""

from __future__ import annotations

import json
from dataclasses import asdict

from reportrag.answers import bibliography, export
from reportrag.core.records import Answer, Citation, Place, ReportInfo, Statement, print_label
from reportrag.core.settings import Settings
from reportrag.index import document_store
from reportrag.ingest.contents import contents_pages, page_of
from reportrag.ingest.pipeline import read_manifest

OLD_PLACE_FIELDS = {"doc_id", "doc_title", "section", "section_label", "paragraph", "start", "end", "passage_id", "label"}


def _infos() -> dict[str, ReportInfo]:
    return {info.doc_id: info for info, _ in read_manifest(Settings().ingest.reports_manifest)}


def test_manifest_names_what_printing_needs():
    infos = _infos()
    cedaw, review = infos["cedaw"], infos["review"]
    assert (cedaw.symbol, cedaw.answers, cedaw.language, cedaw.publisher) == (
        "CEDAW/C/KAZ/6", "CEDAW/C/KAZ/CO/5", "en", "United Nations")
    assert cedaw.date == "2023" and review.date == "2022" and review.symbol == ""
    # no address is written that the texts themselves cannot justify (neither states a symbol or a URL)
    assert cedaw.source_url == "" and review.source_url == ""
    assert not review.numbered_paragraphs


def test_our_cedaw_count_is_not_the_documents_own_numbering(cedaw):
    """Why ``numbered_paragraphs`` stays false for the CEDAW report: the conversion lost the document's paragraph
    numbers, and our count includes what UN documents leave unnumbered — a subheading and dash list items — so
    "para. N" would not be the published paragraph N (the label says "(counted)" instead)."""
    document, _ = cedaw
    by_number = {p.number: p.text for p in document.paragraphs}
    assert by_number[1].startswith("The sixth periodic report of the Republic of Kazakhstan")  # ¶1 agrees …
    assert by_number[33] == "Crime and violence against women"  # … but a subheading is counted,
    assert all(by_number[n].startswith("–") for n in range(398, 405))  # and so are dash items
    assert not _infos()["cedaw"].numbered_paragraphs


def test_contents_pages_of_the_review(review):
    document, _ = review
    pages = contents_pages(document.source_text)
    assert pages == {"II": 8, "III": 11, "V": 14, "VII": 19, "VII.A": 19, "VII.B": 20, "VII.G": 30, "VII.M": 40}
    assert {s.label: s.page for s in document.sections if s.page} == pages
    assert document.page_of("VII.G") == 30 and document.page_of("VII.C") is None  # "p." only where known


def test_contents_parser_on_odd_input():
    assert contents_pages("") == {} and contents_pages("no contents here\nI. Intro\n") == {}
    assert page_of("Draft Concept until 202630", 20) == 30  # a year glued to its page
    assert page_of("Draft Concept until 2026", 20) is None  # a year alone is no page
    assert page_of("Ombudsman11", 8) == 11 and page_of("Ombudsman3", 8) is None  # pages never go back
    text = "CONTENTS\r\n\r\nI. Intro\r\nII. Rights\r\nof all5\r\nA. Life6\r\nB. Health\r\nC. Work9\r\nIII. End12\r\n\r\nI. Intro\r\n"
    assert contents_pages(text) == {"II": 5, "II.A": 6, "II.C": 9, "III": 12}


def test_print_labels():
    assert print_label("CEDAW/C/KAZ/6", "Article 5 (a)", 180, numbered=True) == "CEDAW/C/KAZ/6, para. 180 (Article 5 (a))"
    assert print_label("Annual Review 2022", "VII.E", 192, page=19) == \
        "Annual Review 2022, sec. VII.E, p. 19, para. 192 (counted)"
    assert print_label("CEDAW/C/KAZ/6", "Article 5 (a)", 180) == "CEDAW/C/KAZ/6, Article 5 (a), para. 180 (counted)"
    assert print_label("My report", "", 3) == "My report, para. 3 (counted)"


def test_places_of_the_real_reports(reports):
    review, _ = reports["review"]
    cedaw, _ = reports["cedaw"]
    p = next(p for p in review.paragraphs if p.section_label == "VII.A")
    place = review.place(p.section, p.section_label, p.number, p.start, p.end, "x")
    assert place.print_label == f"Annual Review 2022, sec. VII.A, p. 19, para. {p.number} (counted)"
    p = next(p for p in cedaw.paragraphs if p.section_label == "Article 5 (a)")
    place = cedaw.place(p.section, p.section_label, p.number, p.start, p.end, "x")
    assert place.print_label == f"CEDAW/C/KAZ/6, Article 5 (a), para. {p.number} (counted)"
    js = place.to_json()
    assert OLD_PLACE_FIELDS <= set(js) and js["label"] == f"CEDAW 6th periodic report, Article 5 (a), ¶{p.number}"
    assert (js["symbol"], js["page"], js["paragraph_numbered_by"]) == ("CEDAW/C/KAZ/6", None, "counted")


def _answer() -> Answer:
    place = Place("cedaw", "CEDAW 6th periodic report", ("Part II",), "Article 5 (a)", 180, 10, 20, "cedaw-0180-x",
                  symbol="CEDAW/C/KAZ/6", numbered=True)
    review = Place("review", "Annual Review 2022", ("VII",), "VII.A", 127, 5, 9, "review-0127-x", page=19)
    cites = (Citation(1, "a quote", place, "cedaw-p180-0123456789", True),
             Citation(2, "more", review, "review-p127-0123456789", True))
    return Answer("q", True, (Statement("a quote", (1,), True, "cedaw"), Statement("more", (2,), True, "review")), cites)


def test_answer_json_keeps_old_fields_and_adds_print_ones():
    c = _answer().to_json()["citations"][0]
    assert c["label"] == "CEDAW 6th periodic report, Article 5 (a), ¶180" and c["section"] == "Article 5 (a)"
    assert (c["start"], c["end"], c["paragraph"], c["doc_title"]) == (10, 20, 180, "CEDAW 6th periodic report")
    assert c["print_label"] == "CEDAW/C/KAZ/6, para. 180 (Article 5 (a))"
    assert (c["symbol"], c["page"], c["paragraph_numbered_by"]) == ("CEDAW/C/KAZ/6", None, "document")


def test_markdown_cites_in_print():
    md = export.to_markdown(_answer())
    assert "[^1]: CEDAW/C/KAZ/6, para. 180 (Article 5 (a)) (verbatim ✓" in md
    assert "[^2]: Annual Review 2022, sec. VII.A, p. 19, para. 127 (counted)" in md and "characters" not in md


def test_csl_json_and_bibtex(tmp_path):
    infos = _infos()
    path = export.export(_answer(), tmp_path / "answer.csl.json", infos)
    items = json.loads(path.read_text(encoding="utf-8"))
    assert [i["id"] for i in items] == ["cedaw", "review"]
    cedaw = items[0]
    assert (cedaw["type"], cedaw["number"], cedaw["publisher"], cedaw["language"]) == (
        "report", "CEDAW/C/KAZ/6", "United Nations", "en")
    assert cedaw["issued"] == {"date-parts": [[2023]]} and "URL" not in cedaw  # no address is guessed
    assert items[1]["publisher"] == "Ministry of Justice of the Republic of Kazakhstan" and "number" not in items[1]
    # where the answer cites each report, in its note (a reference manager keeps one entry per report)
    assert cedaw["note"] == "Responds to CEDAW/C/KAZ/CO/5. Cited: para. 180 (Article 5 (a))"
    assert items[1]["note"] == "Cited: sec. VII.A, p. 19, para. 127 (counted)"
    bib = export.export(_answer(), tmp_path / "answer.bib", infos).read_text(encoding="utf-8")
    assert bib.startswith("@techreport{CEDAWCKAZ6,") and "number = {CEDAW/C/KAZ/6}" in bib and "year = {2022}" in bib
    assert bib.count("{") == bib.count("}")
    assert "note = {Responds to CEDAW/C/KAZ/CO/5. Cited: para. 180 (Article 5 (a))}" in bib
    # a user's own report, not in the manifest: its title at least
    assert bibliography.cited(_answer(), {})[0].title == "CEDAW 6th periodic report"


def test_old_stored_reports_still_load(tmp_path, review):
    """A report stored before these fields existed (no page, no symbol …) loads with their defaults."""
    document, passages = review
    document_store.save(tmp_path, document, passages[:3], {"pipeline": 2})
    path = tmp_path / "documents" / "review.json"
    payload = json.loads(path.read_text(encoding="utf-8"))
    old_info = {k: v for k, v in payload["document"]["info"].items() if k in ReportInfo.__dataclass_fields__
                and ReportInfo.__dataclass_fields__[k].default is ReportInfo.__dataclass_fields__["doc_id"].default}
    payload["document"]["info"] = old_info
    for s in payload["document"]["sections"]:
        del s["page"]
    path.write_text(json.dumps(payload), encoding="utf-8")
    loaded, _ = document_store.load(tmp_path, "review")
    assert loaded.info.symbol == "" and not loaded.info.numbered_paragraphs and loaded.page_of("VII.A") is None
    assert asdict(loaded.info)["title"] == document.info.title


def test_a_pdf_citation_names_the_page_it_stands_on(tmp_path):
    """A user's own PDF: each quote's page is the PDF page it stands on ("p. 2"), whatever its section."""
    from reportrag.ingest.pipeline import build_document
    from tests import fixtures_files as F

    pdf = F.write_pdf(tmp_path / "own.pdf", [["Shelters for women were opened in every region."],
                                             ["The budget for shelters doubled in 2023."]])
    info = ReportInfo(doc_id="own", title="Own report", short_title="Own report", issuer="", period="",
                      source_format="pdf", original_file="own.pdf", file="own.pdf")
    document = build_document(pdf, info, max_bytes=Settings().ingest.max_file_bytes)
    for needle, page in (("Shelters for women", 1), ("The budget", 2)):
        start = document.text.index(needle)
        place = document.place((), "", 1, start, start + len(needle), "own-1")
        assert place.page == page and f"p. {page}" in place.print_label
    review = build_document(F.write_text(tmp_path / "plain.txt", "One paragraph.\n\nAnother one."), info,
                            max_bytes=Settings().ingest.max_file_bytes)
    assert review.page_at(5) is None  # no pages marked: the section's first page, where the report gives one
