"""Cut a report's paragraphs into passages: whole sentences, one section, within the model's window.

A paragraph that fits is one passage (citations are per paragraph); short neighbours in the same section are
merged until the passage says enough to be retrieved; a long paragraph is cut at sentence boundaries; a
sentence longer than the window (a giant line with no full stops) is cut between word pieces.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Protocol

from rapidfuzz import fuzz
from reportrag.ingest.sentences import split_sentences, trim_span

from reportrag.core.records import Paragraph, Passage, Span

# all-MiniLM-L6-v2 reads 256 word pieces: 2 special tokens, up to 54 for the section header embedded with the
# passage, and 200 for the passage itself.
MAX_TOKENS = 200
TARGET_TOKENS = 160  # where a long paragraph is cut, and how far short neighbours are merged
MIN_TOKENS = 48  # a passage shorter than this takes the next paragraph of its section in


class Tokens(Protocol):
    def count(self, text: str) -> int: ...

    def offsets(self, text: str) -> list[tuple[int, int]]: ...


@dataclass
class _Unit:
    paragraphs: list[int]
    sentences: list[Span]
    tokens: int
    duplicate: bool
    section: tuple[str, ...]


def chunk(
    doc_id: str,
    text: str,
    paragraphs: tuple[Paragraph, ...] | list[Paragraph],
    tokens: Tokens,
    *,
    max_tokens: int = MAX_TOKENS,
    target_tokens: int = TARGET_TOKENS,
    min_tokens: int = MIN_TOKENS,
) -> list[Passage]:
    """Passages of one report, in reading order, with stable ids."""
    units: list[_Unit] = []
    for p in paragraphs:
        units.extend(_paragraph_units(text, p, tokens, max_tokens, target_tokens))
    merged = _merge_short(units, target_tokens, min_tokens)
    by_number = {p.number: p for p in paragraphs}
    passages = [_passage(doc_id, text, unit, by_number) for unit in merged]
    return _link_duplicates(passages, by_number)


def _paragraph_units(text: str, p: Paragraph, tokens: Tokens, max_tokens: int, target: int) -> list[_Unit]:
    sentences: list[Span] = []
    for s in split_sentences(text, p.start, p.end):
        sentences.extend(_fit(text, s, tokens, max_tokens))
    counts = [tokens.count(text[s.start : s.end]) for s in sentences]
    total = tokens.count(p.text)
    if total <= max_tokens:
        return [_Unit([p.number], sentences, total, p.duplicate_of is not None, p.section)]
    units: list[_Unit] = []
    window: list[Span] = []
    window_tokens = 0
    for span, n in zip(sentences, counts):
        if window and window_tokens + n > target:
            units.append(_Unit([p.number], window, window_tokens, p.duplicate_of is not None, p.section))
            window, window_tokens = [], 0
        window.append(span)
        window_tokens += n
    units.append(_Unit([p.number], window, window_tokens, p.duplicate_of is not None, p.section))
    return units


def _fit(text: str, span: Span, tokens: Tokens, max_tokens: int) -> list[Span]:
    """A sentence as is, or cut between word pieces into parts of at most ``max_tokens``."""
    sentence = text[span.start : span.end]
    pieces = tokens.offsets(sentence)
    if len(pieces) <= max_tokens:
        return [span]
    # Each part starts where the previous one was cut, counted in pieces: stepping by a fixed max_tokens from
    # piece 0 let a cut moved back to a word start hand its extra pieces to the next part, past the window.
    parts: list[Span] = []
    first = 0  # index of the current part's first piece

    def fits(a: int, b: int) -> bool:
        # counted on its own text: a part cut inside a long word loses the "##" of its first piece and may then
        # split into more pieces than it had inside the sentence (found by the property tests)
        return tokens.count(sentence[pieces[a][0] : pieces[b][0] if b < len(pieces) else len(sentence)]) <= max_tokens

    while not fits(first, len(pieces)):
        j = _word_start(sentence, pieces, min(first + max_tokens, len(pieces) - 1), first)
        while j > first + 1 and not fits(first, j):
            j -= 1
        parts.append(Span(span.start + pieces[first][0] if parts else span.start, span.start + pieces[j][0]))
        first = j
    parts.append(Span(span.start + pieces[first][0] if parts else span.start, span.end))
    return [trim_span(text, p.start, p.end) for p in parts if p.end > p.start]


def _word_start(sentence: str, pieces: list[tuple[int, int]], i: int, first: int) -> int:
    """Index of the word piece at or before ``i`` (after ``first``) that starts a word (never splits
    "Kazakh##stan"); ``i`` itself when the word is longer than the window."""
    j = i
    while j > first and not (pieces[j][0] == 0 or sentence[pieces[j][0] - 1].isspace()):
        j -= 1
    return j if j > first else i


def _merge_short(units: list[_Unit], target: int, minimum: int) -> list[_Unit]:
    merged: list[_Unit] = []
    for unit in units:
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.tokens < minimum
            and last.section == unit.section
            and last.duplicate == unit.duplicate
            and last.tokens + unit.tokens <= target
            and last.paragraphs[-1] != unit.paragraphs[0]  # never glue pieces of one cut paragraph back
        ):
            last.paragraphs.extend(unit.paragraphs)
            last.sentences.extend(unit.sentences)
            last.tokens += unit.tokens
        else:
            merged.append(_Unit(list(unit.paragraphs), list(unit.sentences), unit.tokens, unit.duplicate, unit.section))
    return merged


def _passage(doc_id: str, text: str, unit: _Unit, by_number: dict[int, Paragraph]) -> Passage:
    start, end = unit.sentences[0].start, unit.sentences[-1].end
    body = text[start:end]
    numbers = tuple(unit.paragraphs)
    first = by_number[numbers[0]]
    refs: list[str] = []
    for n in numbers:
        refs.extend(r for r in by_number[n].addresses if r not in refs)
    return Passage(
        passage_id=passage_id(doc_id, numbers, body),
        doc_id=doc_id,
        section=first.section,
        section_label=first.section_label,
        paragraphs=numbers,
        start=start,
        end=end,
        text=body,
        sentences=tuple(unit.sentences),
        concluding_observations=tuple(refs),
    )


def passage_id(doc_id: str, paragraphs: tuple[int, ...], text: str) -> str:
    """Stable across runs and across re-chunking of other reports: report + paragraph + content."""
    digest = hashlib.sha1(f"{doc_id}\x1f{paragraphs}\x1f{text}".encode()).hexdigest()[:10]
    return f"{doc_id}-{paragraphs[0]:04d}-{digest}"


def _link_duplicates(passages: list[Passage], by_number: dict[int, Paragraph]) -> list[Passage]:
    """A passage made only of repeated paragraphs points at the passage holding the text it repeats."""
    holding: dict[int, list[Passage]] = {}
    for passage in passages:
        for n in passage.paragraphs:
            holding.setdefault(n, []).append(passage)
    out: list[Passage] = []
    for passage in passages:
        originals = [by_number[n].duplicate_of for n in passage.paragraphs]
        if all(originals):
            candidates = [c for n in dict.fromkeys(originals) for c in holding.get(n, [])]
            best = max(candidates, key=lambda c: fuzz.partial_ratio(passage.text, c.text), default=None)
            if best is not None and best.passage_id != passage.passage_id:
                passage = replace(passage, duplicate_of=best.passage_id)
        out.append(passage)
    return out

