"""Clean a source text into the canonical text that every citation points into.

The rules, in order (deterministic: the same source always gives the same canonical text):

1. Markup is dropped, never rewritten: ``[bookmark: …]``; footnote marks ``[footnoteRef:N]`` (the mark's place
   is kept as a footnote reference); inline footnote bodies ``[N: …]`` (kept as footnote records, not text);
   endnote marks ``^{ix}``, and roman numerals glued after punctuation (``country.xix Work``, ``penalty". xii``);
   roman endnote labels glued to the start of an entry (``ivOfficial website…``); asterisks (emphasis and
   endnote stars); U+FFFD replacement characters.
2. Whitespace other than a single space (tabs, runs of spaces, line breaks inside a paragraph) becomes one space;
   paragraphs are trimmed.
3. Paragraphs are blank-line separated when the source is mostly so (PDF extractions), else one per line.
4. A table of contents (a block of enumerated lines, or the block after a "Contents" heading) and noise
   (a paragraph with no letters) are not part of the canonical text.
5. Broken paragraphs are joined with one space: a paragraph starting in lower case continues the latest
   unfinished paragraph a few blocks back (page and column breaks put sidebar boxes in between); an unfinished
   paragraph also continues with a later capitalised block when the words across the join occur elsewhere in the
   report ("…the Second" + "Optional Protocol…"); short unfinished fragments (a sidebar printed one phrase per
   line) are joined to the fragments that follow them.
6. Paragraphs are separated by a blank line ("\\n\\n") in the canonical text.

Every kept character maps back to its source offset (see ``textmap``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from reportrag.ingest.headings import Heading, HeadingContext, is_open, looks_like_minor_heading, match_heading
from reportrag.ingest.textmap import Segment, TextBuilder

from reportrag.core.records import SourceText

_BOOKMARK = re.compile(r"\[bookmark:[^\]]*\]")
_FOOTNOTE_REF = re.compile(r"\[footnoteRef:(\d+)\]")
_FOOTNOTE_BODY = re.compile(r"\[(\d+):\s(.*?)\]\s*$")
_CARET_MARK = re.compile(r"\s?\^\{[^}]*\}")
_ROMAN_MARK = re.compile(r"(?<=[.,;:!?\"”)])\s?\*{0,2}[ivx]{1,7}\*{0,2}(?=\s|$)")
# Endnote labels opening an entry of a sources list: "ivOfficial website…", "xiii\"Adilet\"…", " xiThe …".
_ROMAN_LABEL = re.compile(r"(?:^|(?<=\s))\^?\{?[ivx]{1,7}\}?\s?(?=[A-Z\"“])")
_DROP_CHARS = re.compile(r"[*\ufffd]+")
_SPLIT_SPACE = re.compile(r"[^\S ]+|  +")  # whitespace that is not one plain space
_ENUMERATED = re.compile(r"^\s*(?:[IVX]+|[A-Z]|\d{1,2})\.\s")
_TOC_LINE_END = re.compile(r"\d+\s*$")

LOOKBACK_BLOCKS = 12  # how far back a lower-case continuation may find its paragraph
FRAGMENT_CHARS = 100  # a sidebar fragment printed one phrase per block is shorter than this
OPEN_PARAGRAPH_CHARS = 100  # an unfinished paragraph at least this long is broken, not a fragment


@dataclass
class Block:
    """A paragraph under construction: kept source runs, each with the separator that precedes it."""

    runs: list[tuple[str, int, int]]
    source: str
    lines: int = 1
    kind: str = "body"  # body | heading | toc | noise
    heading: Heading | None = None
    refs: list[tuple[str, int]] = field(default_factory=list)  # (footnote label, source offset of the mark)

    @property
    def text(self) -> str:
        return "".join(sep + self.source[s:e] for sep, s, e in self.runs)

    def extend(self, other: Block) -> None:
        first_sep, s, e = other.runs[0]
        self.runs.append((" ", s, e))
        self.runs.extend(other.runs[1:])
        self.refs.extend(other.refs)
        self.lines += other.lines


@dataclass(frozen=True, slots=True)
class CleanBlock:
    kind: str  # body | heading
    start: int
    end: int
    heading: Heading | None
    refs: tuple[tuple[str, int], ...]  # (footnote label, canonical offset of the mark)


@dataclass(frozen=True, slots=True)
class RawFootnote:
    label: str
    text: str
    source_start: int
    source_end: int


@dataclass(frozen=True, slots=True)
class CleanText:
    text: str
    segments: list[Segment]
    blocks: list[CleanBlock]
    footnotes: list[RawFootnote]


def clean(source: SourceText) -> CleanText:
    """Canonical text, its blocks and footnotes, and the map back to ``source.text``."""
    raw = source.text
    footnotes: list[RawFootnote] = []
    line_blocks = [_line_block(raw, start, end, footnotes) for start, end in _lines(raw)]
    if source.headings:
        line_blocks = _only_heading_titles(raw, line_blocks, source.headings)
    blocks = _group(line_blocks, blank_line_paragraphs=_blank_line_paragraphs(raw))
    _classify(blocks, source)
    blocks = _join_broken(blocks, raw)
    return _build(raw, blocks, footnotes)


def _lines(raw: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for line in raw.split("\n"):
        spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def _blank_line_paragraphs(raw: str) -> bool:
    """True when most text lines are followed by a blank line (PDF extractions), else one paragraph per line."""
    lines = [line.strip() for line in raw.split("\n")]
    text_lines = [i for i, line in enumerate(lines) if line]
    if not text_lines:
        return False
    followed_by_blank = sum(1 for i in text_lines if i + 1 >= len(lines) or not lines[i + 1])
    return followed_by_blank / len(text_lines) > 0.6


def _line_block(raw: str, start: int, end: int, footnotes: list[RawFootnote]) -> Block | None:
    """One source line with its markup removed, or None when nothing is left."""
    line = raw[start:end]
    removed: list[tuple[int, int]] = []
    refs: list[tuple[str, int]] = []
    if m := _FOOTNOTE_BODY.search(line):
        body_start, body_end = start + m.start(2), start + m.end(2)
        text = re.sub(r"\s+", " ", raw[body_start:body_end]).strip()
        footnotes.append(RawFootnote(m[1], text, body_start, body_end))
        removed.append((m.start(), m.end()))
    for m in _FOOTNOTE_REF.finditer(line):
        refs.append((m[1], start + m.start()))
        removed.append(m.span())
    for pattern in (_BOOKMARK, _CARET_MARK, _ROMAN_MARK, _ROMAN_LABEL, _DROP_CHARS):
        removed.extend(m.span() for m in pattern.finditer(line))
    runs = _kept_runs(line, removed, offset=start)
    if not runs:
        return None
    return Block(runs, raw, refs=refs)


def _only_heading_titles(
    raw: str, line_blocks: list[Block | None], headings: tuple[tuple[int, int, int], ...]
) -> list[Block | None]:
    """Lines holding a heading the loader marked keep only its title: no "#"s, and no setext underline."""
    out: list[Block | None] = []
    starts = {s: e for s, e, _ in headings}
    after_heading = False
    for block in line_blocks:
        if block is None:
            out.append(None)
            after_heading = False
            continue
        first, last = block.runs[0][1], block.runs[-1][2]
        title = next(((s, e) for s, e in starts.items() if first <= s and e <= last), None)
        if title:
            block.runs = [(sep, max(s, title[0]), min(e, title[1])) for sep, s, e in block.runs if s < title[1] and e > title[0]]
            block.runs[0] = ("", *block.runs[0][1:])
            after_heading = True
        elif after_heading and set(raw[first:last]) <= {"=", "-"}:
            block, after_heading = None, False
        else:
            after_heading = False
        out.append(block)
    return out


def _kept_runs(line: str, removed: list[tuple[int, int]], offset: int) -> list[tuple[str, int, int]]:
    """Split what markup leaves of a line into runs joined by "" (adjacent) or " " (whitespace between)."""
    keep = [True] * len(line)
    for s, e in removed:
        keep[s:e] = [False] * (e - s)
    for m in _SPLIT_SPACE.finditer(line):
        keep[m.start() : m.end()] = [False] * (m.end() - m.start())
    runs: list[tuple[str, int, int]] = []
    i, gap_has_space = 0, False
    while i < len(line):
        if not keep[i]:
            gap_has_space |= line[i].isspace()
            i += 1
            continue
        j = i
        while j < len(line) and keep[j]:
            j += 1
        s, e = i, j
        while s < e and line[s] == " ":  # a kept run never starts or ends with its own space
            s, gap_has_space = s + 1, True
        trailing = e
        while e > s and line[e - 1] == " ":
            e -= 1
        if s < e:
            runs.append((" " if runs and gap_has_space else "", offset + s, offset + e))
            gap_has_space = trailing != e
        i = j
    return runs


def _group(line_blocks: list[Block | None], *, blank_line_paragraphs: bool) -> list[Block]:
    if not blank_line_paragraphs:
        return [b for b in line_blocks if b is not None]
    blocks: list[Block] = []
    current: Block | None = None
    for block in line_blocks:
        if block is None:
            current = None
        elif current is None:
            current = block
            blocks.append(current)
        else:
            current.extend(block)
    return blocks


def _classify(blocks: list[Block], source: SourceText) -> None:
    marked = {(s, e): level for s, e, level in source.headings}
    context = HeadingContext()
    after_contents = False
    for i, block in enumerate(blocks):
        text = block.text
        level = _marked_level(block, marked)
        if level is not None:
            block.kind, block.heading = "heading", Heading("markup", "", text, level)
        elif _is_toc(block) or (after_contents and block.lines >= 3):
            block.kind = "toc"
        elif not any(c.isalpha() for c in text):
            block.kind = "noise"
        elif heading := match_heading(text, context):
            if heading.title.lower().rstrip(".:") in ("contents", "table of contents"):
                block.kind, after_contents = "toc", True
                continue
            block.kind, block.heading = "heading", heading
            context.see(heading)
        elif looks_like_minor_heading(text, blocks[i + 1].text if i + 1 < len(blocks) else None):
            block.kind, block.heading = "heading", Heading("minor", "", text, 3)
        after_contents = False


def _marked_level(block: Block, marked: dict[tuple[int, int], int]) -> int | None:
    """Heading level the loader knew from the file's own markup (Markdown, DOCX styles, HTML)."""
    if not marked:
        return None
    span = (block.runs[0][1], block.runs[-1][2])
    for (s, e), level in marked.items():
        if s <= span[0] and span[1] <= e:
            return level
    return None


