"""The web app: its HTML rendering escapes report text, and the Gradio app answers through ``gradio_client``."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys

import pytest

from reportrag.core.records import Answer, Citation, Place, Statement
from reportrag.core.settings import PROJECT_ROOT
from reportrag.skins import web as webapp

HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned=2">'


def _answer(text: str) -> Answer:
    place = Place("evil", "Evil <b>report</b>", ("<i>Part</i>",), "I.A", 3, 10, 10 + len(text), "evil-0003-x")
    citation = Citation(1, text, place, "evil-p3-0123456789", True)
    return Answer("q <script>", True, (Statement(text, (1,), True, "evil"),), (citation,))


def test_report_text_is_escaped_in_every_rendering(searcher):
    from reportrag.answers import citations as cite

    html = webapp.answer_html(_answer(HOSTILE))
    assert "<script>" not in html and "<img" not in html and "&lt;script&gt;" in html and "<b>" not in html
    assert "verbatim ✓" in html and "verified" not in html  # the check named for what it checks
    located = cite.Citations(searcher.corpus).lookup(searcher.passages[0].passage_id)
    evil_context = tuple(dataclasses.replace(c, text=HOSTILE + c.text) for c in located.context)
    evil = dataclasses.replace(located, context=evil_context, note=HOSTILE)
    rendered = webapp.located_html(evil, "http://h/?cite=<x>")
    assert "<script>" not in rendered and "<img" not in rendered and "?cite=&lt;x&gt;" in rendered
    document = searcher.documents["review"]
    paragraphs = tuple(dataclasses.replace(p, text=HOSTILE) for p in document.paragraphs)
    section = webapp.section_html(dataclasses.replace(document, paragraphs=paragraphs), 0)
    assert "<script>" not in section and "&lt;script&gt;" in section


def test_highlight_is_exactly_the_cited_span(searcher):
    from reportrag.answers import citations as cite
    from reportrag.answers import extractive as answer

    result = answer.answer(searcher, "What is the maximum prison term for torture?")
    citation = result.citations[0]
    html = webapp.located_html(cite.Citations(searcher.corpus).lookup(citation.anchor))
    marked = html.split("<mark>")[1].split("</mark>")[0]
    assert marked == webapp.esc(citation.quote)


def test_gradio_client_gets_the_cli_json(app_server):
    from gradio_client import Client

    client = Client(app_server, verbose=False)
    body = client.predict("What is the maximum prison term for torture?", api_name="/ask")
    assert body["answered"] and "10 to 12 years" in body["citations"][0]["quote"] and body["citations"][0]["verified"]
    filtered = client.predict("violence against women", "cedaw", "", api_name="/ask")
    assert {c["doc_id"] for c in filtered["citations"]} == {"cedaw"}
    verdict = client.predict(body["citations"][0]["quote"], webapp.ALL_REPORTS, api_name="/verify")
    assert "Found verbatim in 1 place" in verdict and "<mark>" in verdict
    missing = client.predict("The moon is made of cheese and governs the parliament.", webapp.ALL_REPORTS,
                             api_name="/verify")
    assert "Not found in the reports" in missing
    looked = client.predict("concluding observations 36 (e)", api_name="/lookup")
    assert "36(e)" in looked or "36 (e)" in looked
    with pytest.raises(Exception, match="empty"):
        client.predict("   ", api_name="/ask")
    with pytest.raises(Exception, match="section: no section .* the closest: Article 9"):  # the app shows the error
        client.predict("employment of women", webapp.ALL_REPORTS, "Art. 99", api_name="/ask")


# Records the environment at the moment gradio is first imported, then imports one tab module of the web package.
GRADIO_ENV_PROBE = """
import json, os, sys
seen = {}
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "gradio" and not seen:
            seen.update(temp=os.environ.get("GRADIO_TEMP_DIR"), analytics=os.environ.get("GRADIO_ANALYTICS_ENABLED"))
