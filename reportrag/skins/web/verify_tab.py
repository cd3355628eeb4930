"""The Verify tab: does a pasted quote stand in the reports, verbatim or nearly? And a citation looked up: an
anchor, a passage id, or a reference such as "CEDAW Article 11".

Handlers carry no docstrings: Gradio would publish them as the API's endpoint descriptions.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from reportrag.core.errors import ReportragError
from reportrag.service import Service
from reportrag.skins.web.html import error_html, quote_html
from reportrag.skins.web.shared import ALL_REPORTS, lookup_html, only_report

MAX_QUOTE_CHARS = 20_000


@dataclass(frozen=True)
class VerifyTab:
    """What other parts of the app reach into."""

    quote_doc: gr.Dropdown  # its choices change when a report is added


def build_verify_tab(service: Service, report_choices: list) -> VerifyTab:
    with gr.Tab("Verify a quote", id="verify"):
        quote = gr.Textbox(label="Quote", lines=4, placeholder="Paste a sentence someone attributes to the reports",
                           max_length=MAX_QUOTE_CHARS, elem_id="rr-quote")
        with gr.Row():
            quote_doc = gr.Dropdown(report_choices, value=ALL_REPORTS, label="Report")
            check = gr.Button("Verify", variant="primary", elem_id="rr-verify-button")
        verdict = gr.HTML(elem_id="rr-verdict")
        gr.Markdown("Or look up a citation: an answer's own (“CEDAW/C/KAZ/6, Part I.1, para. 21 (counted)”, "
                    "“review ¶167”), an anchor, a passage id, or a reference such as “CEDAW Article 11, paragraph 1 "
                    "(d)”, “concluding observations 36 (e)”, “review VII.C”.")
        with gr.Row():
            ident = gr.Textbox(label="Citation", scale=4, elem_id="rr-ident")
            find = gr.Button("Look up", scale=1)
        found = gr.HTML(elem_id="rr-found")

    handlers = _VerifyHandlers(service)
    check.click(handlers.verify, [quote, quote_doc], verdict, api_name="verify")
    quote.submit(handlers.verify, [quote, quote_doc], verdict, api_name=False)
    find.click(handlers.look_up, ident, found, api_name="lookup")
    ident.submit(handlers.look_up, ident, found, api_name=False)
    return VerifyTab(quote_doc=quote_doc)


class _VerifyHandlers:
    def __init__(self, service: Service) -> None:
        self.service = service

    def verify(self, quote: str, doc: str):
        if not (quote or "").strip():
            return error_html("Paste a quote to check.")
        try:
            result = self.service.cite(quote=quote, doc=only_report(doc))
        except ReportragError as e:
            return error_html(e)
        return quote_html(result)

    def look_up(self, ident: str, request: gr.Request):
        if not (ident or "").strip():
            return error_html("Type a citation: an anchor, a passage id, or a reference such as “CEDAW Article 11”.")
        try:
            result = self.service.cite(ident=ident.strip())
        except ReportragError as e:
            return error_html(e)
        return lookup_html(result, request, self.service)
