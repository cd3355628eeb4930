"""A quote that stands alone: a sentence quoted with its neighbour when, without it, it would mislead or lose its
subject. Both extensions stay inside one paragraph, so the quote is still one verbatim slice of the report. A
question asking how many that the quotes, extended, still give no figure for is not answered (``figure_unquoted``:
no answer of either eval split nor of the "measures" questions changed, 2026-11-27)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from reportrag.answers import evidence, relevance
from reportrag.core.records import Span
from reportrag.retrieval.term_stats import token_set

if TYPE_CHECKING:
    from reportrag.answers.extractive import Sentence
    from reportrag.retrieval.search import Searcher


# what is answered by a figure, beyond "how many" and "what share" (``relevance.asks_figure``): "What is the penalty
# for torture?" ("… have been tightened. The maximum term of imprisonment … has been increased from 10 to 12 years.")
_ASKS_AMOUNT = re.compile(r"\b(?:penalt(?:y|ies)|punishments?|sentences?|prison\s+terms?|fines?|ages?|salar(?:y|ies)|"
                          r"wages?|budgets?|costs?|funding|pensions?|benefits?)\b", re.I)
# "How many …", "How much …", "What share / percentage / proportion / number of …": no quote without a figure answers
_ASKS_COUNT = re.compile(r"^\W*how\s+(?:many|much)\b|\bwhat\s+(?:share|percentage|proportion|per\s*cent|number)\b", re.I)
_NUMBER_WORD = re.compile(r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|(?:thir|four|fif|six|"
                          r"seven|eigh|nine)teen|(?:twen|thir|for|fif|six|seven|eigh|nine)ty|hundreds?|thousands?|"
                          r"millions?|billions?|dozens?|half|third|quarter|doubled|tripled)\b", re.I)


def extend_to_figures(searcher: Searcher, question: str, chosen: list[Sentence]) -> list[Sentence]:
    """A sentence on the topic that lacks the year or figure asked about, when the next sentence of its paragraph
    carries it, is quoted together with that sentence: "… in 2019 it had reached 13.7. In 2020, there was a sharp
    increase to 36.5 …" answers "the rate in 2020"; its first half alone would mislead. A question asking for a
    figure ("how many …") that a sentence gives none of is extended the same way: "Thus, in 2022, active efforts
    were made under provincial employment plans …" says how many only with its next sentence ("As a result,
    536,000 women were placed in jobs …")."""
    figures = [t for t in evidence.specific_terms(question) if t[0].isdigit()]
    counted = relevance.asks_figure(question) or bool(_ASKS_AMOUNT.search(question))
    if not figures and not counted:
        return chosen
    out: list[Sentence] = []
    for s in chosen:
        missing = [f for f in figures if not _mentions(s.text, f)]
        following = _neighbour(searcher, s, +1)
        after = searcher.documents[s.passage.doc_id].text[following.start : following.end] if following else ""
        if (missing and any(_mentions(after, f) for f in missing)) or (
                counted and not relevance.gives_figure(s.text) and relevance.gives_figure(after)):
            s = _joined(searcher, s, Span(s.span.start, following.end))
        out.append(s)
    return _without_inner(out)


def figure_unquoted(question: str, quotes: list) -> str:
    """Why quotes chosen for a question asking how many or what share do not answer it: none gives a figure
    ("How many cases of sexual harassment were recorded?" quoted "The Government has been taking measures to
    eliminate harassment in the workplace."); a number in words counts ("five Kazakh military observers"); "" when
    one does or the question asks for none."""
    if _ASKS_COUNT.search(question) and not any(relevance.gives_figure(q.text) or _NUMBER_WORD.search(q.text)
                                                 for q in quotes):
        return f"{evidence.NOT_ADDRESSED}the passages found give no figure for it."
    return ""


def carry_subject(searcher: Searcher, question: str, chosen: list[Sentence]) -> list[Sentence]:
    """A sentence that lacks a word of the question its paragraph's previous sentence carries is quoted with that
    sentence: "Representation in the Mazhilis of the Parliament is 27.1 percent" does not say it counts women; the
    sentence before it ("… the number of women in local government bodies is 52.4 percent.") does."""
    terms = evidence.question_terms(question)
    out: list[Sentence] = []
    for s in chosen:
        previous = _neighbour(searcher, s, -1)
        if previous:
            have = token_set(s.text)
            before = token_set(searcher.documents[s.passage.doc_id].text[previous.start : previous.end])
            if any(t not in have and t in before and not t[0].isdigit() for t in terms):
                s = _joined(searcher, s, Span(previous.start, s.span.end))
        out.append(s)
    return _without_inner(out)


def _neighbour(searcher: Searcher, s: Sentence, step: int) -> Span | None:
    """The sentence before (-1) or after (+1) ``s`` in its passage, when it stands in the same paragraph."""
    spans = list(s.passage.sentences)
    i = next((k for k, span in enumerate(spans) if span.start <= s.span.start < span.end), -1)
    if step > 0:
        i = next((k for k, span in enumerate(spans) if span.start < s.span.end <= span.end), -1)
    j = i + step
    if i < 0 or not 0 <= j < len(spans):
        return None
    text = searcher.documents[s.passage.doc_id].text
    gap = text[s.span.end : spans[j].start] if step > 0 else text[spans[j].end : s.span.start]
    return None if "\n" in gap else spans[j]


def _joined(searcher: Searcher, s: Sentence, span: Span) -> Sentence:
    return replace(s, span=span, text=searcher.documents[s.passage.doc_id].text[span.start : span.end])


def _without_inner(quotes: list[Sentence]) -> list[Sentence]:
    """A sentence now inside an extended quote is not quoted again."""
    return [s for s in quotes if not any(o is not s and o.passage.doc_id == s.passage.doc_id
                                         and o.span.start <= s.span.start and s.span.end <= o.span.end
                                         and (o.span.start, o.span.end) != (s.span.start, s.span.end) for o in quotes)]


def _mentions(text: str, figure: str) -> bool:
    return re.search(rf"(?<![\d.,]){re.escape(figure)}(?![\d])", text) is not None


