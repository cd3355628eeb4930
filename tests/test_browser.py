"""A real browser (Debian's Chromium, driven by Playwright) uses the app as a reader does: asks, clicks a citation,
checks the highlighted text is the cited quote, follows a shared link, verifies a pasted quote (whole, nearly, and
cut by an ellipsis), downloads the answer and the reports it cites, uploads reports. Screenshots of the chat, the evidence panel and the quote check go to a
temporary folder, or to ``REPORTRAG_SCREENSHOTS_DIR`` when set: ``make screenshots`` sets docs/ to refresh the
README's pictures (a test run must never change tracked files)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import httpx
import pytest

from tests import fixtures_files as F
from tests.conftest import run_cli, upload_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
QUESTION = "What does Kazakhstan say about shelters for victims of domestic violence?"
# both reports answer it, with different figures: two citations to click, and the difference noted
TWO_REPORTS = "What is the share of women among judges of the Supreme Court?"


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """The folder the screenshots are saved in."""
    chosen = os.environ.get("REPORTRAG_SCREENSHOTS_DIR")
    if not chosen:
        return tmp_path_factory.mktemp("screenshots")
    folder = Path(chosen)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def page(app_server):
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM):
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install -y chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(90_000)
        yield page
        browser.close()


def test_ask_click_a_citation_and_see_its_quote_highlighted(page, app_server, screenshots, tmp_path):
    expected = httpx.post(f"{app_server}/api/ask", json={"question": TWO_REPORTS}, timeout=120).json()
    assert len(expected["citations"]) >= 2
    page.goto(app_server)
    page.fill("#rr-question textarea", TWO_REPORTS)
    page.keyboard.press("Enter")
    page.wait_for_selector("#rr-chat a.rr-cite")
    links = page.locator("#rr-chat a.rr-cite")
    assert links.count() == len(expected["citations"])
    page.wait_for_selector("#rr-evidence mark")
    assert page.inner_text("#rr-evidence mark") == expected["citations"][0]["quote"]
    page.screenshot(path=str(screenshots / "screenshot-chat.png"))

    last = expected["citations"][-1]
    links.nth(len(expected["citations"]) - 1).click()
    page.wait_for_function("q => document.querySelector('#rr-evidence mark')?.textContent === q", arg=last["quote"])
    assert page.url.rstrip("/") == app_server  # the click showed the evidence in place, it did not navigate
    assert last["section_path"][-1] in page.inner_text("#rr-evidence .rr-crumb")
    page.locator("#rr-evidence").screenshot(path=str(screenshots / "screenshot-evidence.png"))

    share = page.get_attribute("#rr-evidence a.rr-share", "href")
    assert share.endswith(f"?cite={last['anchor']}")
    with page.expect_download() as download:
        page.click("text=Download Markdown")
    saved = tmp_path / "answer.md"
    download.value.save_as(saved)
    markdown = saved.read_text(encoding="utf-8")
    assert last["quote"] in markdown and f"[^{last['n']}]:" in markdown and last["anchor"] in markdown

    page.goto(share)  # the shared link opens the same passage
    page.wait_for_selector("#rr-evidence mark")
    assert page.inner_text("#rr-evidence mark") == last["quote"]


def test_verify_tab_finds_a_pasted_quote_and_a_near_miss(page, app_server, screenshots):
    quote = httpx.post(f"{app_server}/api/ask", json={"question": "What is the maximum prison term for torture?"},
                       timeout=120).json()["citations"][0]["quote"]
    page.goto(app_server)
    page.get_by_role("tab", name="Verify a quote").click()
    page.fill("#rr-quote textarea", f"  “{quote}”  ")
    page.click("#rr-verify-button")
    page.wait_for_selector("#rr-verdict .rr-ok")
    assert "Found verbatim" in page.inner_text("#rr-verdict")
    assert page.inner_text("#rr-verdict mark") == quote
    page.screenshot(path=str(screenshots / "screenshot-verify.png"))

    page.fill("#rr-quote textarea", quote.replace("years", "yaers"))
    page.click("#rr-verify-button")
    page.wait_for_function("() => document.querySelector('#rr-verdict .rr-diff') !== null")
    assert page.inner_text("#rr-verdict .rr-diff-ops del") == "yaers."
    assert page.inner_text("#rr-verdict .rr-diff-ops ins") == "years."



def test_an_answer_s_printed_citation_pasted_back_opens_its_paragraph(page, app_server):
    """The print form every answer gives ("Annual Review 2022, sec. VII.A, p. 19, para. 127 (counted)") was "no
    section" when looked up."""
    citation = httpx.post(f"{app_server}/api/ask", json={"question": "What is the maximum prison term for torture?"},
                          timeout=120).json()["citations"][0]
    page.goto(app_server)
    page.get_by_role("tab", name="Verify a quote").click()
    page.fill("#rr-ident textarea", citation["print_label"])
    page.get_by_role("button", name="Look up").click()
    page.wait_for_selector("#rr-found .rr-evidence")
    assert citation["print_label"] in page.inner_text("#rr-found strong")
    assert citation["quote"] in page.inner_text("#rr-found mark")  # the paragraph, the quote inside it

