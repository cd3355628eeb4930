"""The reportrag web app and HTTP API in one process, started by ``python app.py [--port N] [--host H]``.

Binds 127.0.0.1 unless told otherwise; the port comes from ``--port``, else ``GRADIO_SERVER_PORT``, else 7860.
The Gradio app (chat, evidence panel, quote check, browsing, export) is mounted at ``/`` beside the JSON API at
``/api/…`` (``reportrag/skins/api.py``); both call the same ``Service``. Report text is always escaped before it is shown.
"""

from __future__ import annotations

import time

_STARTED = time.perf_counter()  # start-up is reported from here: the heavy imports below count

import argparse
import hashlib
import html
import os
import re
import shutil
import sys
from pathlib import Path

from reportrag.core.settings import Settings

# Gradio reads these when it is imported: its temporary files stay inside the data folder, and it phones no one.
_SETTINGS = Settings.from_env()
os.environ.setdefault("GRADIO_TEMP_DIR", str(_SETTINGS.work_dir / "tmp"))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from reportrag.answers import export  # noqa: E402
from reportrag.answers.citations import Located, QuoteMatch, Reference, snippet  # noqa: E402
from reportrag.core.errors import ReportragError  # noqa: E402
from reportrag.core.records import Answer, Document  # noqa: E402
from reportrag.ingest.loaders import SUPPORTED  # noqa: E402
from reportrag.retrieval.search import MAX_QUERY_CHARS, Filters  # noqa: E402
from reportrag.service import Service  # noqa: E402

EXAMPLES = [
    "What does Kazakhstan say about shelters for victims of domestic violence?",
    "What was the maternal mortality rate in 2020?",
    "What is the maximum prison term for torture?",
    "Which party had the most gender-balanced group of deputies after the 2023 elections?",
    "What legislative change responds to paragraph 26 (a) of the concluding observations on domestic violence?",
]
ALL_REPORTS = "all reports"

CSS = """
.rr-answer blockquote { margin: 0 0 .6em 0; padding-left: .8em; border-left: 3px solid #8aa; }
.rr-answer .rr-report { font-weight: 600; margin: .8em 0 .3em 0; }
.rr-answer .rr-sources { font-size: .85em; color: #555; }
.rr-answer .rr-unverified { color: #a40; font-style: italic; }
a.rr-cite { font-weight: 600; text-decoration: none; cursor: pointer; }
.rr-evidence p { white-space: pre-wrap; margin: .4em 0; }
.rr-evidence .rr-quoted { background: #fafaf0; }
.rr-evidence mark { background: #ffe066; color: #000; padding: 0 1px; }
.rr-evidence .rr-crumb { font-size: .85em; color: #555; }
.rr-evidence .rr-pn, .rr-read .rr-pn { font-weight: 600; color: #456; margin-right: .4em; }
.rr-ok { color: #161; font-weight: 600; } .rr-bad { color: #a10; font-weight: 600; }
.rr-diff del { background: #fdd; } .rr-diff ins { background: #dfd; text-decoration: none; }
.rr-read p { white-space: pre-wrap; } .rr-read .rr-fn { font-size: .85em; color: #444; }
"""

# A click on a citation number in the chat picks that citation in the list beside it, which shows the evidence
# in place; the link itself stays a shareable "?cite=<anchor>" for a new tab, or for a copy of the link.
HEAD = """
<script>
window.reportragCiteClicks = true;
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a.rr-cite");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  const ident = new URL(link.href, location.href).searchParams.get("cite");
  for (const input of document.querySelectorAll("#rr-citations input[type=radio]")) {
    if (input.value === ident) {
      event.preventDefault(); event.stopPropagation();
      input.click();
      return;
    }
  }
}, true);
</script>
"""


def esc(text: str) -> str:
    """Report text, questions and errors are shown as text: never as markup."""
    return html.escape(str(text), quote=True)


# ---------------------------------------------------------------- rendering (pure functions: data in, HTML out)


