"""A question that asks to hear from each report ("both reports", "the two reports", "according to each report", "the
other report", or two reports named) is answered from each of them: its best passages are searched report by report,
and each report's best sentence is quoted.

Without it, "How many women are in the Senate according to each report?" found ten CEDAW passages first and quoted
one side only: the search ranks passages, not reports, and the review's passage came eleventh. A report's sentence is
found in that report's own search and rated among that report's sentences alone (a passage the search across all
reports ranked eleventh is that report's first). It is quoted when it passes the evidence check on that report's
passages and reaches its own floor (``pick``), not a margin from the best: the user asked for that report. A report
asked for that the answer cannot quote is named, with why (``Answer.notes``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reportrag.answers.evidence import NOT_ADDRESSED, carrying, compares

if TYPE_CHECKING:
    from collections.abc import Mapping

    from reportrag.core.records import Document
    from reportrag.core.settings import AnswerSettings
    from reportrag.retrieval.search import Filters, Searcher

# "both reports", "the two reports", "each report", "either report", "the reports' figures", "the other report", "do the
# reports differ"
_EACH = re.compile(r"\b(?:both|two|each|either)\s+(?:of\s+the\s+)?reports?\b|\bthe\s+other\s+report\b|\breports['’]"
                   r"|\baccording\s+to\s+(?:each|both)\b"
                   r"|\bthe\s+reports\s+(?:differ|disagree|agree|compare|contradict|conflict)", re.I)
_FIGURES = re.compile(r"\d[\d,.]*\s*(?:%|per\s*cent|percent)?", re.I)
MAX_REPORTS = 4  # past this many reports in scope, "each report" names too many to read one by one: name them (--doc)
PER_REPORT = 3  # passages searched in each report asked for


def reports_asked(question: str, searcher: Searcher, filters: Filters) -> tuple[str, ...]:
    """The reports a question asks to hear from one by one, in index order: every report in scope when it says
    "both reports", "each report" and the like, or those it names by id when it names two or more ("the review says
    … and the CEDAW report …"); none when a filter names one report or more than ``MAX_REPORTS`` are in scope."""
    if filters.doc or len(searcher.documents) > MAX_REPORTS:  # every answer asks: no copy of a large corpus's ids
        return ()
    in_scope = tuple(searcher.documents)
    if asks_each(question):
        return in_scope if len(in_scope) > 1 else ()
    named = tuple(d for d in in_scope if _id_word(d).search(question))
    return named if len(named) > 1 else ()


def asks_each(question: str) -> bool:
    """"both reports", "the two reports", "according to each report", "the other report", "the reports' …"."""
    return bool(_EACH.search(question))


def _id_word(doc: str) -> re.Pattern:
    """A report's id as a word of a question ("the CEDAW report")."""
    return re.compile(rf"\b{re.escape(doc)}\b", re.I)


def asked_of_one(question: str, reports: tuple[str, ...]) -> str:
    """The question as one report's own passages are searched and checked for it: without the reports it names
    ("How does the review compare with the CEDAW report on crisis centres?" asks the review about crisis centres,
    not about "CEDAW", which the evidence check would look for in the review's passages), and, in a comparison,
    without its figures ("the review says 44.8 percent … the CEDAW report says 54.7 per cent": each report gives
    its own)."""
    for doc in reports:
        question = _id_word(doc).sub("", question)
    return _FIGURES.sub("", question) if compares(question) else question


@dataclass(frozen=True)
class Pick:
    """What one report's own search gives to quote: its sentence and the relevance that sentence must reach, or no
    sentence and why."""

    sentence: Any = None
    least: float = 0.0
    reason: str = ""


def pick(asked: str, sentences: list, reason: str, searcher: Searcher, settings: AnswerSettings) -> Pick:
    """One report's sentence to quote, best first among ``sentences`` (its own search, rated among themselves):
    none when the evidence check gave ``reason``; else the best that carries every term the question names ("the
    Senate"), which the evidence check vouches for, held to the floor a whole answer is held to
    (``min_answer_relevance``); else the best, held to ``min_relevance``, the floor of any second quote ("What do
    both reports say about carbon neutrality?": the CEDAW report's closest sentence, on its voluntary national
    review of the SDGs, rated 0.23)."""
    if reason:
        return Pick(reason=reason)
    named = carrying(asked, sentences, searcher)
    if named:
        return Pick(named[0], settings.min_answer_relevance or 0.0)
    return Pick(sentences[0], max(settings.min_answer_relevance or 0.0, settings.min_relevance or 0.0))


def quoted(chosen: list, picks: dict[str, Pick], settings: AnswerSettings) -> list:
    """``chosen`` (best first) with each report's pick that it does not quote, when the pick reaches its floor; each
    added one takes the place of the weakest quote of a report quoted more than once, so the answer keeps to
    ``max_quotes``."""
    out = list(chosen)
    for doc, p in picks.items():
        if p.sentence is None or any(s.passage.doc_id == doc for s in out) or p.sentence.score < p.least:
            continue
        if len(out) >= settings.max_quotes:
            counts = {d: sum(s.passage.doc_id == d for s in out) for d in {s.passage.doc_id for s in out}}
            weakest = next((s for s in reversed(out) if counts[s.passage.doc_id] > 1), None)
            if weakest is None:
                continue
            out.remove(weakest)
        out.append(p.sentence)
    return out


def unquoted(reports: tuple[str, ...], picks: dict[str, Pick], chosen: list,
             documents: Mapping[str, Document]) -> tuple[str, ...]:
    """A note for each report asked for that the answer does not quote: what the user asked of it is not there, and
    saying so is part of the answer ("according to each report" answered from one report alone reads as both
    agreeing)."""
    notes = []
    for doc in reports:
        if any(s.passage.doc_id == doc for s in chosen):
            continue
        p = picks.get(doc, Pick())
        why = f"its closest sentence is unlikely to answer (relevance {p.sentence.score:.2f})" if p.sentence else p.reason
        why = why.removeprefix(NOT_ADDRESSED).rstrip(".") or "no passage of it matches the question"
        notes.append(f"{documents[doc].info.short_title} does not appear to address this: {why}.")
    return tuple(notes)
