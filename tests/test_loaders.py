"""Tests for ingest.loaders: real files of every format, and every failure as one of our errors."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from reportrag.ingest.loaders import load

from reportrag.core.errors import EmptyDocument, ReportragError, UnreadableFile, UnsupportedFile
from reportrag.core.records import SourceText
from tests import fixtures_files as F

REPO = Path(__file__).resolve().parents[1]
CEDAW = REPO / "data" / "reports" / "cedaw-sixth-periodic-report.txt"


def raises_one_line(exc_type: type[Exception], path: Path, **kwargs) -> str:
    """Load ``path`` expecting ``exc_type``; check the message names the file on one line."""
    with pytest.raises(exc_type) as info:
        load(path, **kwargs)
    message = str(info.value)
    assert type(info.value) is exc_type
    assert message.startswith(f"{path.name}: "), message
    assert "\n" not in message and "\r" not in message
    return message


def spans(src) -> list[tuple[str, int]]:
    return [(src.text[start:end], level) for start, end, level in src.headings]


# --- plain text ---------------------------------------------------------------------------------


def test_txt_plain(tmp_path):
    path = F.write_text(tmp_path / "r.txt", "Line one\n\n  Line two – ü\n")
    src = load(path)
    assert src == SourceText("Line one\n\n  Line two – ü\n", "txt", str(path), ())


def test_txt_accepts_str_path_and_upper_case_suffix(tmp_path):
    path = F.write_text(tmp_path / "R.TXT", "text")
    assert load(str(path)).text == "text"


def test_txt_crlf_and_cr_become_lf(tmp_path):
    path = F.write_text(tmp_path / "crlf.txt", "a\r\nb\r\n\r\nc\rd\n")
    assert load(path).text == "a\nb\n\nc\nd\n"


def test_txt_bom_is_stripped(tmp_path):
    path = F.write_bytes(tmp_path / "bom.txt", b"\xef\xbb\xbfHello\r\nworld")
    assert load(path).text == "Hello\nworld"


def test_bundled_report_loads_exactly():
    src = load(CEDAW)
    assert src.source_format == "txt"
    assert src.text == CEDAW.read_bytes().decode("utf-8")
    assert load(CEDAW) == src  # deterministic


# --- Markdown -----------------------------------------------------------------------------------


def test_markdown_headings(tmp_path):
    path = F.write_text(tmp_path / "report.md", F.MARKDOWN)
    src = load(path)
    assert src.source_format == "md"
    assert src.text == F.MARKDOWN
    assert spans(src) == F.MARKDOWN_HEADINGS  # not the '# …' line inside the code fence


def test_markdown_long_suffix_and_crlf(tmp_path):
    path = F.write_text(tmp_path / "report.markdown", "Title\r\n=====\r\n\r\n# Next\r\n")
    src = load(path)
    assert src.text == "Title\n=====\n\n# Next\n"
    assert src.headings == ((0, 5, 1), (15, 19, 1))


# --- DOCX ---------------------------------------------------------------------------------------


def test_docx_text_table_and_headings(tmp_path):
    src = load(F.write_docx(tmp_path / "report.docx"))
    assert src.source_format == "docx"
    assert src.text == "\n".join(F.DOCX_LINES)  # table cells in document order
    assert spans(src) == [("Sixth periodic report", 0), ("Article 1. Definition", 1), ("Measures taken", 2)]


def test_docx_merged_cell_once(tmp_path):
    import docx

    doc = docx.Document()
    table = doc.add_table(rows=2, cols=2)
    merged = table.cell(0, 0).merge(table.cell(0, 1))
    merged.text = "Merged"
    table.cell(1, 0).text, table.cell(1, 1).text = "x", "y"
    path = tmp_path / "merged.docx"
    doc.save(str(path))
    assert load(path).text == "Merged\nx\ny"


def test_docx_not_a_zip(tmp_path):
    path = F.write_bytes(tmp_path / "fake.docx", b"This is plain text pretending to be Word.")
    assert "re-save it" in raises_one_line(UnreadableFile, path)


def test_docx_zip_of_junk(tmp_path):
    raises_one_line(UnreadableFile, F.write_junk_zip(tmp_path / "junk.docx"))


def test_docx_without_text(tmp_path):
    import docx

    path = tmp_path / "blank.docx"
    docx.Document().save(str(path))
    raises_one_line(EmptyDocument, path)


# --- PDF ----------------------------------------------------------------------------------------

PAGES = [["Hello PDF (page one)", "Second line"], ["Page two text"]]


def test_pdf_fixture_is_valid_for_pypdf(tmp_path):
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(F.pdf_bytes(PAGES)), strict=True)
    assert [p.extract_text() for p in reader.pages] == ["Hello PDF (page one)\nSecond line", "Page two text"]


def test_pdf_pages_joined_by_a_form_feed_line(tmp_path):
    src = load(F.write_pdf(tmp_path / "report.pdf", PAGES))
    assert src.source_format == "pdf"
    assert src.text == "Hello PDF (page one)\nSecond line\n\f\nPage two text"
    assert src.headings == ()


def test_pdf_encrypted(tmp_path):
    message = raises_one_line(UnreadableFile, F.write_encrypted_pdf(tmp_path / "scan.pdf", PAGES))
    assert "encrypted" in message and "decrypt" in message


def test_pdf_owner_password_only_opens(tmp_path):
    # Encrypted but with an empty open password: every viewer opens it, so do we.
    src = load(F.write_encrypted_pdf(tmp_path / "owner.pdf", PAGES, user_password=""))
    assert src.text == "Hello PDF (page one)\nSecond line\n\f\nPage two text"


def test_pdf_truncated(tmp_path):
    message = raises_one_line(UnreadableFile, F.write_truncated_pdf(tmp_path / "cut.pdf", PAGES))
    assert "damaged or truncated" in message


def test_pdf_not_a_pdf(tmp_path):
    raises_one_line(UnreadableFile, F.write_text(tmp_path / "renamed.pdf", "just text, not a PDF"))


def test_pdf_without_text_suggests_ocr(tmp_path):
    message = raises_one_line(EmptyDocument, F.write_blank_pdf(tmp_path / "scan.pdf"))
    assert "scanned? run OCR first" in message


# --- HTML ---------------------------------------------------------------------------------------


def test_html_visible_text_blocks_and_headings(tmp_path):
    src = load(F.write_text(tmp_path / "page.html", F.HTML_PAGE))
    assert src.source_format == "html"
    assert src.text == F.HTML_TEXT
    for hidden in (
        "SCRIPT-CONTENT",
        "color: red",
        "Enable JavaScript",
        "TEMPLATE-CONTENT",
        "HIDDEN-CONTENT",
        "comment",
        "Page title",
    ):
        assert hidden not in src.text
    assert spans(src) == [("Annual review", 1), ("Section & more", 2)]


def test_html_pre_keeps_lines_and_htm_suffix(tmp_path):
    path = F.write_text(tmp_path / "page.HTM", "<body><h3>Code</h3><pre>\n  a\n    b\n</pre></body>")
    src = load(path)
    assert src.text == "Code\n\n  a\n    b"
    assert src.headings == ((0, 4, 3),)


def test_html_declared_charset_is_honoured(tmp_path):
    page = '<html><head><meta charset="windows-1252"></head><body><p>Caf\u00e9 \u2013 ok</p></body></html>'
    path = F.write_text(tmp_path / "legacy.html", page, encoding="cp1252")
    assert load(path).text == "Caf\u00e9 \u2013 ok"


def test_html_undeclared_non_utf8_is_refused(tmp_path):
    path = F.write_text(tmp_path / "legacy.html", "<p>Caf\u00e9</p>", encoding="latin-1")
    assert "UTF-8" in raises_one_line(UnreadableFile, path)


def test_html_without_visible_text(tmp_path):
    path = F.write_text(tmp_path / "empty.html", "<html><body><script>x()</script>  </body></html>")
    raises_one_line(EmptyDocument, path)


# --- errors common to all formats ---------------------------------------------------------------


def test_missing_file(tmp_path):
    assert "no such file" in raises_one_line(UnreadableFile, tmp_path / "nowhere.txt")


def test_directory(tmp_path):
    folder = tmp_path / "reports.txt"
    folder.mkdir()
    raises_one_line(UnreadableFile, folder)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read anything")
def test_permission_denied(tmp_path):
    path = F.write_text(tmp_path / "locked.txt", "secret")
    path.chmod(0)
    raises_one_line(UnreadableFile, path)


@pytest.mark.parametrize("name", ["report.rtf", "report.doc", "README"])
def test_unsupported_suffix_lists_supported(tmp_path, name):
    message = raises_one_line(UnsupportedFile, F.write_text(tmp_path / name, "text"))
    for suffix in (".txt", ".md", ".markdown", ".docx", ".pdf", ".html", ".htm"):
        assert suffix in message


def test_over_max_bytes(tmp_path):
    path = F.write_text(tmp_path / "big.txt", "x" * 2000)
    message = raises_one_line(UnreadableFile, path, max_bytes=1000)
    assert "2,000 bytes" in message and "1,000 byte limit" in message
    assert load(path, max_bytes=2000).text == "x" * 2000


@pytest.mark.parametrize("name", ["empty.txt", "empty.md", "empty.docx", "empty.pdf", "empty.html"])
def test_empty_file(tmp_path, name):
    assert "empty" in raises_one_line(EmptyDocument, F.write_bytes(tmp_path / name, b""))


@pytest.mark.parametrize("name", ["blank.txt", "blank.md"])
def test_whitespace_only(tmp_path, name):
    raises_one_line(EmptyDocument, F.write_text(tmp_path / name, " \n\t\r\n "))


@pytest.mark.parametrize("name", ["image.txt", "image.md"])
def test_binary_with_nul_bytes(tmp_path, name):
    path = F.write_bytes(tmp_path / name, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert "binary" in raises_one_line(UnreadableFile, path)


def test_binary_without_nul_bytes(tmp_path):
    data = bytes(b for b in range(1, 256) if b != 0x0A) * 8  # mostly invalid UTF-8 and control bytes
    assert "binary" in raises_one_line(UnreadableFile, F.write_bytes(tmp_path / "blob.txt", data))


def test_control_characters_in_valid_utf8(tmp_path):
    path = F.write_bytes(tmp_path / "ctl.md", b"\x01\x02\x03\x04\x05\x06 ab")
    assert "binary" in raises_one_line(UnreadableFile, path)


def test_utf16_is_refused(tmp_path):
    path = F.write_text(tmp_path / "wide.txt", "\ufeffHello", encoding="utf-16-le")
    assert "UTF-16" in raises_one_line(UnreadableFile, path)


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_non_utf8_names_the_byte_offset(tmp_path, bom):
    path = F.write_bytes(tmp_path / "latin1.txt", bom + "Café au lait".encode("latin-1"))
    message = raises_one_line(UnreadableFile, path)
    assert f"offset {len(bom) + 3}" in message and "re-save it as UTF-8" in message


@pytest.mark.parametrize("suffix", [".txt", ".md", ".docx", ".pdf", ".html"])
def test_random_bytes_never_escape_as_library_errors(tmp_path, suffix):
    data = bytes((i * 7919 + 13) % 256 for i in range(4096))
    with pytest.raises(ReportragError) as info:
        load(F.write_bytes(tmp_path / f"noise{suffix}", data))
    assert "\n" not in str(info.value)


def test_read_error_becomes_unreadable(tmp_path, monkeypatch):
    path = F.write_text(tmp_path / "locked.txt", "secret")

    def deny(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", deny)
    assert "Permission denied" in raises_one_line(UnreadableFile, path)
