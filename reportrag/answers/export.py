"""An answer as a reader takes it away: Markdown or DOCX, every quote with its citation and anchor intact."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from reportrag.answers import bibliography

from reportrag.core.errors import ReportragError
from reportrag.core.files import write_atomic
from reportrag.core.records import Answer, ReportInfo

FORMATS = (".md", ".docx", ".json", ".bib")  # .json: CSL-JSON (name it answer.csl.json), .bib: BibTeX
# what a citation's check is called wherever readers see it: it says where the quote stands, not that it is relevant
VERBATIM = "verbatim ✓"
NOT_VERBATIM = "NOT verbatim"
VERBATIM_MEANS = "the text stands verbatim at the cited offsets"


def verbatim_mark(verified: bool) -> str:
    return VERBATIM if verified else NOT_VERBATIM


def relevance_mark(citation) -> str:
    """"relevance: strong (0.82)", shown apart from the verbatim check; "" when the quote is unrated."""
    return f"relevance: {citation.strength} ({citation.relevance:.2f})" if citation.strength else ""


def scope_line(answer: Answer) -> str:
    """"Searched only: CEDAW 6th periodic report, section Article 11"; "" when no filter was set."""
    return f"Searched only: {answer.scope}" if answer.scope else ""


def to_markdown(answer: Answer) -> str:
    lines = [f"# {answer.question}", ""]
    if answer.scope:
        lines += [f"_{scope_line(answer)}._", ""]
    if not answer.answered:
        lines += [f"_{answer.reason}_", ""]
        if answer.closest:
            lines += ["Closest passages:", ""]
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
    for note in (*answer.differences, *answer.notes):
        lines += [f"_{note}_", ""]
    for c in answer.citations:
        also = "".join(f"; also at {other.print_label}" for other in c.also_at)
        lines.append(f"[^{c.n}]: {c.place.print_label}{also} "
                     f"({verbatim_mark(c.verified)}; {relevance_mark(c) + '; ' if c.strength else ''}anchor `{c.anchor}`)")
    lines += ["", f"_Answer method: {answer.method}. Quotes are verbatim from the reports' canonical text; "
                  f"{VERBATIM}: {VERBATIM_MEANS}._"]
    return "\n".join(lines) + "\n"


def conversation_markdown(answers: Sequence[Answer]) -> str:
    """Several answers (a session's conversation) as one Markdown text: each under its question, its footnotes
    numbered apart ([^2.1] is the second answer's first citation) so that they stay distinct in one file."""
    parts = ["# Conversation with the reports", ""]
    for i, answer in enumerate(answers, 1):
        parts.append("#" + to_markdown(answer).replace("[^", f"[^{i}."))  # "# question" becomes "## question"
    return "\n".join(parts)


def conversation_docx(answers: Sequence[Answer], path: Path) -> None:
    """Several answers in one DOCX file, one section per question."""
    from docx import Document

    doc = Document()
    doc.add_heading("Conversation with the reports", level=0)
    for answer in answers:
        _add_answer(doc, answer)
    _save(doc, path)


def to_docx(answer: Answer, path: Path) -> None:
    from docx import Document

    doc = Document()
    _add_answer(doc, answer)
    _save(doc, path)


def _add_answer(doc, answer: Answer) -> None:
    doc.add_heading(answer.question, level=1)
    if answer.scope:
        doc.add_paragraph(scope_line(answer) + ".").runs[0].italic = True
    if not answer.answered:
        doc.add_paragraph(answer.reason).runs[0].italic = True
        if answer.closest:
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
        for note in (*answer.differences, *answer.notes):
            doc.add_paragraph(note).runs[0].italic = True
        doc.add_heading("Sources", level=2)
        for c in answer.citations:
            doc.add_paragraph(f"[{c.n}] {c.place.print_label} "
                              f"({verbatim_mark(c.verified)}; anchor {c.anchor})")
        doc.add_paragraph(f"{VERBATIM}: {VERBATIM_MEANS}.").runs[0].italic = True


def _save(doc, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    doc.save(str(tmp))
    tmp.replace(path)


def export_path(path: Path, formats: Sequence[str], what: str = "an answer") -> Path:
    """``path`` when its extension is one of ``formats`` and its folder exists; else a one-line error saying which."""
    path = Path(path)
    if path.suffix.lower() not in formats:
        raise ReportragError(f"{path}: can only export {what} as {' or '.join(formats)}; pick one of those extensions")
    if not path.parent.is_dir():
        raise ReportragError(f"{path.parent}: no such folder; create it or export elsewhere")
    return path


def export(answer: Answer, path: Path, reports: Mapping[str, ReportInfo] | None = None) -> Path:
    """Write ``answer`` to ``path`` atomically: .md or .docx; .json (CSL-JSON) or .bib (BibTeX): one entry per
    cited report, for a reference manager (``reports``: what the manifest says of each, by report id)."""
    path = export_path(path, FORMATS)
    if path.suffix.lower() in (".json", ".bib"):
        entries, places = bibliography.cited(answer, reports or {}), bibliography.cited_at(answer)
        write_atomic(path, bibliography.to_csl_json(entries, places) if path.suffix.lower() == ".json"
                     else bibliography.to_bibtex(entries, places))
    elif path.suffix.lower() == ".md":
        write_atomic(path, to_markdown(answer))
    else:
        to_docx(answer, path)
    return path


def export_conversation(answers: Sequence[Answer], path: Path) -> Path:
    """Write several answers (a conversation, in order) to ``path`` atomically: .md or .docx."""
    path = export_path(path, (".md", ".docx"), "a conversation")
    if path.suffix.lower() == ".md":
        write_atomic(path, conversation_markdown(answers))
    else:
        conversation_docx(answers, path)
    return path