sys.meta_path.insert(0, Spy())
import reportrag.skins.web.ask_tab
print(json.dumps(seen))
"""


def test_gradio_environment_is_set_before_gradio_is_imported(tmp_path):
    """Gradio reads its temporary folder and analytics switch when it is imported: whichever part of the web package
    is imported first, the package sets them before (reportrag/skins/web/startup.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADIO_")}
    env["REPORTRAG_WORK_DIR"] = str(tmp_path / "work")
    proc = subprocess.run([sys.executable, "-c", GRADIO_ENV_PROBE], capture_output=True, text=True, env=env,
                          cwd=PROJECT_ROOT, check=True)
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen == {"temp": str(tmp_path / "work" / "tmp"), "analytics": "False"}


def test_conversation_exports_every_answer_in_order(tmp_path):
    from docx import Document

    from reportrag.answers import export

    first, second = _answer("First quote."), dataclasses.replace(_answer("Second quote."), question="Second?")
    md = export.export_conversation([first, second], tmp_path / "c.md").read_text(encoding="utf-8")
    assert md.index("## q <script>") < md.index("First quote.") < md.index("## Second?") < md.index("Second quote.")
    assert "[^1.1]:" in md and "[^2.1]:" in md  # each answer's footnotes stay its own
    text = "\n".join(p.text for p in Document(str(export.export_conversation([first, second], tmp_path / "c.docx"))).paragraphs)
    assert "First quote." in text and "Second?" in text and "Second quote." in text
    with pytest.raises(Exception, match=".md or .docx"):
        export.export_conversation([first], tmp_path / "c.bib")


def test_web_messages_speak_of_the_app_not_the_command_line():
    from reportrag.skins.web.html import error_html, web_message

    empty = "no reports in the index at /srv/data/index; run 'reportrag ingest' (or 'make run') first"
    for message in (empty, "search index and reports disagree (3 passages); run 'reportrag ingest'",
                    "chat model: langchain-openai is not installed; run 'pip install langchain-openai'"):
        shown = web_message(message)
        assert "run '" not in shown and "reportrag ingest" not in shown and "/srv" not in shown
    assert "Add a report" in error_html(empty)
    assert web_message("section: no section 'Art. 99'") == "section: no section 'Art. 99'"  # others stay as they are


def test_header_names_each_report_with_its_date():
    from reportrag.skins.web.html import reports_header_html

    html = reports_header_html([{"doc_id": "a", "title": "Report <A>", "date": "2023"}, {"doc_id": "b", "title": "B"}])
    assert "Report &lt;A&gt; (2023)" in html and "; B</p>" in html and "<A>" not in html
    assert "none yet" in reports_header_html([])


def test_an_answer_searched_with_filters_says_so_and_offers_to_clear_them():
    filtered = dataclasses.replace(_answer("Some quote."), scope="CEDAW 6th periodic report, section Article 11")
    html = webapp.answer_html(filtered)
    assert "Searched only: CEDAW 6th periodic report, section Article 11." in html and 'class="rr-clear-filters"' in html
    assert "rr-clear-filters" not in webapp.answer_html(_answer("Some quote."))
    assert "#rr-clear-filters" in webapp.HEAD  # the page script presses the hidden button that resets them


class _Request:
    def __init__(self, **headers):
        self.headers = headers


def test_share_links_use_the_public_url_or_the_readers_host():
    from reportrag.skins.web.shared import share_url

    assert share_url(_Request(host="127.0.0.1:7860"), "x") == "http://127.0.0.1:7860/?cite=x"
    proxied = _Request(**{"host": "127.0.0.1:7860", "x-forwarded-host": "reports.example.org, inner",
                          "x-forwarded-proto": "https"})
    assert share_url(proxied, "x") == "https://reports.example.org/?cite=x"
    assert share_url(proxied, "x", "https://example.org/rr/") == "https://example.org/rr/?cite=x"
    assert share_url(None, "x") == "?cite=x"


def test_the_page_uses_one_system_font_stack_with_every_glyph():
    assert 'font-family: system-ui, "DejaVu Sans"' in webapp.CSS


def test_an_upload_is_answered_in_one_line_naming_the_file_and_what_to_do_in_the_app(tmp_path):
    """The loaders' real failures, worded for the CLI ("… and add it again", an environment variable), become the
    app's: upload, or ask whoever runs it; the file as the reader's computer names it, not its stored name."""
    from reportrag.core.errors import ReportragError
    from reportrag.ingest.loaders import load
    from reportrag.service.ingesting import IngestResult
    from reportrag.skins.web.html import upload_result_html

    bad = {"empty.pdf": b"", "junk.pdf": b"%PDF-1.7 not really", "x.docx": b"not a zip", "u16.txt": "x".encode("utf-16"),
           "bin.txt": bytes(range(256)), "big.md": b"# A report\n\nlonger than the limit\n", "x.odt": b"odt"}
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ReportragError) as failure:
            load(tmp_path / name, max_bytes=20)
        shown = upload_result_html(IngestResult(failed=[str(failure.value)]), f"My {name}", name, {})
        text = re.sub(r"<[^>]+>", "", shown)
        assert shown.count("<p") == 1 and text.startswith(f"My {name}: "), text
        assert not re.search(r"\badd\b|reportrag|REPORTRAG_|run '", text), text
        assert re.search(r"upload|ask whoever runs this app|save it|re-save", text), text
    added = upload_result_html(IngestResult(added=["water"]), "Water report.md", "Water-report.md", {"water": "Water"})
    assert "Added Water report.md as “Water”: ask about it in the Ask tab" in added
    same = upload_result_html(IngestResult(unchanged=["water"]), "Water report.md", "Water-report.md", {})
    assert "Water report.md is already here, unchanged, as “water”: nothing to upload" in same