def test_a_sentence_typed_in_the_citation_box_is_found_as_a_quote(page, app_server):
    page.goto(app_server)
    page.get_by_role("tab", name="Verify a quote").click()
    page.fill("#rr-ident textarea", "46 crisis centres providing special social services")
    page.get_by_role("button", name="Look up").click()
    page.wait_for_selector("#rr-found .rr-verify")
    assert page.get_attribute("#rr-found .rr-verify", "data-verdict") == "verbatim"
    assert "read as a quote" in page.inner_text("#rr-found")
    assert "46 crisis centres providing special social services" in page.inner_text("#rr-found mark")


def _three_plain_sentences(searcher) -> tuple[str, str, str]:
    """Three consecutive sentences of one CEDAW paragraph, without ellipses or quotation marks of their own."""
    document = searcher.documents["cedaw"]
    for passage in (p for p in searcher.passages if p.doc_id == "cedaw" and not p.duplicate_of):
        for spans in zip(passage.sentences, passage.sentences[1:], passage.sentences[2:]):
            texts = tuple(document.text[s.start : s.end] for s in spans)
            in_one_paragraph = any(p.start <= spans[0].start and spans[2].end <= p.end for p in document.paragraphs)
            plain = all(60 < len(t) < 300 and not any(m in t for m in ("...", "…", "[", '"', "“", "”")) for t in texts)
            if in_one_paragraph and plain:
                return texts
    pytest.fail("no CEDAW paragraph has three plain sentences")


def test_verify_tab_shows_an_elided_quote_verbatim_in_parts(page, app_server, searcher):
    first, _, last = _three_plain_sentences(searcher)
    quote = f"{first} […] {last}"
    expected = httpx.get(f"{app_server}/api/cite", params={"quote": quote}, timeout=120).json()
    assert expected["verdict"] == "verbatim in parts" and expected["exact"]
    assert [p["text"] for p in expected["parts"]] == [first, last]
    page.goto(app_server)
    page.get_by_role("tab", name="Verify a quote").click()
    page.fill("#rr-quote textarea", quote)
    page.click("#rr-verify-button")
    page.wait_for_selector('#rr-verdict [data-verdict="verbatim in parts"]')
    verdict = page.locator("#rr-verdict .rr-verdict-line")
    assert verdict.count() == 1 and "Found verbatim in parts" in verdict.inner_text()
    assert page.locator("#rr-verdict .rr-bad").count() == 0  # no contradicting red line
    assert page.locator("#rr-verdict mark").all_inner_texts() == [first, last]  # each part highlighted, alone
    parts = page.locator("#rr-verdict .rr-parts li").all_inner_texts()
    assert [f"characters {p['start']}–{p['end']}" in row for p, row in zip(expected["parts"], parts)] == [True, True]


def test_hostile_question_is_shown_as_text(page, app_server):
    page.goto(app_server)
    page.fill("#rr-question textarea", '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> torture')
    page.keyboard.press("Enter")
    page.wait_for_selector("#rr-chat .rr-answer")
    assert page.evaluate("window.pwned") is None
    assert "<img src=x" in page.inner_text("#rr-chat")


def test_browse_reads_a_section_with_its_paragraph_numbers(page, app_server):
    page.goto(app_server)
    page.get_by_role("tab", name="Browse").click()
    page.wait_for_selector("#rr-reading .rr-pn")
    assert page.inner_text("#rr-reading .rr-pn").startswith("¶")


