"""The app's HTML: pure functions, data in, markup out. Report text, questions and errors always go through
``esc``: they are shown as text, never as markup."""

from __future__ import annotations

import re
from html import escape

from reportrag.answers.citations import ContextParagraph, DiffOp, Located, QuoteMatch, Reference, snippet
from reportrag.answers.citations import VERBATIM as MATCH_VERBATIM, VERBATIM_IN_PARTS
from reportrag.answers.export import NOT_VERBATIM, VERBATIM, VERBATIM_MEANS, relevance_mark, scope_line
from reportrag.core.records import Answer, Document
from reportrag.service.ingesting import IngestResult

CLOSEST_SHOWN = 5  # passages listed when an answer abstains; citation_choices numbers the same ones


def esc(text: str) -> str:
    """Report text, questions and errors are shown as text: never as markup."""
    return escape(str(text), quote=True)


# What a web user can do, in place of the command line the service's messages name (the service speaks to both)
_WEB_WORDING = (
    (re.compile(r"no reports in the index at .*"),
     "No reports are loaded yet: add one in the “Add a report” tab, or ask whoever runs this app to add them."),
    (re.compile(r"; run 'reportrag ingest'.*"),
     ". The index needs rebuilding: ask whoever runs this app to rebuild it."),
    (re.compile(r"; run 'pip install [^']*'"), ": the chat model is not set up on this server"),
    (re.compile(r"; run '[^']*'.*"), ": ask whoever runs this app."),
)


def web_message(text: str) -> str:
    """A message for a web user: what to do in the app, never a command to type."""
    for pattern, wording in _WEB_WORDING:
        text = pattern.sub(wording, text)
    return text


def error_html(e: Exception | str) -> str:
    return f'<p class="rr-bad">{esc(web_message(str(e)))}</p>'


def reports_header_html(documents: list[dict]) -> str:
    """The page's header: the reports loaded, each with its date."""
    names = [esc(d.get("title") or d.get("doc_id", "")) + (f" ({esc(d['date'])})" if d.get("date") else "")
             for d in documents]
    loaded = "; ".join(names) if names else "none yet"
    return f'<p class="rr-loaded" id="rr-loaded"><strong>Reports loaded:</strong> {loaded}</p>'


def answer_html(answer: Answer) -> str:
    """An answer as numbered, cited quotes grouped by report; when it abstains, the closest passages instead."""
    if not answer.answered:
        return _abstained_html(answer)
    by_n = {c.n: c for c in answer.citations}
    several = len({c.place.doc_id for c in answer.citations}) > 1
    parts, current = ['<div class="rr-answer">', _scope_html(answer)], None
    for s in answer.statements:
        if several and s.doc_id != current:
            current = s.doc_id
            title = next(c.place.doc_title for c in answer.citations if c.place.doc_id == s.doc_id)
            parts.append(f'<p class="rr-report">{esc(title)}</p>')
        marks = " ".join(
            f'<a class="rr-cite" href="?cite={esc(by_n[n].anchor)}" title="{esc(by_n[n].place.label)}">[{n}]</a>'
            for n in s.citations if n in by_n
        )
        flag = "" if s.verified else f' <span class="rr-unverified">(unverified: {esc(s.note or "not in the cited passage")})</span>'
        parts.append(f"<blockquote>“{esc(s.text)}” {marks}{flag}</blockquote>")
    for note in (*answer.differences, *answer.notes):
        parts.append(f"<p><em>{esc(note)}</em></p>")
    sources = "".join(f"<li>[{c.n}] {esc(c.place.print_label)} — {verbatim_html(c.verified)}{relevance_html(c)}</li>"
                      for c in answer.citations)
    parts.append(f'<ol class="rr-sources" style="list-style:none;padding-left:0">{sources}</ol></div>')
    return "".join(parts)


