"""Citation results as the CLI prints them: a located text marked »…« in its paragraphs, a quote match with its
one verdict and word diff, a reference with its passages."""

from __future__ import annotations

from reportrag.answers.citations.places import ContextParagraph, Located
from reportrag.answers.citations.quote_match import VERBATIM, VERBATIM_IN_PARTS, QuoteMatch
from reportrag.answers.citations.references import Reference

_ELIDED_KEY = ", […] the report's text your ellipsis leaves out"


def format_text(result: Located | QuoteMatch | Reference) -> str:
    if isinstance(result, Located):
        return _format_located(result)
    if isinstance(result, QuoteMatch):
        return _format_quote(result)
    return _format_reference(result)


def _format_located(r: Located, marks: list[tuple[int, int]] | None = None, check: bool = True) -> str:
    """``marks``: the spans marked »…« (the whole text by default); ``check``: say whether the text stands verbatim
    (a quote match says it once, in its verdict)."""
    marks = marks or [(r.place.start, r.place.end)]
    verbatim = ("verbatim ✓: the text stands verbatim at these offsets" if r.verified
                else "NOT verbatim: the report text differs")
    lines = [f"{r.place.print_label}" + (f"  ({verbatim})" if check else ""), " › ".join(r.breadcrumb),
             f"{r.place.label} · anchor {r.anchor} · passage {r.place.passage_id}"]
    if r.note:
        lines.append(f"note: {r.note}")
    lines.append("")
    for c in r.context:
        if c.quoted:
            text = _marked(c, marks)
        elif c.end <= r.place.start:
            text = c.text if len(c.text) <= 300 else "…" + c.text[-300:]
        else:
            text = c.text if len(c.text) <= 300 else c.text[:300] + "…"
        lines.append(f"¶{c.number}  {text}")
    lines.append("")
    if r.also_at:
        lines.append("also at: " + r.also_at_line(lambda p: p.label, more=" (--json lists them all)"))
    s = r.source
    where = f", line {s.line}" + (f"–{s.end_line}" if s.end_line and s.end_line != s.line else "") if s.line else ""
    lines.append(f"original file: {s.file}{where}" + (f" (characters {s.start}–{s.end})" if s.spans else ""))
    return "\n".join(lines)


def _marked(c: ContextParagraph, marks: list[tuple[int, int]]) -> str:
    """A paragraph's text with each span of ``marks`` that touches it marked »…« (» only where the span starts,
    « only where it ends)."""
    out, at = [], 0
    for start, end in sorted(marks):
        a, b = max(start, c.start, c.start + at) - c.start, min(end, c.end) - c.start
        if a >= b:  # not in this paragraph
            continue
        out += [c.text[at:a], "»" if start >= c.start else "", c.text[a:b], "«" if end <= c.end else ""]
        at = b
    return "".join(out) + c.text[at:]


def _format_quote(m: QuoteMatch) -> str:
    """The verdict, once, on the first line; then each place, the quoted words marked »…«."""
    if not m.found:
        lines = [f"verdict: {m.verdict} — {m.note} (best {m.similarity:.1f}/100); closest:"]
        lines += [f"  {c.similarity:5.1f}  {c.place.label}\n         {snippet(c.text, 200)}" for c in m.closest]
        return "\n".join(lines)
    where = f"in {len(m.places)} place{'s' if len(m.places) != 1 else ''}" + (f" ({m.note})" if m.note else "")
    if m.verdict == VERBATIM:
        head = [f"verdict: {m.verdict} — the quote stands word for word {where}"]
    elif m.verdict == VERBATIM_IN_PARTS:
        head = [f"verdict: {m.verdict} — each of its {len(m.parts)} parts stands word for word, in order, {where}"]
    else:
        head = [f"verdict: {m.verdict} — not word for word; the closest text is {m.similarity:.1f}/100 similar"
                + (f" ({m.note})" if m.note else ""),
                f"differences ([-your quote-]{{+the report+}}{_ELIDED_KEY if m.parts else ''}): {m.diff_text}"]
    head += [f"  part {i}: {p.place.label}, characters {p.place.start}–{p.place.end}"
             + ("" if p.verbatim else f", closest text ({p.similarity:.1f}/100)") + f": {snippet(p.text, 120)}"
             for i, p in enumerate(m.parts, 1)]
    return "\n\n".join(["\n".join(head), *(_format_located(p, m.marks(p), check=False) for p in m.places)])


def _format_reference(r: Reference) -> str:
    if r.kind == "concluding_observations":
        where = r.doc_title or "the reports"
        lines = [f"{where}: passages answering paragraph {r.label} of the concluding observations"]
    else:
        lines = [f"{r.doc_title}, {r.label}: {r.title}", " › ".join((r.doc_title, *r.path))]
    span = r.paragraph_range
    counts = f"¶{span[0]}–¶{span[1]}, " if span else ""
    lines.append(f"{counts}{len(r.paragraphs)} paragraphs, {len(r.passages)} passages"
                 + (f"; subsections: {', '.join(r.subsections)}" if r.subsections else ""))
    lines += [f"  {p.passage_id}  {p.section_label}, ¶{p.paragraph}  {snippet(p.text, 100)}" for p in r.passages]
    return "\n".join(lines)


def snippet(text: str, n: int) -> str:
    """``text`` on one line, cut to ``n`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[:n] + "…"