def answer_html(answer: Answer) -> str:
    if not answer.answered:
        rows = "".join(
            f'<li><a class="rr-cite" href="?cite={esc(h.passage.passage_id)}">[{i}]</a> '
            f"<em>{esc(h.label)}</em>: "
            f"{esc(snippet(h.passage.text, 240))}</li>"
            for i, h in enumerate(answer.closest[:5], 1)
        )
        return (f'<div class="rr-answer rr-abstained"><p><strong>Not in the reports.</strong> {esc(answer.reason)}</p>'
                f"<p>The closest passages:</p><ol>{rows}</ol></div>")
    by_n = {c.n: c for c in answer.citations}
    several = len({c.place.doc_id for c in answer.citations}) > 1
    parts, current = ['<div class="rr-answer">'], None
    for s in answer.statements:
        if several and s.doc_id != current:
            current = s.doc_id
            title = next(c.place.doc_title for c in answer.citations if c.place.doc_id == s.doc_id)
            parts.append(f'<p class="rr-report">{esc(title)}</p>')
        marks = " ".join(
            f'<a class="rr-cite" href="?cite={esc(by_n[n].anchor)}" title="{esc(by_n[n].place.label)}">[{n}]</a>'
            for n in s.citations if n in by_n
        )
        flag = "" if s.verified else f' <span class="rr-unverified">(unverified: {esc(s.note or "not in the cited passage")})</span>'
        parts.append(f"<blockquote>“{esc(s.text)}” {marks}{flag}</blockquote>")
    for note in answer.differences:
        parts.append(f"<p><em>{esc(note)}</em></p>")
    sources = "".join(
        f"<li>[{c.n}] {esc(c.place.label)} — {'verified ✓' if c.verified else 'NOT verified'}</li>" for c in answer.citations
    )
    parts.append(f'<ol class="rr-sources" style="list-style:none;padding-left:0">{sources}</ol></div>')
    return "".join(parts)


def citation_choices(answer: Answer) -> list[tuple[str, str]]:
    """(label, id to look up): the citations, or the closest passages when the answer abstains."""
    if answer.answered:
        return [(f"[{c.n}] {c.place.label}", c.anchor) for c in answer.citations]
    return [(f"[{i}] {h.label}", h.passage.passage_id)
            for i, h in enumerate(answer.closest[:5], 1)]


def located_html(loc: Located, share_url: str = "") -> str:
    """A cited text in its report: breadcrumb, the paragraphs around it, the cited part highlighted."""
    check = ('<span class="rr-ok">verified: the text stands verbatim at these offsets</span>' if loc.verified
             else '<span class="rr-bad">NOT verified: the report text differs</span>')
    rows = []
    for c in loc.context:
        if c.quoted:
            a, b = max(loc.place.start, c.start) - c.start, min(loc.place.end, c.end) - c.start
            body = f"{esc(c.text[:a])}<mark>{esc(c.text[a:b])}</mark>{esc(c.text[b:])}"
            rows.append(f'<p class="rr-quoted"><span class="rr-pn">¶{c.number}</span>{body}</p>')
        else:
            rows.append(f'<p><span class="rr-pn">¶{c.number}</span>{esc(snippet(c.text, 600))}</p>')
    note = f"<p><em>{esc(loc.note)}</em></p>" if loc.note else ""
    also = (f"<p class='rr-crumb'>Also at: {esc('; '.join(p.label for p in loc.also_at))}</p>" if loc.also_at else "")
    s = loc.source
    line = f", line {s.line}" if s.line else ""
    share = (f'<p class="rr-crumb">Link to this place: <a class="rr-share" href="{esc(share_url)}">{esc(share_url)}</a></p>'
             if share_url else "")
    return (f'<div class="rr-evidence" data-start="{loc.place.start}" data-end="{loc.place.end}">'
            f'<p class="rr-crumb">{esc(" › ".join(loc.breadcrumb))}</p>'
            f"<p><strong>{esc(loc.place.label)}</strong> · {check}</p>{note}{''.join(rows)}{also}"
            f'<p class="rr-crumb">Anchor <code>{esc(loc.anchor)}</code> · characters {loc.place.start}–{loc.place.end}'
            f" · original file {esc(s.file)}{line}</p>{share}</div>")


def quote_html(match: QuoteMatch) -> str:
    if not match.found:
        closest = "".join(f"<li>{c.similarity:.0f}/100 — <em>{esc(c.place.label)}</em>: {esc(snippet(c.text, 240))}</li>"
                          for c in match.closest)
        return (f'<div class="rr-verify"><p class="rr-bad">Not found in the reports.</p><p>{esc(match.note)} '
                f"(best {match.similarity:.0f}/100).</p><p>Closest texts:</p><ol>{closest}</ol></div>")
    if match.exact:
        head = f'<p class="rr-ok">Found verbatim in {len(match.places)} place{"s" if len(match.places) != 1 else ""}.</p>'
    else:
        diff = "".join(esc(d.quote) + " " if d.op == "equal" else
                       (f"<del>{esc(d.quote)}</del> " if d.quote else "") + (f"<ins>{esc(d.report)}</ins> " if d.report else "")
                       for d in match.diff)
        head = (f'<p class="rr-bad">Not verbatim: the closest text is {match.similarity:.0f}/100 similar.</p>'
                f'<p class="rr-diff">What differs (<del>your quote</del> <ins>the report</ins>): '
                f'<span class="rr-diff-ops">{diff}</span></p>')
    return f'<div class="rr-verify">{head}{"".join(located_html(p) for p in match.places)}</div>'


