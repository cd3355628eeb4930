"""Adding reports from the browser: off unless the server is started with --allow-uploads; when on, an uploaded
report is stored under a plain name inside the data folder, ingested, and answerable at once."""

from __future__ import annotations

import os

import httpx
import pytest

from reportrag.skins import web as webapp
from tests.conftest import upload_server

REPORT = """# Water report

## I. The Aral Sea

The Aral Sea restoration fund received 42 million tenge in 2023 for replanting the dried seabed with saxaul.
"""


@pytest.mark.parametrize(("name", "safe"), [
    ("../../evil.md", "evil.md"), ("..\\..\\x.PDF", "x.pdf"), (".hidden", "report.hidden"),
    ("a b (1).docx", "a-b-1.docx"), ("", "report"), ("....", "report"), ("/etc/passwd", "passwd"),
])
def test_upload_names_cannot_leave_the_uploads_folder(name, safe):
    assert webapp.safe_upload_name(name) == safe


def test_uploads_are_off_by_default(app_server):
    from gradio_client import Client

    endpoints = Client(app_server, verbose=False).view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert "/ask" in endpoints and "/add_report" not in endpoints
    response = httpx.post(f"{app_server}/gradio_api/upload", files={"files": ("x.md", b"# hello\n\nsome text\n")})
    assert response.status_code >= 400  # the upload route refuses anything over 1 byte


@pytest.fixture(scope="module")
def uploads(search_settings, searcher, tmp_path_factory):
    """A server with --allow-uploads over a copy of the session's index."""
    with upload_server(search_settings, tmp_path_factory.mktemp("uploads")) as server:
        yield server


def test_an_uploaded_report_is_stored_safely_and_answerable(uploads, tmp_path):
    from gradio_client import Client, handle_file

    url, root = uploads
    local = tmp_path / "..\\..\\Water report.md"  # a backslash path in the name: only its last part may survive
    local.write_text(REPORT, encoding="utf-8")
    client = Client(url, verbose=False)
    message = client.predict(handle_file(str(local)), api_name="/add_report")[0]
    # Gradio drops the backslashes from the name it keeps; the message names the file as it came
    assert "Water report.md as “Water-report”: ask about it in the Ask tab" in message, message
    stored = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file() and "uploads" in p.parts)
    assert [str(p) for p in stored] == [os.path.join("work", "uploads", "Water-report.md")]
    assert not list(root.parent.glob("Water*")) and not list((root / "work").glob("*.md"))

    assert "water-report" in {d["doc_id"] for d in httpx.get(f"{url}/api/docs").json()}
    body = httpx.post(f"{url}/api/ask", json={"question": "How much did the Aral Sea restoration fund receive?"},
                      timeout=120).json()
    assert body["answered"] and body["citations"][0]["doc_id"] == "water-report"
    assert "42 million tenge" in body["citations"][0]["quote"] and body["citations"][0]["verified"]

    again = client.predict(handle_file(str(local)), api_name="/add_report")[0]
    assert "Water report.md is already here, unchanged" in again

    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.7 not really")
    failed = client.predict(handle_file(str(junk)), api_name="/add_report")[0]
    assert "rr-bad" in failed and "junk.pdf" in failed
    assert len(httpx.get(f"{url}/api/docs").json()) == 3  # the bad file cost only itself
