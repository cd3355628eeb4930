"""Give every paragraph its section path, a stable ¶ number, its footnotes and its concluding-observation refs."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from reportrag.ingest.clean import CleanText
from reportrag.ingest.duplicates import find_duplicates
from reportrag.ingest.headings import ARTICLE_ITEM, Heading

from reportrag.core.records import Footnote, Paragraph, Section

# "paragraph 36 (e) of the Committee's concluding observations", "paragraphs 42 (c), (d) and (e) of the …",
# "paragraph 10 of the Committee’s concluding observations".
_CONCLUDING_OBSERVATIONS = re.compile(
    r"[Pp]aragraphs?\s+(?P<num>\d{1,3})(?P<items>(?:\s*(?:,|and)?\s*\([a-z]\))*)"
    r"\s+of\s+the\s+Committee[’']s\s+concluding\s+observations"
)


@dataclass(frozen=True, slots=True)
class Structure:
    sections: tuple[Section, ...]
    paragraphs: tuple[Paragraph, ...]
    footnotes: tuple[Footnote, ...]


@dataclass
class _Open:
    """A section whose end is not known yet."""

    level: int
    label: str
    title: str
    start: int


def structure(doc_id: str, clean: CleanText) -> Structure:
    """Sections, numbered paragraphs and footnotes of one cleaned report."""
    stack: list[_Open] = []
    sections: list[Section] = []
    paragraphs: list[Paragraph] = []
    refs: list[tuple[str, int, int]] = []  # (label, paragraph number, canonical offset)
    article: str | None = None

    def close(level: int, end: int) -> None:
        while stack and stack[-1].level >= level:
            top = stack.pop()
            path = tuple(s.title for s in stack) + (top.title,)
            sections.append(Section(doc_id, top.label, top.title, path, top.level, top.start, end))

    last_end = 0
    for block in clean.blocks:
        text = clean.text[block.start : block.end]
        if block.kind == "heading":
            heading = block.heading
            close(heading.level, last_end)
            stack.append(_Open(heading.level, _label(heading, stack), text, block.start))
            if heading.kind == "article":
                article = heading.number
            elif heading.level < 2:
                article = None
            last_end = block.end
            continue
        item = ARTICLE_ITEM.match(text)
        if item and item["num"] == article:
            close(3, last_end)
            title = item.group(0)
            stack.append(_Open(3, title, title, block.start))
        number = len(paragraphs) + 1
        paragraphs.append(
            Paragraph(
                doc_id=doc_id,
                number=number,
                start=block.start,
                end=block.end,
                text=text,
                section=tuple(s.title for s in stack),
                section_label=stack[-1].label if stack else "",
                concluding_observations=concluding_observations(text),
                footnotes=tuple(label for label, _ in block.refs),
            )
        )
        refs.extend((label, number, offset) for label, offset in block.refs)
        last_end = block.end
    close(0, last_end)

    duplicates = find_duplicates([p.text for p in paragraphs])
    paragraphs = [replace(p, duplicate_of=duplicates[i] + 1) if i in duplicates else p for i, p in enumerate(paragraphs)]
    paragraphs = [replace(p, addresses=refs) for p, refs in zip(paragraphs, addressed_observations(paragraphs))]
    bodies = {f.label: f for f in clean.footnotes}
    footnotes = tuple(
        Footnote(doc_id, label, bodies[label].text, number, offset, bodies[label].source_start, bodies[label].source_end)
        for label, number, offset in refs
        if label in bodies
    )
    sections.sort(key=lambda s: (s.start, s.level))
    return Structure(tuple(sections), tuple(paragraphs), footnotes)


def _label(heading: Heading, stack: list[_Open]) -> str:
    """A short handle users type: "VII.C", "Part I", "Part I.2", "Article 11"; else the parent's or the title."""
    parent = stack[-1].label if stack else ""
    if heading.kind == "part":
        return f"Part {heading.number}"
    if heading.kind == "roman":
        return heading.number
    if heading.kind == "letter":
        return f"{parent}.{heading.number}" if parent else heading.number
    if heading.kind == "article":
        return f"Article {heading.number}"
    if heading.kind == "numbered":
        return f"{parent}.{heading.number}" if parent else heading.number
    if heading.kind == "minor" and parent:
        return parent
    return heading.title


# "Given the above, the recommendations in paragraphs 40 (a) … are being fulfilled" sums up the paragraphs before it
_CLOSES_BLOCK = re.compile(r"^(?:Thus|Accordingly|In this way|Hence|Given the above|In view of the above)\b")
BLOCK_LIMIT = 6  # paragraphs a "With regard to …" / "Thus, …" reference reaches at most


def addressed_observations(paragraphs: list[Paragraph]) -> list[tuple[str, ...]]:
    """For each paragraph, the concluding observations it responds to.

    The CEDAW report answers the Committee in blocks: "With regard to the recommendation in paragraph 26 (a) …"
    opens one and the paragraphs after it (up to the next reference, within the section) carry the answer;
    "Thus, paragraphs 30 (d) and (e) … are being fulfilled" closes one, summing up the paragraphs before it.
    A reader filtering by "30(d)" wants that whole block, and so does search.
    """
    out = [list(p.concluding_observations) for p in paragraphs]
    for i, p in enumerate(paragraphs):
        if not p.concluding_observations:
            continue
        closes = bool(_CLOSES_BLOCK.match(p.text.lstrip()))
        step = -1 if closes else 1
        j = i + step
        while 0 <= j < len(paragraphs) and abs(j - i) <= BLOCK_LIMIT:
            other = paragraphs[j]
            if other.concluding_observations or other.section[:2] != p.section[:2]:
                break
            out[j].extend(r for r in p.concluding_observations if r not in out[j])
            j += step
    return [tuple(refs) for refs in out]


def concluding_observations(text: str) -> tuple[str, ...]:
    """Concluding-observation paragraphs a paragraph answers: ("36(b)", "36(c)") for "paragraphs 36 (b) and (c)"."""
    found: list[str] = []
    for m in _CONCLUDING_OBSERVATIONS.finditer(text):
        items = re.findall(r"\(([a-z])\)", m["items"])
        refs = [f"{m['num']}({item})" for item in items] or [m["num"]]
        found.extend(r for r in refs if r not in found)
    return tuple(found)