def reference_html(ref: Reference) -> str:
    rows = "".join(f"<li><code>{esc(p.passage_id)}</code> {esc(p.section_label)}, ¶{p.paragraph}: "
                   f"{esc(snippet(p.text, 200))}</li>" for p in ref.passages[:20])
    return (f'<div class="rr-verify"><p><strong>{esc(ref.doc_title)} {esc(ref.label)}</strong> {esc(ref.title)}</p>'
            f"<p>{len(ref.paragraphs)} paragraphs, {len(ref.passages)} passages</p><ul>{rows}</ul></div>")


def section_html(document: Document, index: int) -> str:
    """One section of a report with its ¶ numbers and its footnotes."""
    section = document.sections[index]
    end = section.end
    for s in document.sections[index + 1:]:  # its subsections are read with it
        if s.level <= section.level:
            break
        end = max(end, s.end)
    rows = [f'<div class="rr-read"><p class="rr-crumb">{esc(" › ".join((document.info.short_title, *section.path)))}</p>',
            f"<h3>{esc(section.title)}</h3>"]
    rows += [f'<p><span class="rr-pn">¶{p.number}</span>{esc(p.text)}</p>'
             for p in document.paragraphs if section.start <= p.start < end]
    notes = [f'<p class="rr-fn">[{esc(f.label)}] {esc(f.text)}</p>' for f in document.footnotes if section.start <= f.offset < end]
    if notes:
        rows += ["<hr><p><strong>Footnotes</strong></p>", *notes]
    return "".join(rows) + "</div>"


def _error_html(e: Exception) -> str:
    return f'<p class="rr-bad">{esc(e)}</p>'


