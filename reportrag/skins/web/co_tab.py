"""The CO tracker tab: every paragraph of the Committee's concluding observations the reports respond to, the
responding paragraphs (each a ``?cite=`` link that opens it in the evidence panel), the status the report states
(quoted, with its link), and the tracker as CSV and DOCX.

Handlers carry no docstrings: Gradio would publish them as the API's endpoint descriptions.
"""

from __future__ import annotations

import gradio as gr

from reportrag.answers import tracker_export
from reportrag.answers.tracker import TrackedObservation
from reportrag.core.errors import ReportragError
from reportrag.service import Service
from reportrag.skins.web.html import error_html, esc

INTRO = ("Each paragraph of the Committee's concluding observations the reports respond to, with the paragraphs "
         "that respond and the status the report states, quoted verbatim (none is inferred). Click a ¶ or a status "
         "to see it in its report.")


def build_co_tab(app: gr.Blocks, service: Service, *, refresh_after=None) -> None:
    """The tab, filled when the page loads and again after ``refresh_after`` (the upload's event, when uploads are
    on): a report added — the concluding observations themselves, say — changes the tracker without a reload."""
    with gr.Tab("CO tracker", id="co"):
        gr.Markdown(INTRO)
        with gr.Row():
            csv_file = gr.DownloadButton("Download CSV", size="sm")
            docx_file = gr.DownloadButton("Download DOCX", size="sm")
        table = gr.HTML(elem_id="rr-co")
    handlers = _CoHandlers(service)
    app.load(handlers.show, None, [table, csv_file, docx_file], api_name=False)
    if refresh_after is not None:
        refresh_after.then(handlers.show, None, [table, csv_file, docx_file], api_name=False)


def tracker_html(tracked: list[TrackedObservation]) -> str:
    """The tracker as a table: reference, (the Committee's words), the response with its ¶ links, the status."""
    if not tracked:
        return "<p>No passage of the reports responds to a paragraph of the concluding observations.</p>"
    committee = any(t.committee for t in tracked)
    head = "".join(f"<th>{h}</th>" for h in ("Paragraph", *(["The Committee"] if committee else []),
                                              "The report's response", "Status (quoted)"))
    rows = "".join(_row_html(t, committee) for t in tracked)
    return f'<table class="rr-co-table"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _row_html(t: TrackedObservation, committee: bool) -> str:
    links = " ".join(f'<a class="rr-cite rr-co-link" href="?cite={esc(r.passage_id)}" '
                     f'title="{esc(r.section_label)}">¶{r.paragraph}</a>' for r in t.responses if r.passage_id)
    response = (f'<div class="rr-co-place">{esc(t.doc_id)} {esc(t.paragraph_label)} · {esc(", ".join(t.sections))}</div>'
                f'<div class="rr-co-links">{links}</div><div class="rr-co-snippet">{esc(t.responses[0].snippet)}</div>')
    status = "".join(f'<blockquote class="rr-co-status">“{esc(s.quote)}” '
                     f'<a class="rr-cite rr-co-link" href="?cite={esc(s.anchor)}">[¶{s.paragraph}]</a></blockquote>'
                     for s in t.status) or '<span class="rr-co-none">no status stated</span>'
    words = f"<td>{esc(t.committee.text) if t.committee else ''}</td>" if committee else ""
    ref = esc(t.reference)
    return (f'<tr id="rr-co-{ref}" data-reference="{ref}"><td class="rr-co-ref">{ref}</td>{words}'
            f"<td>{response}</td><td>{status}</td></tr>")


class _CoHandlers:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.exports = service.settings.server.work_dir / "exports"

    def show(self):
        try:
            tracked = self.service.co()
        except ReportragError as e:
            return error_html(e), None, None
        self.exports.mkdir(parents=True, exist_ok=True)
        return (tracker_html(tracked), str(tracker_export.export(tracked, self.exports / "co-tracker.csv")),
                str(tracker_export.export(tracked, self.exports / "co-tracker.docx")))
