"""An answer as a reader takes it away: Markdown or DOCX, every quote with its citation and anchor intact."""

from __future__ import annotations

from pathlib import Path

from reportrag.core.errors import ReportragError
from reportrag.core.files import write_atomic
from reportrag.core.records import Answer

FORMATS = (".md", ".docx")


def to_markdown(answer: Answer) -> str:
    lines = [f"# {answer.question}", ""]
    if not answer.answered:
        lines += [f"_{answer.reason}_", "", "Closest passages:", ""]
        for h in answer.closest[:5]:
            lines.append(f"- {h.label}: “{h.passage.text}”")
        return "\n".join(lines) + "\n"
    current = None
    for s in answer.statements:
        if s.doc_id != current and len({c.place.doc_id for c in answer.citations}) > 1:
            title = next(c.place.doc_title for c in answer.citations if c.place.doc_id == s.doc_id)
            lines += ["", f"**{title}**", ""]
            current = s.doc_id
        marks = "".join(f"[^{n}]" for n in s.citations)  # Markdown footnotes: they survive pasting into most editors
        flag = "" if s.verified else f" _(unverified: {s.note or 'not found in the cited passage'})_"
        lines.append(f"> “{s.text}”{marks}{flag}")
        lines.append("")
    for note in answer.differences:
        lines += [f"_{note}_", ""]
    for c in answer.citations:
        check = "verified" if c.verified else "NOT verified"
        also = "".join(f"; also at {other.label}" for other in c.also_at)
        lines.append(f"[^{c.n}]: {c.place.label}, characters {c.place.start}–{c.place.end}{also} ({check}; anchor `{c.anchor}`)")
    lines += ["", f"_Answer method: {answer.method}. Quotes are verbatim from the reports' canonical text._"]
    return "\n".join(lines) + "\n"


def to_docx(answer: Answer, path: Path) -> None:
    from docx import Document

    doc = Document()
    doc.add_heading(answer.question, level=1)
    if not answer.answered:
        doc.add_paragraph(answer.reason).runs[0].italic = True
        doc.add_paragraph("Closest passages:")
        for h in answer.closest[:5]:
            doc.add_paragraph(f"{h.label}: “{h.passage.text}”", style="List Bullet")
    else:
        for s in answer.statements:
            para = doc.add_paragraph(style="Quote")
            para.add_run(f"“{s.text}” ")
            para.add_run("".join(f"[{n}]" for n in s.citations)).bold = True
            if not s.verified:
                para.add_run(f" (unverified: {s.note or 'not found in the cited passage'})").italic = True
        for note in answer.differences:
            doc.add_paragraph(note).runs[0].italic = True
        doc.add_heading("Sources", level=2)
        for c in answer.citations:
            check = "verified" if c.verified else "NOT verified"
            doc.add_paragraph(f"[{c.n}] {c.place.label}, characters {c.place.start}–{c.place.end} ({check}; anchor {c.anchor})")
    tmp = path.with_name(f".{path.name}.tmp")
    doc.save(str(tmp))
    tmp.replace(path)


def export(answer: Answer, path: Path) -> Path:
    """Write ``answer`` to ``path`` (.md or .docx), atomically."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ReportragError(f"{path}: can only export {' or '.join(FORMATS)}; pick one of those extensions")
    if not path.parent.is_dir():
        raise ReportragError(f"{path.parent}: no such folder; create it or export elsewhere")
    if path.suffix.lower() == ".md":
        write_atomic(path, to_markdown(answer))
    else:
        to_docx(answer, path)
    return path
