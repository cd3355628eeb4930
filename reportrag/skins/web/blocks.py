"""The Gradio app: the tabs put together, plus the answer as JSON for ``gradio_client`` and other programs."""

from __future__ import annotations

import gradio as gr

from reportrag.core.errors import ReportragError
from reportrag.service import Service
from reportrag.skins.web.ask_tab import build_ask_tab, open_shared_links
from reportrag.skins.web.browse_tab import build_browse_tab
from reportrag.skins.web.co_tab import build_co_tab
from reportrag.skins.web.html import reports_header_html
from reportrag.skins.web.shared import ALL_REPORTS, report_choices, report_lists, search_filters
from reportrag.skins.web.upload_tab import build_upload_tab
from reportrag.skins.web.verify_tab import build_verify_tab


CONCURRENT_EVENTS = 16


def build_app(service: Service, *, allow_uploads: bool = False) -> gr.Blocks:
    # The order in which the tabs are built and their events wired numbers the components and endpoints that
    # the page and gradio_client see: keep it.
    choices = report_choices(service)
    with gr.Blocks(title="reportrag") as app:
        gr.Markdown("## reportrag — ask the reports; every sentence of an answer is a verbatim, cited quote")
        header = gr.HTML(reports_header_html(service.documents()), elem_id="rr-header")
        with gr.Tabs() as tabs:
            ask = build_ask_tab(service, choices)
            verify = build_verify_tab(service, choices)
            browse = build_browse_tab(app, service, choices)
            open_shared_links(app, service, ask, tabs)
            uploaded = None
            if allow_uploads:  # off unless the server was started with --allow-uploads
                uploaded = build_upload_tab(service, ask.doc_filter, verify.quote_doc, browse.browse_doc, header)
            # last: the components and endpoints built before keep their numbers
            build_co_tab(app, service, refresh_after=uploaded)
        add_ask_json(service)
        # last, so the endpoints above keep their numbers: each page load lists the reports as they are now
        app.load(lambda: report_lists(service), None, [ask.doc_filter, verify.quote_doc, browse.browse_doc, header],
                 api_name=False)
    # Gradio runs one event at a time by default; the service serves many (their embeddings batched)
    app.queue(default_concurrency_limit=CONCURRENT_EVENTS)
    return app


def add_ask_json(service: Service) -> None:
    """The ``/ask`` endpoint: the answer as the CLI's JSON."""

    def ask_json(question: str, doc: str = ALL_REPORTS, section: str = "") -> dict:
        try:
            return service.ask(question, filters=search_filters(doc, section)).to_json()
        except ReportragError as e:
            raise gr.Error(str(e)) from None

    gr.api(ask_json, api_name="ask")