def test_co_tracker_tab_lists_26a_and_opens_its_paragraphs_and_status_in_the_evidence_panel(page, app_server):
    tracked = {t["reference"]: t for t in httpx.get(f"{app_server}/api/co", timeout=60).json()}
    page.goto(app_server)
    page.get_by_role("tab", name="CO tracker").click()
    row = page.locator('#rr-co tr[data-reference="26(a)"]')
    row.wait_for()
    assert "¶165–167" in row.inner_text() and "no status stated" in row.inner_text()
    first = tracked["26(a)"]["responses"][0]
    row.locator("a.rr-co-link").first.click()  # ¶165: its passage opens in the evidence panel
    page.wait_for_selector("#rr-evidence mark")
    assert page.url.endswith(f"?cite={first['passage_id']}")
    assert "¶165" in page.inner_text("#rr-evidence")

    status = tracked["44(a)"]["status"][0]
    page.get_by_role("tab", name="CO tracker").click()
    page.locator('#rr-co tr[data-reference="44(a)"] .rr-co-status a.rr-co-link').click()
    page.wait_for_function("q => document.querySelector('#rr-evidence mark')?.textContent === q", arg=status["quote"])
    assert "partially fulfilled" in page.inner_text("#rr-evidence mark")


DISABLED = "e => (e.tagName === 'BUTTON' ? e : e.querySelector('button')).disabled"
# where the last answer's top stands in the chat's scrolled box: 0 is its top edge
ANSWER_TOP = """() => {
  const all = document.querySelectorAll('#rr-chat .rr-answer'), last = all[all.length - 1];
  let box = last.parentElement;
  while (box && !(box.scrollHeight > box.clientHeight && /(auto|scroll)/.test(getComputedStyle(box).overflowY))) {
    box = box.parentElement;
  }
  if (!box) return {top: 0, atEnd: true};  // all of it fits: nothing to scroll
  return {top: last.getBoundingClientRect().top - box.getBoundingClientRect().top,
          atEnd: box.scrollTop + box.clientHeight >= box.scrollHeight - 2};
}"""


def test_a_clearer_app(page, app_server, searcher, tmp_path):
    """Downloads greyed out until there is an answer; the header names the reports; an answer shows from its top;
    a filtered answer says so and clears its filters in one click; the conversation downloads whole; one font."""
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(app_server)
    page.wait_for_selector("#rr-download-md")
    for ident in ("md", "docx", "csl", "bib", "conversation-md", "conversation-docx"):
        assert page.locator(f"#rr-download-{ident}").evaluate(DISABLED), ident
    header = page.inner_text("#rr-header")
    for document in searcher.documents.values():
        assert document.info.title in header and document.info.date in header

    page.get_by_text("Filters", exact=True).click()
    page.get_by_label("Section or article").fill("Article 11")
    page.fill("#rr-question textarea", "employment of women")
    page.keyboard.press("Enter")
    page.wait_for_selector("#rr-chat .rr-scope a.rr-clear-filters")
    assert "Searched only:" in page.inner_text("#rr-chat .rr-scope")
    assert not page.locator("#rr-download-md").evaluate(DISABLED)
    assert not page.locator("#rr-download-conversation-docx").evaluate(DISABLED)
    page.click("#rr-chat .rr-scope a.rr-clear-filters")
    page.wait_for_function("() => document.querySelector('#rr-question') && "
                           "[...document.querySelectorAll('textarea, input')].every(e => e.value !== 'Article 11')")

    page.fill("#rr-question textarea", QUESTION)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#rr-chat .rr-answer').length === 2")
    page.wait_for_timeout(500)
    where = page.evaluate(ANSWER_TOP)  # the new answer's start is in view, at the top unless the chat ends below it
    assert where["top"] >= 0 and (where["top"] <= 40 or where["atEnd"]), where
    assert "Searched only:" not in page.locator("#rr-chat .rr-answer").nth(1).inner_text()  # the filters were cleared
    font = page.locator("#rr-chat .rr-answer").nth(1).evaluate("e => getComputedStyle(e).fontFamily")
    assert font.startswith("system-ui") and "DejaVu Sans" in font

    with page.expect_download() as download:
        page.click("#rr-download-conversation-md")
    saved = tmp_path / "conversation.md"
    download.value.save_as(saved)
    conversation = saved.read_text(encoding="utf-8")
    assert conversation.index("## employment of women") < conversation.index(f"## {QUESTION}")


