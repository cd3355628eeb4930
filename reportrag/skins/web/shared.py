"""What the tabs share: the report choices of their dropdowns, the search filters, and a citation shown in its
report with a link to that place."""

from __future__ import annotations

import gradio as gr

from reportrag.answers.citations import Located, QuoteMatch, Reference
from reportrag.core.errors import ReportragError
from reportrag.retrieval.search import Filters
from reportrag.service import Service
from reportrag.skins.web.html import error_html, located_html, quote_html, reference_html, reports_header_html

ALL_REPORTS = "all reports"


def report_choices(service: Service) -> list:
    """The report dropdowns' choices: "all reports", then (title, doc id) for each report in the index."""
    return [ALL_REPORTS, *((d["title"], d["doc_id"]) for d in service.documents())]


def report_lists(service: Service) -> tuple:
    """The reports as the page lists them, read again: the ask and verify filters' choices, the browse choice's,
    the header (after an upload, and at each page load: another process may have changed the index)."""
    choices = report_choices(service)
    return (gr.update(choices=choices), gr.update(choices=choices), gr.update(choices=single_reports(choices)),
            reports_header_html(service.documents()))


def single_reports(choices: list) -> list:
    """The choices without "all reports", for a dropdown that shows one report."""
    return [c for c in choices if c != ALL_REPORTS]


def only_report(choice: str | None) -> str | None:
    return None if choice in (None, ALL_REPORTS) else choice


def search_filters(doc: str, section: str) -> Filters:
    return Filters(doc=only_report(doc), section=(section or "").strip() or None)


def share_url(request: gr.Request | None, ident: str, public_url: str | None = None) -> str:
    """A link to a citation's place: under ``public_url`` when set; else absolute when the request says which
    host the reader used (a proxy's X-Forwarded-Host and -Proto first); else relative."""
    if public_url:
        return f"{public_url.rstrip('/')}/?cite={ident}"
    headers = request.headers if request is not None else {}
    host = _first(headers.get("x-forwarded-host")) or headers.get("host", "")
    scheme = _first(headers.get("x-forwarded-proto")) or "http"
    return f"{scheme}://{host}/?cite={ident}" if host else f"?cite={ident}"


def _first(value: str | None) -> str:
    """A forwarded header's first value (each proxy appends its own)."""
    return (value or "").split(",")[0].strip()


def citation_html(service: Service, ident: str | None, request: gr.Request | None) -> str:
    """A citation (anchor or passage id) in its report, with its link; empty when none is picked."""
    if not ident:
        return ""
    try:
        return lookup_html(service.cite(ident=ident), request, service)
    except ReportragError as e:
        return error_html(e)


def lookup_html(result: Located | QuoteMatch | Reference, request: gr.Request | None, service: Service) -> str:
    """What a typed citation resolves to: a place (with its link), a reference's passages, or, for a sentence
    pasted where a citation goes, where it stands as a quote."""
    if isinstance(result, Located):
        return located_html(result, share_url(request, result.anchor, service.settings.server.public_url))
    if isinstance(result, QuoteMatch):
        return quote_html(result)
    return reference_html(result)