def verbatim_html(verified: bool) -> str:
    """The citation check named for what it checks (the quote stands at its offsets), explained on hover."""
    if verified:
        return f'<span class="rr-ok" title="{esc(VERBATIM_MEANS)}">{esc(VERBATIM)}</span>'
    return f'<span class="rr-bad" title="the report text at the cited offsets differs">{esc(NOT_VERBATIM)}</span>'


def relevance_html(citation) -> str:
    """How likely the quote answers the question: a separate mark, so "verbatim" is never read as "relevant"."""
    if not citation.strength:
        return ""
    return (f' · <span class="rr-rel rr-rel-{citation.strength}" title="how likely this quote answers the question '
            f'(a model trained on our question set), not a check of the text">{esc(relevance_mark(citation))}</span>')


def _scope_html(answer: Answer) -> str:
    """The filters this answer was searched with, and one click to clear them (the page script resets them)."""
    if not answer.scope:
        return ""
    return (f'<p class="rr-scope"><em>{esc(scope_line(answer))}.</em>'
            '<a class="rr-clear-filters" href="#clear-filters">Clear filters</a></p>')


def _abstained_html(answer: Answer) -> str:
    rows = "".join(
        f'<li><a class="rr-cite" href="?cite={esc(h.passage.passage_id)}">[{i}]</a> '
        f"<em>{esc(h.label)}</em>: "
        f"{esc(snippet(h.passage.text, 240))}</li>"
        for i, h in enumerate(answer.closest[:CLOSEST_SHOWN], 1)
    )
    closest = f"<p>The closest passages:</p><ol>{rows}</ol>" if rows else ""
    return (f'<div class="rr-answer rr-abstained">{_scope_html(answer)}'
            f"<p><strong>{esc(_abstention_heading(answer))}</strong> {esc(answer.reason)}</p>{closest}</div>")


def _abstention_heading(answer: Answer) -> str:
    """Honest about why: another language, a filtered part of the reports, or the reports themselves."""
    if answer.language:
        return "Please ask in English."
    return "Not in the part of the reports searched." if answer.scope else "Not in the reports."


def citation_choices(answer: Answer) -> list[tuple[str, str]]:
    """(label, id to look up): the citations, or the closest passages when the answer abstains, numbered as
    ``answer_html`` numbers them."""
    if answer.answered:
        return [(f"[{c.n}] {c.place.print_label}", c.anchor) for c in answer.citations]
    return [(f"[{i}] {h.label}", h.passage.passage_id)
            for i, h in enumerate(answer.closest[:CLOSEST_SHOWN], 1)]


def located_html(loc: Located, share_url: str = "", marks: list[tuple[int, int]] | None = None,
                 check: bool = True) -> str:
    """A cited text in its report: breadcrumb, the paragraphs around it, the cited part highlighted (or each span
    of ``marks``). ``check``: say whether the text stands verbatim (a quote's verdict says it once, above)."""
    marks = marks or [(loc.place.start, loc.place.end)]
    verbatim = (f'<span class="rr-ok" title="{esc(VERBATIM_MEANS)}">{esc(VERBATIM)}: the text stands verbatim at these '
                'offsets</span>' if loc.verified else f'<span class="rr-bad">{esc(NOT_VERBATIM)}: the report text differs</span>')
    check_html = f" · {verbatim}" if check else ""
    rows = []
    for c in loc.context:
        if c.quoted:
            rows.append(f'<p class="rr-quoted"><span class="rr-pn">¶{c.number}</span>{_marked_html(c, marks)}</p>')
        else:
            rows.append(f'<p><span class="rr-pn">¶{c.number}</span>{esc(snippet(c.text, 600))}</p>')
    note = f"<p><em>{esc(loc.note)}</em></p>" if loc.note else ""
    also = f"<p class='rr-crumb'>Also at: {esc(loc.also_at_line(lambda p: p.print_label))}</p>" if loc.also_at else ""
    s = loc.source
    line = f", line {s.line}" if s.line else ""
    share = (f'<p class="rr-crumb">Link to this place: <a class="rr-share" href="{esc(share_url)}">{esc(share_url)}</a></p>'
             if share_url else "")
    return (f'<div class="rr-evidence" data-start="{loc.place.start}" data-end="{loc.place.end}">'
            f'<p class="rr-crumb">{esc(" › ".join(loc.breadcrumb))}</p>'
            f"<p><strong>{esc(loc.place.print_label)}</strong>{check_html}</p>{note}{''.join(rows)}{also}"
            f'<details class="rr-tech"><summary>Technical details</summary><p class="rr-crumb">{esc(loc.place.label)}'
            f' · anchor <code>{esc(loc.anchor)}</code> · characters {loc.place.start}–{loc.place.end}'
            f" · original file {esc(s.file)}{line}</p></details>{share}</div>")