def test_on_a_narrow_screen_a_citation_click_scrolls_to_the_evidence(page, app_server):
    page.set_viewport_size({"width": 600, "height": 800})
    try:
        page.goto(app_server)
        page.fill("#rr-question textarea", QUESTION)
        page.keyboard.press("Enter")
        page.wait_for_selector("#rr-chat a.rr-cite")
        page.wait_for_selector("#rr-evidence mark")
        page.evaluate("window.scrollTo(0, 0)")
        page.locator("#rr-chat a.rr-cite").last.click()
        page.wait_for_function("() => { const r = document.querySelector('#rr-evidence').getBoundingClientRect();"
                               " return r.top >= -5 && r.top < window.innerHeight / 2; }", timeout=10_000)
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})


def test_the_evidence_panel_cites_in_print_with_technical_details_folded(page, app_server):
    """A citation reads as a reader prints it ("CEDAW/C/KAZ/6, … para. N (counted)"); offsets and the original file
    wait in a closed "Technical details" fold."""
    expected = httpx.post(f"{app_server}/api/ask", json={"question": QUESTION}, timeout=120).json()
    first = expected["citations"][0]
    page.goto(app_server)
    page.fill("#rr-question textarea", QUESTION)
    page.keyboard.press("Enter")
    page.wait_for_selector("#rr-evidence mark")
    panel = page.inner_text("#rr-evidence")
    assert first["print_label"] in panel and "characters" not in page.inner_text("#rr-evidence strong")
    fold = page.locator("#rr-evidence details.rr-tech")
    assert fold.count() >= 1 and fold.first.get_attribute("open") is None  # closed until asked
    fold.first.locator("summary").click()
    assert fold.first.get_attribute("open") is not None and first["anchor"] in fold.first.inner_text()


def _download(page, selector: str, path: Path) -> str:
    with page.expect_download() as download:
        page.click(selector)
    download.value.save_as(path)
    return path.read_text(encoding="utf-8")


# BibTeX as the export writes it: entries of "  field = {value}" lines, nothing else
_BIBTEX = re.compile(r"(?:@techreport\{\w+,\n(?:  \w+ = \{.*\},?\n)+\}\n\n?)+")
_BIB_ENTRY = re.compile(r"@techreport\{(\w+),\n((?:  \w+ = \{.*\},?\n)+)\}")


def _bibtex(text: str) -> list[dict[str, str]]:
    """Each entry's fields (with its key as "key"); fails on anything the BibTeX grammar above does not cover."""
    assert _BIBTEX.fullmatch(text), text
    return [{"key": key, **dict(re.findall(r"  (\w+) = \{(.*)\},?\n", body))} for key, body in _BIB_ENTRY.findall(text)]


def test_the_cited_reports_download_as_csl_json_and_bibtex_as_the_cli_exports_them(page, app_server, search_settings,
                                                                                  tmp_path):
    """Greyed out before a question; after one, a reference manager's files: one entry per cited report, its
    symbol, and the paragraphs the answer cites in its note; byte for byte what `reportrag ask --export` writes."""
    expected = httpx.post(f"{app_server}/api/ask", json={"question": QUESTION}, timeout=120).json()
    cited = list(dict.fromkeys(c["doc_id"] for c in expected["citations"]))
    assert "cedaw" in cited
    page.goto(app_server)
    page.wait_for_selector("#rr-download-bib")
    assert page.locator("#rr-download-csl").evaluate(DISABLED) and page.locator("#rr-download-bib").evaluate(DISABLED)
    page.fill("#rr-question textarea", QUESTION)
    page.keyboard.press("Enter")
    page.wait_for_selector("#rr-chat a.rr-cite")
    page.wait_for_function(f"() => !({DISABLED})(document.querySelector('#rr-download-bib'))")

    csl_text = _download(page, "#rr-download-csl", tmp_path / "answer.csl.json")
    bib_text = _download(page, "#rr-download-bib", tmp_path / "answer.bib")
    csl, bib = json.loads(csl_text), _bibtex(bib_text)
    assert [item["id"] for item in csl] == cited and len(bib) == len(cited)
    cedaw = cited.index("cedaw")
    assert csl[cedaw]["number"] == "CEDAW/C/KAZ/6" and csl[cedaw]["type"] == "report"
    assert bib[cedaw]["key"] == "CEDAWCKAZ6" and bib[cedaw]["number"] == "CEDAW/C/KAZ/6"
    for c in expected["citations"]:  # each cited paragraph, in the note of its report's entry
        where = c["print_label"].removeprefix(f"{c['symbol'] or c['doc_title']}, ")
        i = cited.index(c["doc_id"])
        assert f"para. {c['paragraph']}" in where and where in csl[i]["note"] and where in bib[i]["note"], where

    env = {"REPORTRAG_CACHE_DIR": str(search_settings.index.cache_dir)}
    for name, downloaded in (("cli.csl.json", csl_text), ("cli.bib", bib_text)):
        run_cli("ask", QUESTION, "--export", str(tmp_path / name), index_dir=search_settings.index.index_dir, env=env,
                check=True)
        assert (tmp_path / name).read_text(encoding="utf-8") == downloaded


