"""What the tabs share: the report choices of their dropdowns, the search filters, and a citation shown in its
report with a link to that place."""

from __future__ import annotations

import gradio as gr

from reportrag.core.errors import ReportragError
from reportrag.retrieval.search import Filters
from reportrag.service import Service
from reportrag.skins.web.html import error_html, located_html

ALL_REPORTS = "all reports"


def report_choices(service: Service) -> list:
    """The report dropdowns' choices: "all reports", then (title, doc id) for each report in the index."""
    return [ALL_REPORTS, *((d["title"], d["doc_id"]) for d in service.documents())]


def single_reports(choices: list) -> list:
    """The choices without "all reports", for a dropdown that shows one report."""
    return [c for c in choices if c != ALL_REPORTS]


def only_report(choice: str | None) -> str | None:
    return None if choice in (None, ALL_REPORTS) else choice


def search_filters(doc: str, section: str) -> Filters:
    return Filters(doc=only_report(doc), section=(section or "").strip() or None)


def share_url(request: gr.Request | None, ident: str) -> str:
    """A link to a citation's place; absolute when the request says which host the reader used."""
    host = request.headers.get("host", "") if request is not None else ""
    return f"http://{host}/?cite={ident}" if host else f"?cite={ident}"


def citation_html(service: Service, ident: str | None, request: gr.Request | None) -> str:
    """A citation (anchor or passage id) in its report, with its link; empty when none is picked."""
    if not ident:
        return ""
    try:
        return located_html(service.cite(ident=ident), share_url(request, ident))
    except ReportragError as e:
        return error_html(e)
