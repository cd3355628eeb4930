"""The concluding-observations tracker as a reader takes it away: CSV (one row per reference) or DOCX (a table,
the status quoted with its place), written atomically."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from reportrag.answers.export import export_path
from reportrag.answers.tracker import TrackedObservation, paragraph_label
from reportrag.core.files import write_atomic

CSV_COLUMNS = ("reference", "doc_id", "paragraphs", "sections", "status", "status_quote", "status_offsets",
               "passage_ids", "committee")
FORMATS = (".csv", ".docx")
TITLE = "Concluding observations: the report's responses"
STATUS_NOTE = ("Status: quoted from the report where it states one (its offsets in the report's canonical text); "
               "never inferred. No status: the report states none for that paragraph.")


def csv_rows(tracked: list[TrackedObservation]) -> list[dict[str, str]]:
    """One row per reference; several values in a cell are joined by "; "."""
    return [{"reference": t.reference, "doc_id": t.doc_id, "paragraphs": paragraph_label(t.paragraphs),
             "sections": "; ".join(t.sections), "status": "; ".join(s.phrase for s in t.status),
             "status_quote": " ".join(s.quote for s in t.status),
             "status_offsets": "; ".join(f"¶{s.paragraph} {s.start}–{s.end}" for s in t.status),
             "passage_ids": "; ".join(dict.fromkeys(r.passage_id for r in t.responses)),
             "committee": t.committee.text if t.committee else ""} for t in tracked]


def to_csv(tracked: list[TrackedObservation]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(tracked))
    return out.getvalue()


def to_docx(tracked: list[TrackedObservation], path: Path) -> None:
    from docx import Document

    doc = Document()
    doc.add_heading(TITLE, level=1)
    committee = any(t.committee for t in tracked)
    headers = ["Paragraph", *(["The Committee"] if committee else []), "The report's response", "Status (quoted)"]
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, header in zip(table.rows[0].cells, headers):
        cell.text = header
        cell.paragraphs[0].runs[0].bold = True
    for t in tracked:
        status = "\n".join(f"“{s.quote}” (¶{s.paragraph}, characters {s.start}–{s.end})" for s in t.status)
        response = f"{t.doc_id} {paragraph_label(t.paragraphs)} ({'; '.join(t.sections)}): {t.responses[0].snippet}"
        values = [t.reference, *([t.committee.text if t.committee else ""] if committee else []), response,
                  status or "—"]
        for cell, value in zip(table.add_row().cells, values):
            cell.text = value
    doc.add_paragraph(STATUS_NOTE).runs[0].italic = True
    tmp = path.with_name(f".{path.name}.tmp")
    doc.save(str(tmp))
    tmp.replace(path)


def export(tracked: list[TrackedObservation], path: Path) -> Path:
    """Write the tracker to ``path`` (.csv or .docx), atomically."""
    path = export_path(path, FORMATS, "the tracker")
    if path.suffix.lower() == ".csv":
        write_atomic(path, to_csv(tracked))
    else:
        to_docx(tracked, path)
    return path