def _marked_html(c: ContextParagraph, marks: list[tuple[int, int]]) -> str:
    """A paragraph's text with the part of each span of ``marks`` that falls in it in ``<mark>``."""
    out, at = [], 0
    for start, end in sorted(marks):
        a, b = max(start, c.start, c.start + at) - c.start, min(end, c.end) - c.start
        if a >= b:  # not in this paragraph
            continue
        out.append(f"{esc(c.text[at:a])}<mark>{esc(c.text[a:b])}</mark>")
        at = b
    return "".join(out) + esc(c.text[at:])


def quote_html(match: QuoteMatch) -> str:
    """Where a pasted quote stands, with one verdict (``data-verdict``, said once, above the places): verbatim,
    verbatim in parts (each part highlighted), close (with what differs), or not found (with the closest texts)."""
    verdict = esc(match.verdict)
    if not match.found:
        closest = "".join(f"<li>{c.similarity:.0f}/100 — <em>{esc(c.place.label)}</em>: {esc(snippet(c.text, 240))}</li>"
                          for c in match.closest)
        return (f'<div class="rr-verify" data-verdict="{verdict}"><p class="rr-bad rr-verdict-line">Not found in the '
                f"reports.</p><p>{esc(match.note)} (best {match.similarity:.0f}/100).</p><p>Closest texts:</p>"
                f"<ol>{closest}</ol></div>")
    where = f'in {len(match.places)} place{"s" if len(match.places) != 1 else ""}'
    if match.verdict == MATCH_VERBATIM:
        head = f'<p class="rr-ok rr-verdict-line">Found verbatim {where}.</p>'
    elif match.verdict == VERBATIM_IN_PARTS:
        head = (f'<p class="rr-ok rr-verdict-line">Found verbatim in parts: each of its {len(match.parts)} parts '
                f"stands word for word, in order, {where}.</p>")
    else:
        head = (f'<p class="rr-bad rr-verdict-line">Not verbatim: the closest text is {_similarity(match.similarity)}'
                f'/100 similar.</p><p class="rr-diff">What differs (<del>your quote</del> <ins>the report</ins>): '
                f'<span class="rr-diff-ops">{"".join(_diff_op_html(d) for d in match.diff)}</span></p>')
    note = f"<p><em>{esc(match.note)}</em></p>" if match.note else ""
    places = "".join(located_html(p, marks=match.marks(p), check=False) for p in match.places)
    return f'<div class="rr-verify" data-verdict="{verdict}">{head}{note}{_parts_html(match)}{places}</div>'


def _similarity(score: float) -> str:
    """A whole number, except near 100, where rounding would say "100/100" of a text that is not verbatim."""
    return f"{score:.1f}" if score >= 99.5 else f"{score:.0f}"


def _diff_op_html(d: DiffOp) -> str:
    if d.op == "equal":
        return esc(d.quote) + " "
    if d.op == "elided":
        left_out = f"your ellipsis leaves out: {snippet(d.report, 300)}" if d.report else "your ellipsis"
        return f'<span class="rr-elided" title="{esc(left_out)}">[…]</span> '
    return (f"<del>{esc(d.quote)}</del> " if d.quote else "") + (f"<ins>{esc(d.report)}</ins> " if d.report else "")


