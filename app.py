"""The reportrag web app (Gradio). ``python app.py [--port N] [--host H]``; binds 127.0.0.1 unless told otherwise.

For now it browses the ingested reports: pick a report and a section, read its paragraphs with their
¶ numbers and footnotes. Search and chat build on this.
"""

from __future__ import annotations

import argparse
import os

import gradio as gr

from reportrag import corpus
from reportrag.settings import Settings


def build_app(settings: Settings) -> gr.Blocks:
    docs = {d["doc_id"]: d for d in corpus.list_documents(settings)}
    loaded = {doc_id: corpus.get_document(settings, doc_id) for doc_id in docs}

    def sections(doc_id: str):
        labels = [f"{s.label} — {s.title[:80]}" if s.label != s.title else s.title for s in loaded[doc_id].sections]
        return gr.update(choices=labels, value=labels[0] if labels else None)

    def read(doc_id: str, choice: str | None) -> str:
        document = loaded[doc_id]
        index = next((i for i, s in enumerate(document.sections) if choice and choice.startswith(s.label)), 0)
        section = document.sections[index]
        lines = [f"### {section.title}", ""]
        for p in document.paragraphs:
            if section.start <= p.start < section.end:
                lines.append(f"**¶ {p.number}** {_escape(p.text)}\n")
        for f in document.footnotes:
            if section.start <= f.offset < section.end:
                lines.append(f"[{f.label}] {_escape(f.text)}\n")
        return "\n".join(lines)

    with gr.Blocks(title="reportrag") as app:
        gr.Markdown("# reportrag\nRead the reports by section. Every paragraph carries its ¶ number for citation.")
        first = next(iter(docs))
        with gr.Row():
            doc = gr.Dropdown(choices=[(d["title"], k) for k, d in docs.items()], value=first, label="Report")
            section = gr.Dropdown(choices=[], label="Section")
        text = gr.Markdown()
        doc.change(sections, doc, section)
        section.change(read, [doc, section], text)
        app.load(sections, doc, section)
    return app


def _escape(text: str) -> str:
    """Report text is shown as text, never as markup or HTML."""
    return gr.utils.escape_html(text) if hasattr(gr.utils, "escape_html") else text.replace("<", "&lt;").replace(">", "&gt;")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the reportrag web app.")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    args = parser.parse_args(argv)
    app = build_app(Settings.from_env())
    print(f"reportrag is running at http://{args.host}:{args.port}", flush=True)
    app.launch(server_name=args.host, server_port=args.port, show_error=False)


if __name__ == "__main__":
    main()