def _is_toc(block: Block) -> bool:
    lines = [line for line in block.source[block.runs[0][1] : block.runs[-1][2]].split("\n") if line.strip()]
    if len(lines) < 3:
        return False
    entries = sum(1 for line in lines if _ENUMERATED.match(line) or _TOC_LINE_END.search(line))
    return entries / len(lines) >= 0.5


def _join_broken(blocks: list[Block], raw: str) -> list[Block]:
    """Rejoin paragraphs that page/column breaks and sidebar boxes split (rule 5 of the module doc)."""
    kept = [b for b in blocks if b.kind in ("body", "heading")]
    out: list[Block] = []
    joined: set[int] = set()
    for i, block in enumerate(kept):
        if i in joined:
            continue
        if block.kind == "body" and (target := _continued(block, out)) is not None:
            target.extend(block)
            continue
        out.append(block)
        if block.kind != "body":
            continue
        # A sidebar printed one phrase per block: glue the following short fragments on.
        j = i + 1
        while is_open(block.text) and _last_line_len(block) < FRAGMENT_CHARS and j < len(kept):
            nxt = kept[j]
            if nxt.kind != "body" or j in joined or len(nxt.text) >= FRAGMENT_CHARS * 2:
                break
            if not (nxt.text[:1].islower() or len(nxt.text) < FRAGMENT_CHARS or _last_line_len(block) < 40):
                break
            block.extend(nxt)
            joined.add(j)
            j += 1
        # A long unfinished paragraph continues with a later capitalised block whose words fit the join.
        if is_open(block.text) and len(block.text) >= OPEN_PARAGRAPH_CHARS:
            for j in range(i + 1, min(i + 1 + LOOKBACK_BLOCKS, len(kept))):
                nxt = kept[j]
                if nxt.kind != "body" or j in joined or nxt.text[:1].islower() or nxt.text[:1].isdigit():
                    break  # a lower-case block further on is the continuation (first rule)
                if nxt.text[:1].isupper() and _join_reads_on(block.text, nxt.text, raw):
                    block.extend(nxt)
                    joined.add(j)
                    break
    return out