def _parts_html(match: QuoteMatch) -> str:
    """Each part of a quote cut by ellipses, at its exact place."""
    rows = "".join(
        f"<li>“{esc(snippet(p.text, 240))}” — <em>{esc(p.place.label)}</em>, "
        f"characters {p.place.start}–{p.place.end}"
        + ("" if p.verbatim else f" (the closest text, {_similarity(p.similarity)}/100 similar)") + "</li>"
        for p in match.parts)
    return f'<ol class="rr-parts">{rows}</ol>' if rows else ""


def reference_html(ref: Reference) -> str:
    """A reference such as "CEDAW Article 11": its paragraphs and passages."""
    rows = "".join(f"<li><code>{esc(p.passage_id)}</code> {esc(p.section_label)}, ¶{p.paragraph}: "
                   f"{esc(snippet(p.text, 200))}</li>" for p in ref.passages[:20])
    return (f'<div class="rr-verify"><p><strong>{esc(ref.doc_title)} {esc(ref.label)}</strong> {esc(ref.title)}</p>'
            f"<p>{len(ref.paragraphs)} paragraphs, {len(ref.passages)} passages</p><ul>{rows}</ul></div>")


def section_html(document: Document, index: int) -> str:
    """One section of a report with its ¶ numbers and its footnotes."""
    section = document.sections[index]
    end = section.end
    for s in document.sections[index + 1:]:  # its subsections are read with it
        if s.level <= section.level:
            break
        end = max(end, s.end)
    rows = [f'<div class="rr-read"><p class="rr-crumb">{esc(" › ".join((document.info.short_title, *section.path)))}</p>',
            f"<h3>{esc(section.title)}</h3>"]
    rows += [f'<p><span class="rr-pn">¶{p.number}</span>{esc(p.text)}</p>'
             for p in document.paragraphs if section.start <= p.start < end]
    notes = [f'<p class="rr-fn">[{esc(f.label)}] {esc(f.text)}</p>' for f in document.footnotes if section.start <= f.offset < end]
    if notes:
        rows += ["<hr><p><strong>Footnotes</strong></p>", *notes]
    return "".join(rows) + "</div>"


# An upload's failure says what to do as the CLI says it ("… and add it again"); in the app a report is uploaded,
# and a server setting is the business of whoever runs it.
_UPLOAD_WORDING = (
    (re.compile(r"raise the limit \(REPORTRAG_\w+\)"), "ask whoever runs this app to raise the limit"),
    (re.compile(r"check its permissions"), "ask whoever runs this app to check the uploads folder"),
    (re.compile(r"\badd\b"), "upload"),
)


def upload_result_html(result: IngestResult, file_name: str, stored_name: str, titles: dict[str, str]) -> str:
    """One line on an uploaded file, naming it as the reader's computer does (``file_name``): added, with where to
    ask about it; already there; or what is wrong and what to do, in the app's terms. The ingest messages name the
    plain name it was stored under (``stored_name``)."""
    name = esc(file_name)
    if result.added:
        title = esc(titles.get(result.added[0], result.added[0]))
        return (f'<p class="rr-ok rr-upload-result">Added {name} as “{title}”: ask about it in the Ask tab (pick it '
                "under Filters → Report to search it alone).</p>")
    if result.unchanged:
        title = esc(titles.get(result.unchanged[0], result.unchanged[0]))
        return (f'<p class="rr-upload-result">{name} is already here, unchanged, as “{title}”: nothing to upload; '
                "ask about it in the Ask tab.</p>")
    line = " ".join(result.failed) or f"{stored_name}: nothing was added; try the upload again"
    if line.startswith(stored_name + ":"):
        line = file_name + line[len(stored_name):]
    for pattern, wording in _UPLOAD_WORDING:
        line = pattern.sub(wording, line)
    return f'<p class="rr-bad rr-upload-result">{esc(web_message(line))}</p>'
