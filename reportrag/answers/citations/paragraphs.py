"""Paragraph numbers as citations give them back: "CEDAW/C/KAZ/6, Part I.1, para. 21 (counted)" (the print label
an answer gives), "Annual Review 2022, VII.C, ¶167" (its label), "review para. 167", "paras. 21–23" → the
paragraph's text at its exact place.

A report that does not number its own paragraphs (the manifest's ``numbered_paragraphs``) is cited with our count,
marked "(counted)". A "para. 21" without that mark may come from the published document, whose numbering our count
need not equal: the paragraph is shown with a note saying so, never silently as the one cited.
"""

from __future__ import annotations

import re

from reportrag.answers.citations.places import CorpusView, Located, UnknownCitation
from reportrag.core.records import Document, Paragraph

# "¶21", "para. 21", "paras 21-23", "paragraph 21", "paragraphs 21 to 23"; not "paragraph 1 (d)" (an article's)
PARAGRAPH = re.compile(r"(?:¶\s*|\bparas?\.?\s*|\bparagraphs?\s+)(?P<first>\d{1,5})"
                       r"(?:\s*(?:-|–|to|and)\s*(?:¶\s*)?(?P<last>\d{1,5}))?(?!\s*\(\s*[a-z]\s*\))(?![\w.])", re.I)
_ARTICLE_BEFORE = re.compile(r"\barticle\s+\d+\s*,?\s*$", re.I)  # "Article 4, paragraph 1" is a section label
_COUNTED = re.compile(r"\(\s*counted\s*\)", re.I)
_PAGE = re.compile(r"\bpp?\.\s*\d+(?:\s*[-–]\s*\d+)?", re.I)  # the page a print label gives: the ¶ says more
_NOT_SECTION = re.compile(r"\bsec\.|\b(?:the|of|in|report|section)\b|[,;]", re.I)
MAX_RANGE = 50  # paragraphs one citation may span


def paragraph_number(rest: str, is_label) -> re.Match | None:
    """The paragraph number a reference gives, or None: "Article 4, paragraph 1" names a section when one is so
    labelled (``is_label``); "Article 1, para. 65" and "Article 5, ¶180" name a paragraph."""
    for m in PARAGRAPH.finditer(rest):
        article = _ARTICLE_BEFORE.search(rest[: m.start()])
        if m.group().startswith("¶") or not article or not is_label(article.group() + m.group()):
            return m
    return None


def resolve_paragraph(view: CorpusView, query: str, rest: str, doc_ids: list[str], found: re.Match,
                      section_key) -> Located:
    """The paragraph (or range) ``found`` numbers, in the one report ``doc_ids`` leaves (or whose ¶ stands in the
    section the reference names); ``section_key`` compares section labels as typed."""
    first, last = int(found["first"]), int(found["last"] or found["first"])
    if last < first or last - first >= MAX_RANGE:
        raise UnknownCitation(f"cite: {query!r}: paragraphs {first}–{last} is not a range of at most {MAX_RANGE}; "
                              "type e.g. \"review paras. 21–23\"")
    section = _section_part(rest, found)
    holders = {d: ps for d in doc_ids if (ps := _numbered(view.documents[d], first, last))}
    if len(holders) > 1 and section:  # "Part I.1, para. 21": the report whose ¶21 stands in Part I.1
        holders = {d: ps for d, ps in holders.items() if _stands_in(ps[0], section, section_key)} or holders
    if not holders:
        counts = "; ".join(f"{d}: ¶1–{len(view.documents[d].paragraphs)}" for d in doc_ids)
        raise UnknownCitation(f"cite: no ¶{_span_label(first, last)} in {', '.join(doc_ids)} ({counts})")
    if len(holders) > 1:
        where = "; ".join(f"{d} ({ps[0].section_label or 'no section'})" for d, ps in list(holders.items())[:6])
        where += f"; and {len(holders) - 6} more" if len(holders) > 6 else ""
        raise UnknownCitation(f"cite: {query!r} names no report, and ¶{first} stands in several: {where}; name one, "
                              f"e.g. \"{next(iter(holders))} para. {first}\"")
    doc_id, paragraphs = next(iter(holders.items()))
    notes = [f"paragraphs {first}–{last}, cited from the first"] if last > first else []
    named = _known_section(view.documents[doc_id], section, section_key)
    if named is not None and not _stands_in(paragraphs[0], named, section_key):
        notes.append(f"the citation says {named}; ¶{first} stands in {paragraphs[0].section_label or 'no section'}")
    if not view.documents[doc_id].info.numbered_paragraphs and not (_COUNTED.search(query) or "¶" in query):
        notes.append("this report does not number its paragraphs: ¶ is reportrag's count, which a number taken from "
                     "the published document need not equal; paste the quote (--quote) to be sure")
    kind = "paragraph" if first == last else "paragraphs"
    return view.located(doc_id, paragraphs[0].start, paragraphs[-1].end, kind=kind, ident=query, note="; ".join(notes))


def _numbered(document: Document, first: int, last: int) -> list[Paragraph]:
    """Paragraphs ``first``…``last`` of ``document``, all of them, or none. They are numbered 1, 2, … in order, so
    ¶n is looked for at n - 1 first (a lookup over a large corpus reads one paragraph a report, not every one)."""
    found = document.paragraphs[first - 1 : last]
    if [p.number for p in found] == list(range(first, last + 1)):
        return list(found)
    by_number = {p.number: p for p in document.paragraphs}
    wanted = [by_number.get(n) for n in range(first, last + 1)]
    return wanted if all(wanted) else []


def _section_part(rest: str, found: re.Match) -> str:
    """What a reference gives besides the paragraph: a section label ("Part I.1", "VII.C", "Article 5 (a)")."""
    text = rest[: found.start()] + " " + rest[found.end():]
    text = " ".join(_NOT_SECTION.sub(" ", _PAGE.sub(" ", _COUNTED.sub(" ", text))).split())
    return text[1:-1].strip() if text.startswith("(") and text.endswith(")") else text  # "para. 180 (Article 5 (a))"


def _known_section(document: Document, section: str, section_key) -> str | None:
    """The label of the section of ``document`` that ``section`` names ("Part I.1", "sec. VII.C"), or None when it
    names none (a heading's words, or nothing): only a known label can tell a citation's section is wrong."""
    wanted = {section_key(section), section_key(re.sub(r"^part\s*", "", section, flags=re.I))} if section else set()
    return next((s.label for s in document.sections if s.label and section_key(s.label) in wanted), None)


def _stands_in(paragraph: Paragraph, label: str, section_key) -> bool:
    """The paragraph stands in the section labelled ``label`` or in one of its subsections ("VII" holds "VII.C")."""
    wanted, own = section_key(label), section_key(paragraph.section_label)
    return own == wanted or own.startswith((wanted + ".", wanted + "paragraph", wanted + "(")) or (
        section_key(re.sub(r"^part\s*", "", label, flags=re.I)) == own)


def _span_label(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}–{last}"