@pytest.fixture(scope="module")
def upload_app(search_settings, searcher, tmp_path_factory) -> str:
    """The app with --allow-uploads over a copy of the session's index."""
    with upload_server(search_settings, tmp_path_factory.mktemp("browser-uploads")) as (url, _):
        yield url


def _upload(page, path: Path) -> str:
    """Upload a file in the "Add a report" tab; the app's answer."""
    clear = page.locator("#rr-upload button[aria-label=Clear]")
    if clear.count():  # the last file, still in the box
        clear.click()
    page.locator("#rr-upload input[type=file]").set_input_files(str(path))
    page.wait_for_selector("#rr-upload td.filename")
    before = page.inner_text("#rr-added")
    page.get_by_role("button", name="Add to the index").click()
    page.wait_for_function("b => { const e = document.querySelector('#rr-added .rr-upload-result');"
                           " return e && e.innerText !== b; }", arg=before)
    return page.inner_text("#rr-added").strip()


def test_uploads_answer_in_the_apps_words_and_the_tracker_follows_without_a_reload(page, upload_app, tmp_path):
    """A bad file, then the Committee's concluding observations, then the same again: each answer one line naming
    the file and what to do in the app (no command to type); the CO tracker then shows the Committee's words
    beside the report's responses, in the same page."""
    page.goto(upload_app)
    page.evaluate("window.reportragSamePage = true")  # gone if the page reloads
    page.get_by_role("tab", name="CO tracker").click()
    row = page.locator('#rr-co tr[data-reference="26(a)"]')
    row.wait_for()
    assert "The Committee" not in page.inner_text("#rr-co thead")

    page.get_by_role("tab", name="Add a report").click()
    bad = _upload(page, F.write_bytes(tmp_path / "junk report.pdf", b"%PDF-1.7 not really"))
    assert bad == "junk report.pdf: the PDF is damaged or truncated; download or export it again and upload the new copy"
    assert page.locator("#rr-added .rr-bad").count() == 1
    co = F.write_text(tmp_path / "CEDAW CO5.md", F.CO_TEXT)
    added = _upload(page, co)
    assert added.startswith("Added CEDAW CO5.md as “") and "ask about it in the Ask tab" in added
    again = _upload(page, co)
    assert again.startswith("CEDAW CO5.md is already here, unchanged") and "nothing to upload" in again
    for said in (bad, added, again):
        assert "\n" not in said and not re.search(r"reportrag |run '|REPORTRAG_|\badd (it|the)", said), said

    page.get_by_role("tab", name="CO tracker").click()
    page.wait_for_function("() => document.querySelector('#rr-co thead')?.innerText.includes('The Committee')")
    assert "Amend the Criminal Code to criminalize domestic violence" in row.inner_text()
    assert "¶165–167" in row.inner_text()  # the report's response, beside the Committee's words
    assert page.evaluate("window.reportragSamePage") is True


FOLLOWED = "What is the share of women among judges of the Supreme Court?"


def test_the_chat_reads_a_follow_up_with_the_question_before_it(page, app_server):
    page.goto(app_server)
    page.fill("#rr-question textarea", FOLLOWED)
    page.keyboard.press("Enter")
    page.wait_for_selector("#rr-chat a.rr-cite")
    first = page.locator("#rr-chat a.rr-cite").count()
    page.fill("#rr-question textarea", "And the CEDAW report?")
    page.keyboard.press("Enter")
    page.wait_for_function("n => document.querySelectorAll('#rr-chat a.rr-cite').length > n", arg=first)
    page.wait_for_function("() => document.querySelector('#rr-chat').innerText.includes('Read with the question')")
    chat = page.inner_text("#rr-chat")
    assert f"Read with the question before it, as: “{FOLLOWED} (CEDAW 6th periodic report)”" in chat