def _continued(block: Block, out: list[Block]) -> Block | None:
    """The unfinished paragraph a block starting in lower case (or with a number) continues, if any."""
    first = block.text[:1]
    if first.islower():
        return _open_before(out, LOOKBACK_BLOCKS, lambda text: is_open(text) or text.endswith(";"))
    if first.isdigit():  # "…carbon neutrality of the country until" + "2060. The Strategy…"
        return _open_before(out, LOOKBACK_BLOCKS, lambda text: text.endswith(",") or _last_word(text) in _TAKES_NUMBER)
    return None


def _open_before(out: list[Block], lookback: int, unfinished) -> Block | None:
    for block in reversed(out[-lookback:]):
        if block.kind != "body":
            return None
        if unfinished(block.text):
            return block
    return None


def _last_word(text: str) -> str:
    words = text.split()
    return words[-1] if words else ""


_TAKES_NUMBER = {"until", "by", "in", "from", "to", "than", "of", "about", "over", "under", "and", "since", "only"}


def _last_line_len(block: Block) -> int:
    return block.runs[-1][2] - block.source.rfind("\n", 0, block.runs[-1][2]) - 1


def _join_reads_on(before: str, after: str, raw: str) -> bool:
    """Does the phrase across a candidate join ("the Second" + "Optional Protocol,") occur elsewhere in the text?"""
    left, right = before.split()[-2:], after.split()[:2]
    if len(left) < 2 or len(right) < 2:
        return False
    return " ".join(left + right) in _flat_paragraphs(raw)


@functools.lru_cache(maxsize=4)
def _flat_paragraphs(raw: str) -> str:
    """The text on one line, with "¶" where a blank line stood, so no phrase spans a paragraph break."""
    return " ".join(re.sub(r"\n\s*\n", " ¶ ", raw).split())


def _build(raw: str, blocks: list[Block], footnotes: list[RawFootnote]) -> CleanText:
    builder = TextBuilder(raw)
    out: list[CleanBlock] = []
    for block in blocks:
        if out:
            builder.insert("\n\n")
        start = len(builder)
        refs: list[tuple[str, int]] = []
        pending = sorted(block.refs, key=lambda r: r[1])
        for sep, s, e in block.runs:
            while pending and pending[0][1] < s:  # a mark that stood right after the previous run
                refs.append((pending.pop(0)[0], len(builder)))
            builder.insert(sep)
            builder.keep(s, e)
        refs.extend((label, len(builder)) for label, _ in pending)
        out.append(CleanBlock(block.kind, start, len(builder), block.heading, tuple(refs)))
    return CleanText(builder.text(), builder.segments(), out, footnotes)
