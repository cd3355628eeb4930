"""The "Add a report" tab, present only when the server was started with ``--allow-uploads``: an uploaded file is
stored under a plain name inside the uploads folder, ingested, and searchable at once.

Handlers carry no docstrings: Gradio would publish them as the API's endpoint descriptions.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import gradio as gr

from reportrag.core.errors import ReportragError
from reportrag.ingest.loaders import SUPPORTED
from reportrag.service import Service
from reportrag.skins.web.html import error_html, upload_result_html
from reportrag.skins.web.shared import report_lists


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


def build_upload_tab(service: Service, ask_filter: gr.Dropdown, verify_filter: gr.Dropdown,
                     browse_choice: gr.Dropdown, header: gr.HTML):
    """The tab and its button; the other tabs' report dropdowns, and the header, gain each report added. Returns
    the upload's event, for tabs built later to follow it (the CO tracker shows what the new report changes)."""
    with gr.Tab("Add a report", id="add"):
        gr.Markdown(f"Add a report ({', '.join(SUPPORTED)}; at most {service.settings.ingest.max_file_bytes // 2**20} MiB). "
                    "It is split into citable passages and searchable at once.")
        upload = gr.File(label="Report file", file_types=list(SUPPORTED), type="filepath", elem_id="rr-upload")
        add = gr.Button("Add to the index", variant="primary")
        added = gr.HTML(elem_id="rr-added")
    return add.click(_UploadHandlers(service).add_report, upload,
                     [added, ask_filter, verify_filter, browse_choice, header], api_name="add_report")


class _UploadHandlers:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.uploads = service.settings.server.work_dir / "uploads"

    def add_report(self, file_path: str | None):
        if not file_path:
            return error_html("Choose a report file first."), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        self.uploads.mkdir(parents=True, exist_ok=True)
        # Gradio keeps the browser's file name; it is reduced to a plain name inside the uploads folder
        original = re.split(r"[\\/]", Path(file_path).name)[-1]
        target = self.uploads / safe_upload_name(original)
        shutil.copyfile(file_path, target)
        try:
            result = self.service.add_reports([target])
        except ReportragError as e:  # the index could not be rebuilt: the file itself may be fine
            return error_html(e), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        titles = {d["doc_id"]: d["title"] for d in self.service.documents()}
        return upload_result_html(result, original, target.name, titles), *report_lists(self.service)