def safe_upload_name(name: str) -> str:
    """A file name for an uploaded report that cannot leave the uploads folder: the last path part only (either
    slash), letters, digits, '-', '_' and one extension; never empty, never hidden."""
    base = re.split(r"[\\/]", str(name))[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = ext, ""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-_")[:80] or "report"
    ext = re.sub(r"[^a-z0-9]", "", ext.lower())[:8]
    return f"{stem}.{ext}" if ext else stem


# ---------------------------------------------------------------- the app


def _report_choices(service: Service) -> list:
    return [ALL_REPORTS, *((d["title"], d["doc_id"]) for d in service.documents())]


def _only_report(choice: str | None) -> str | None:
    return None if choice in (None, ALL_REPORTS) else choice


def build_app(service: Service, *, allow_uploads: bool = False) -> gr.Blocks:
    docs = service.documents()
    report_choices = _report_choices(service)
    exports = service.settings.work_dir / "exports"

    def share_url(request: gr.Request | None, ident: str) -> str:
        host = request.headers.get("host", "") if request is not None else ""
        return f"http://{host}/?cite={ident}" if host else f"?cite={ident}"

    def show(ident: str | None, request: gr.Request) -> str:
        if not ident:
            return ""
        try:
            return located_html(service.cite(ident=ident), share_url(request, ident))
        except ReportragError as e:
            return _error_html(e)

    def filters(doc: str, section: str) -> Filters:
        return Filters(doc=_only_report(doc), section=(section or "").strip() or None)

    def write_exports(answer: Answer) -> tuple[str, str]:
        exports.mkdir(parents=True, exist_ok=True)
        # the file name comes from the question's hash, never from user text: nothing can escape the folder
        stem = "answer-" + hashlib.sha1(answer.question.encode("utf-8")).hexdigest()[:12]
        return str(export.export(answer, exports / f"{stem}.md")), str(export.export(answer, exports / f"{stem}.docx"))

    def respond(question: str, history: list, doc: str, section: str, request: gr.Request):
        question = (question or "").strip()
        if not question:
            yield history, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), ""
            return
        history = [*history, {"role": "user", "content": esc(question)},
                   {"role": "assistant", "content": "<em>Searching the reports…</em>"}]
        yield history, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), ""
        answer, streamed = None, ""
        try:
            for item in service.stream(question, filters=filters(doc, section)):
                if isinstance(item, Answer):
                    answer = item
                else:  # a chat model's words as they come; checked and cited once complete
                    streamed += item
                    history[-1] = {"role": "assistant", "content": f"<p>{esc(streamed)}</p>"}
                    yield history, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), ""
        except ReportragError as e:
            history[-1] = {"role": "assistant", "content": _error_html(e)}
            yield history, gr.update(choices=[], value=None), "", None, None, "", ""
            return
        history[-1] = {"role": "assistant", "content": answer_html(answer)}
        choices = citation_choices(answer)
        first = choices[0][1] if choices else None
        md, docx = write_exports(answer)
        yield (history, gr.update(choices=choices, value=first), show(first, request), md, docx,
               export.to_markdown(answer), "")

    def verify(quote: str, doc: str):
        if not (quote or "").strip():
            return _error_html("Paste a quote to check.")
        try:
            result = service.cite(quote=quote, doc=_only_report(doc))
        except ReportragError as e:
            return _error_html(e)
        return quote_html(result)

    def look_up(ident: str, request: gr.Request):
        if not (ident or "").strip():
            return _error_html("Type a citation: an anchor, a passage id, or a reference such as “CEDAW Article 11”.")
        try:
            result = service.cite(ident=ident.strip())
        except ReportragError as e:
            return _error_html(e)
        if isinstance(result, Located):
            return located_html(result, share_url(request, result.anchor))
        return reference_html(result)

    def toc(doc_id: str):
        document = service.document(doc_id)
        labels = [(("\u2003" * (s.level - 1)) + (f"{s.label} — {snippet(s.title, 80)}" if s.label != s.title else snippet(s.title, 80)), i)
                  for i, s in enumerate(document.sections)]
        return gr.update(choices=labels, value=0 if labels else None)

    def read(doc_id: str, index: int | None) -> str:
        document = service.document(doc_id)
        if index is None or not document.sections:
            return ""
        return section_html(document, int(index))

    def add_report(file_path: str | None):
        if not file_path:
            return _error_html("Choose a report file first."), gr.skip(), gr.skip(), gr.skip()
        uploads = service.settings.work_dir / "uploads"
        uploads.mkdir(parents=True, exist_ok=True)
        # Gradio keeps the browser's file name; it is reduced to a plain name inside the uploads folder
        target = uploads / safe_upload_name(Path(file_path).name)
        shutil.copyfile(file_path, target)
        result = service.add_reports([target])
        lines = [f'<p class="rr-ok">Added: {esc(d)}</p>' for d in result.added]
        lines += [f"<p>Unchanged: {esc(d)}</p>" for d in result.unchanged]
        lines += [f'<p class="rr-bad">{esc(line)}</p>' for line in result.failed]
        choices = _report_choices(service)
        return ("".join(lines), gr.update(choices=choices), gr.update(choices=choices),
                gr.update(choices=[c for c in choices if c != ALL_REPORTS]))

    def on_load(request: gr.Request):
        ident = request.query_params.get("cite") if request is not None else None
        if not ident:
            return gr.skip(), gr.skip()
        return show(ident, request), gr.Tabs(selected="ask")

    with gr.Blocks(title="reportrag") as app:
        gr.Markdown("## reportrag — ask the reports; every sentence of an answer is a verbatim, cited quote")
        with gr.Tabs() as tabs:
            with gr.Tab("Ask", id="ask"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chat = gr.Chatbot(label="Answers", height=520, elem_id="rr-chat", latex_delimiters=[],
                                          feedback_options=None, sanitize_html=True, buttons=[],  # copy: the Markdown box below
                                          placeholder="Ask about the reports. Every answer quotes them verbatim.")
                        question = gr.Textbox(label="Question", placeholder="e.g. " + EXAMPLES[0], max_length=MAX_QUERY_CHARS,
                                              elem_id="rr-question", submit_btn="Ask")
                        gr.Examples(EXAMPLES, inputs=question, label="Examples")
                        with gr.Accordion("Filters", open=False):
                            with gr.Row():
                                doc_filter = gr.Dropdown(report_choices, value=ALL_REPORTS, label="Report")
                                section_filter = gr.Textbox(label="Section or article", placeholder="Article 11, VII.C …")
                        with gr.Row():
                            md_file = gr.DownloadButton("Download Markdown", size="sm")
                            docx_file = gr.DownloadButton("Download DOCX", size="sm")
                        with gr.Accordion("Copy as Markdown (citations as footnotes)", open=False):
                            markdown = gr.Code(language="markdown", label="Answer as Markdown", interactive=False)
                    with gr.Column(scale=2):
                        cites = gr.Radio([], label="Citations: pick one to see it in its report", elem_id="rr-citations")
                        evidence = gr.HTML(elem_id="rr-evidence")
            with gr.Tab("Verify a quote", id="verify"):
                quote = gr.Textbox(label="Quote", lines=4, placeholder="Paste a sentence someone attributes to the reports",
                                   max_length=20_000, elem_id="rr-quote")
                with gr.Row():
                    quote_doc = gr.Dropdown(report_choices, value=ALL_REPORTS, label="Report")
                    check = gr.Button("Verify", variant="primary", elem_id="rr-verify-button")
                verdict = gr.HTML(elem_id="rr-verdict")
                gr.Markdown("Or look up a citation: an anchor, a passage id, or a reference such as "
                            "“CEDAW Article 11, paragraph 1 (d)”, “concluding observations 36 (e)”, “review VII.C”.")
                with gr.Row():
                    ident = gr.Textbox(label="Citation", scale=4, elem_id="rr-ident")
                    find = gr.Button("Look up", scale=1)
                found = gr.HTML(elem_id="rr-found")
            with gr.Tab("Browse", id="browse"):
                with gr.Row():
                    browse_doc = gr.Dropdown([c for c in report_choices if c != ALL_REPORTS], value=docs[0]["doc_id"] if docs else None,
                                             label="Report", scale=1)
                    browse_section = gr.Dropdown([], label="Section", scale=2)
                reading = gr.HTML(elem_id="rr-reading")
            if allow_uploads:  # off unless the server was started with --allow-uploads
                with gr.Tab("Add a report", id="add"):
                    gr.Markdown(f"Add a report ({', '.join(SUPPORTED)}; at most {service.settings.max_file_bytes // 2**20} MiB). "
                                "It is split into citable passages and searchable at once.")
                    upload = gr.File(label="Report file", file_types=list(SUPPORTED), type="filepath", elem_id="rr-upload")
                    add = gr.Button("Add to the index", variant="primary")
                    added = gr.HTML(elem_id="rr-added")

        outputs = [chat, cites, evidence, md_file, docx_file, markdown, question]
        question.submit(respond, [question, chat, doc_filter, section_filter], outputs, api_name="ask_stream")
        cites.change(show, cites, evidence, api_name=False)
        check.click(verify, [quote, quote_doc], verdict, api_name="verify")
        quote.submit(verify, [quote, quote_doc], verdict, api_name=False)
        find.click(look_up, ident, found, api_name="lookup")
        ident.submit(look_up, ident, found, api_name=False)
        browse_doc.change(toc, browse_doc, browse_section, api_name=False)
        browse_section.change(read, [browse_doc, browse_section], reading, api_name=False)
        app.load(toc, browse_doc, browse_section, api_name=False)
        app.load(on_load, None, [evidence, tabs], api_name=False)
        if allow_uploads:
            add.click(add_report, upload, [added, doc_filter, quote_doc, browse_doc], api_name="add_report")

        # for gradio_client and other programs: the answer as the CLI's JSON
        def ask_json(question: str, doc: str = ALL_REPORTS, section: str = "") -> dict:
            try:
                return service.ask(question, filters=filters(doc, section)).to_json()
            except ReportragError as e:
                raise gr.Error(str(e)) from None

        gr.api(ask_json, api_name="ask")
    return app


def create_server(service: Service, *, allow_uploads: bool = False):
    """The FastAPI app: the JSON API at /api, the Gradio app at /."""
    from reportrag.skins.api import create_api

    exports = service.settings.work_dir / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    return gr.mount_gradio_app(create_api(service), build_app(service, allow_uploads=allow_uploads), path="/",
                               css=CSS, head=HEAD, allowed_paths=[str(exports)], show_error=True, footer_links=["api"],
                               max_file_size=service.settings.max_file_bytes if allow_uploads else 1)


def main(argv: list[str] | None = None, *, started: float | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the reportrag web app and HTTP API.")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="interface to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    parser.add_argument("--allow-uploads", action="store_true", default=os.environ.get("REPORTRAG_ALLOW_UPLOADS") == "1",
                        help="let users add reports from the browser (off by default; or REPORTRAG_ALLOW_UPLOADS=1)")
    args = parser.parse_args(argv)
    import uvicorn

    try:
        service = Service(_SETTINGS)
        service.warm_up()  # the first question must not pay for anything left to load
    except ReportragError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    server = create_server(service, allow_uploads=args.allow_uploads)
    config = uvicorn.Config(server, host=args.host, port=args.port, log_level="warning")
    web = uvicorn.Server(config)
    print(f"reportrag: ready in {time.perf_counter() - (started or _STARTED):.1f}s; open http://{args.host}:{args.port}", flush=True)
    web.run()
    return 0

