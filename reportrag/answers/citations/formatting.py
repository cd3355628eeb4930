"""Citation results as the CLI prints them: a located text marked »…« in its paragraphs, a quote match with its
word diff, a reference with its passages."""

from __future__ import annotations

from reportrag.answers.citations.places import Located
from reportrag.answers.citations.quote_match import QuoteMatch
from reportrag.answers.citations.references import Reference


def format_text(result: Located | QuoteMatch | Reference) -> str:
    if isinstance(result, Located):
        return _format_located(result)
    if isinstance(result, QuoteMatch):
        return _format_quote(result)
    return _format_reference(result)


def _format_located(r: Located) -> str:
    check = "verbatim ✓: the text stands verbatim at these offsets" if r.verified else "NOT verbatim: the report text differs"
    lines = [f"{r.place.label}  ({check})",
             " › ".join(r.breadcrumb), f"anchor {r.anchor} · passage {r.place.passage_id}"]
    if r.note:
        lines.append(f"note: {r.note}")
    lines.append("")
    for c in r.context:
        if c.quoted:
            a, b = max(r.place.start, c.start) - c.start, min(r.place.end, c.end) - c.start
            text = (c.text[:a] + ("»" if r.place.start >= c.start else "") + c.text[a:b]
                    + ("«" if r.place.end <= c.end else "") + c.text[b:])
        elif c.end <= r.place.start:
            text = c.text if len(c.text) <= 300 else "…" + c.text[-300:]
        else:
            text = c.text if len(c.text) <= 300 else c.text[:300] + "…"
        lines.append(f"¶{c.number}  {text}")
    lines.append("")
    if r.also_at:
        lines.append("also at: " + "; ".join(p.label for p in r.also_at))
    s = r.source
    where = f", line {s.line}" + (f"–{s.end_line}" if s.end_line and s.end_line != s.line else "") if s.line else ""
    lines.append(f"original file: {s.file}{where}" + (f" (characters {s.start}–{s.end})" if s.spans else ""))
    return "\n".join(lines)


def _format_quote(m: QuoteMatch) -> str:
    if not m.found:
        lines = [f"not found: {m.note} (best {m.similarity:.1f}/100); closest:"]
        lines += [f"  {c.similarity:5.1f}  {c.place.label}\n         {snippet(c.text, 200)}" for c in m.closest]
        return "\n".join(lines)
    if m.exact:
        plural = "s" if len(m.places) != 1 else ""
        head = [f"exact match in {len(m.places)} place{plural}" + (f" ({m.note})" if m.note else "")]
    else:
        head = [f"closest match: similarity {m.similarity:.1f}/100 (not verbatim)",
                f"differences ([-your quote-]{{+the report+}}): {m.diff_text}"]
    return "\n\n".join(["\n".join(head), *(_format_located(p) for p in m.places)])


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
