"""The Browse tab: a report read section by section, with its ¶ numbers and footnotes."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from reportrag.answers.citations import snippet
from reportrag.core.records import Document
from reportrag.service import Service
from reportrag.skins.web.html import section_html
from reportrag.skins.web.shared import single_reports


@dataclass(frozen=True)
class BrowseTab:
    """What other parts of the app reach into."""

    browse_doc: gr.Dropdown  # its choices change when a report is added


def build_browse_tab(app: gr.Blocks, service: Service, report_choices: list) -> BrowseTab:
    reports = single_reports(report_choices)
    with gr.Tab("Browse", id="browse"):
        with gr.Row():
            browse_doc = gr.Dropdown(reports, value=reports[0][1] if reports else None, label="Report", scale=1)
            browse_section = gr.Dropdown([], label="Section", scale=2)
        reading = gr.HTML(elem_id="rr-reading")

    handlers = _BrowseHandlers(service)
    browse_doc.change(handlers.toc, browse_doc, browse_section, api_name=False)
    browse_section.change(handlers.read, [browse_doc, browse_section], reading, api_name=False)
    app.load(handlers.toc, browse_doc, browse_section, api_name=False)  # the first report's sections, at once
    return BrowseTab(browse_doc=browse_doc)


def section_choices(document: Document) -> list[tuple[str, int]]:
    """The table of contents: (label indented by level, section index)."""
    choices = []
    for i, s in enumerate(document.sections):
        title = snippet(s.title, 80)
        label = f"{s.label} — {title}" if s.label != s.title else title
        choices.append(("\u2003" * (s.level - 1) + label, i))  # an em space per level below the top
    return choices


class _BrowseHandlers:
    def __init__(self, service: Service) -> None:
        self.service = service

    def toc(self, doc_id: str):
        labels = section_choices(self.service.document(doc_id))
        return gr.update(choices=labels, value=0 if labels else None)

    def read(self, doc_id: str, index: int | None) -> str:
        document = self.service.document(doc_id)
        if index is None or not document.sections:
            return ""
        return section_html(document, int(index))
