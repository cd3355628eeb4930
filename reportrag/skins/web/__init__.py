"""The reportrag web app and HTTP API in one process, started by ``python app.py [--port N] [--host H]``.

Binds 127.0.0.1 unless told otherwise; the port comes from ``--port``, else ``GRADIO_SERVER_PORT``, else 7860.
The Gradio app (chat, evidence panel, quote check, browsing, export) is mounted at ``/`` beside the JSON API at
``/api/…`` (``reportrag.skins.api``); both call the same ``Service``. Report text is always escaped before it is
shown.

- ``startup``: the start-up clock and Gradio's environment, set before Gradio is imported (so: first, here)
- ``html``: the pure renderers; ``page``: CSS and ``<head>``; ``shared``: what the tabs share
- ``ask_tab``, ``verify_tab``, ``browse_tab``, ``upload_tab``, ``co_tab``: one builder per tab, its components and events
- ``blocks``: ``build_app``, the tabs together; ``server``: ``create_server`` and ``main``
"""

from reportrag.skins.web import startup  # noqa: F401  (must stay the first import: see its docstring)
from reportrag.skins.web.ask_tab import EXAMPLES
from reportrag.skins.web.blocks import build_app
from reportrag.skins.web.html import (
    answer_html,
    citation_choices,
    esc,
    located_html,
    quote_html,
    reference_html,
    section_html,
)
from reportrag.skins.web.page import CSS, HEAD
from reportrag.skins.web.server import create_server, main
from reportrag.skins.web.shared import ALL_REPORTS
from reportrag.skins.web.upload_tab import safe_upload_name

__all__ = [
    "ALL_REPORTS", "CSS", "EXAMPLES", "HEAD", "answer_html", "build_app", "citation_choices", "create_server", "esc",
    "located_html", "main", "quote_html", "reference_html", "safe_upload_name", "section_html",
]
