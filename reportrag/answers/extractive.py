"""Extractive answers: the sentences of the top passages that answer the question, each quoted verbatim and cited.

No language model: a citation cannot be wrong because every quote is a slice of the report's canonical text,
checked again when the citation is made. Steps: search → score each sentence of the top passages (its cosine
with the question plus how much of the question's specific vocabulary it carries) → check the evidence answers
the question at all (``evidence.assess``), else abstain with the closest passages → keep the best sentences,
fold repeats (sidebar copies: one quote, all its places) → group by report, in reading order → note where the
reports give different figures for the same measure (``comparisons``). A question naming a paragraph of the
Committee's concluding observations is answered from the passages responding to it (``observations``). A
question not in English gets a notice instead (``language``); every answer names the filters it was searched
under (``scope``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from reportrag.answers import evidence, language, observations, scope
from reportrag.answers.comparisons import differences, with_other_report  # like with like: answers/comparisons.py
from reportrag.answers.quotes import anchor, find_exact, normalized
from reportrag.core.settings import AnswerSettings
from reportrag.core.records import Answer, Citation, Document, Hit, Passage, Place, Span, Statement
from reportrag.retrieval.search import Filters, Searcher, clean_query

DEFAULTS = AnswerSettings()  # search depth, quote count and margins: settings (answers section)


@dataclass(frozen=True)
class Sentence:
    """A sentence of a retrieved passage, scored against the question."""

    passage: Passage
    span: Span
    text: str
    score: float
    cosine: float
    coverage: float
    also_at: tuple[Passage, ...]


def answer(searcher: Searcher, question: str, *, filters: Filters = Filters(),
           settings: AnswerSettings = DEFAULTS) -> Answer:
    """The answer to ``question`` within ``filters``, naming them (a question not in English gets a notice)."""
    text = clean_query(question)
    result = language.not_english(question) or _answer(searcher, question, text, filters, settings)
    return scope.with_filters(result, filters, searcher.documents)


def _answer(searcher: Searcher, question: str, text: str, filters: Filters, settings: AnswerSettings) -> Answer:
    vector = searcher.embedder.encode([text])[0]
    routed = observations.answer(searcher, question, text, vector, filters, settings)  # "paragraph 26 (a) of the CO"
    if routed:
        return routed
    hits = searcher.rank(text, vector, settings.search_depth, "hybrid+rerank", filters)
    sentences = score_sentences(searcher, text, vector, hits, settings)
    reason = evidence.assess(text, sentences, hits, searcher, settings)
    if reason:
        return Answer(question=question, answered=False, statements=(), citations=(), closest=tuple(hits), reason=reason)
    chosen = extend_to_figures(searcher, text, with_other_report(text, choose(sentences, settings), sentences, settings))
    citations, statements = cite_sentences(searcher, chosen)
    return Answer(
        question=question,
        answered=True,
        statements=statements,
        citations=citations,
        closest=tuple(hits),
        differences=differences(searcher, citations),
    )


def score_sentences(searcher: Searcher, question: str, vector: np.ndarray, hits: list[Hit],
                    settings: AnswerSettings = DEFAULTS) -> list[Sentence]:
    terms = evidence.question_terms(question)
    stats = evidence.term_stats(searcher)
    out = []
    for hit in hits:
        document = searcher.documents[hit.passage.doc_id]
        cosines = searcher.sentence_vectors(hit.passage) @ vector
        for span, cos in zip(hit.passage.sentences, cosines):
            sentence = document.text[span.start : span.end]
            coverage = stats.coverage(terms, sentence)
            # "… as follows:" introduces a table or list the quote would leave out: a poor answer on its own
            lead_in = settings.lead_in_penalty if sentence.rstrip().endswith(":") else 0.0
            score = float(cos) + 0.5 * coverage - lead_in
            out.append(Sentence(hit.passage, span, sentence, score, float(cos), coverage, hit.also_at))
    return sorted(out, key=lambda s: -s.score)


def choose(sentences: list[Sentence], settings: AnswerSettings = DEFAULTS) -> list[Sentence]:
    """The best sentences, at most a few per passage, without repeats; the other report's best one too when it is
    nearly as good (so a question both reports speak to gets both)."""
    if not sentences:
        return []
    best = sentences[0].score
    chosen: list[Sentence] = []
    per_passage: dict[str, int] = {}
    seen: set[str] = set()
    for s in sentences:
        key = normalized(s.text)
        if key in seen or per_passage.get(s.passage.passage_id, 0) >= settings.max_per_passage:
            continue
        first_of_report = all(c.passage.doc_id != s.passage.doc_id for c in chosen)
        margin = settings.other_report_margin if first_of_report and chosen else settings.quote_margin
        if s.score < best - margin or len(chosen) >= settings.max_quotes:
            continue
        chosen.append(s)
        seen.add(key)
        per_passage[s.passage.passage_id] = per_passage.get(s.passage.passage_id, 0) + 1
    return chosen


def extend_to_figures(searcher: Searcher, question: str, chosen: list[Sentence]) -> list[Sentence]:
    """A sentence on the topic that lacks the year or figure asked about, when the next sentence of its paragraph
    carries it, is quoted together with that sentence: "… in 2019 it had reached 13.7. In 2020, there was a sharp
    increase to 36.5 …" answers "the rate in 2020"; its first half alone would mislead."""
    figures = [t for t in evidence.specific_terms(question) if t[0].isdigit()]
    if not figures:
        return chosen
    out: list[Sentence] = []
    for s in chosen:
        document = searcher.documents[s.passage.doc_id]
        spans = list(s.passage.sentences)
        i = spans.index(s.span) if s.span in spans else -1
        missing = [f for f in figures if not _mentions(s.text, f)]
        if missing and 0 <= i < len(spans) - 1:
            following = document.text[spans[i + 1].start : spans[i + 1].end]
            same_paragraph = "\n" not in document.text[s.span.end : spans[i + 1].start]
            if same_paragraph and any(_mentions(following, f) for f in missing):
                span = Span(s.span.start, spans[i + 1].end)
                s = replace(s, span=span, text=document.text[span.start : span.end])
        out.append(s)
    # a sentence now inside an extended quote is not quoted again
    return [s for s in out if not any(o is not s and o.passage.doc_id == s.passage.doc_id
                                      and o.span.start <= s.span.start and s.span.end <= o.span.end
                                      and (o.span.start, o.span.end) != (s.span.start, s.span.end) for o in out)]


def _mentions(text: str, figure: str) -> bool:
    return re.search(rf"(?<![\d.,]){re.escape(figure)}(?![\d])", text) is not None


def cite_sentences(searcher: Searcher, chosen: list[Sentence]) -> tuple[tuple[Citation, ...], tuple[Statement, ...]]:
    """The chosen sentences as numbered citations, each with its one-quote statement: grouped by report (the best
    report first), in reading order within each."""
    report_rank = {}
    for s in chosen:
        report_rank.setdefault(s.passage.doc_id, len(report_rank))
    ordered = sorted(chosen, key=lambda s: (report_rank[s.passage.doc_id], s.span.start))
    citations, statements = [], []
    for n, s in enumerate(ordered, 1):
        document = searcher.documents[s.passage.doc_id]
        place = place_of(document, s.passage, s.span)
        others = tuple(
            place_of(searcher.documents[p.doc_id], p, span)
            for p in s.also_at
            for span in _spans_of(searcher.documents[p.doc_id], p, s.text)
        )
        citations.append(
            Citation(
                n=n,
                quote=s.text,
                place=place,
                anchor=anchor(document.doc_id, place.paragraph, s.text),
                verified=document.text[place.start : place.end] == s.text,
                score=s.score,
                also_at=others,
            )
        )
        statements.append(Statement(text=s.text, citations=(n,), verified=citations[-1].verified, doc_id=document.doc_id))
    return tuple(citations), tuple(statements)


def place_of(document: Document, passage: Passage, span: Span) -> Place:
    paragraph = next((p.number for p in document.paragraphs if p.start <= span.start < p.end), passage.paragraph)
    return Place(
        doc_id=document.doc_id,
        doc_title=document.info.short_title,
        section=passage.section,
        section_label=passage.section_label,
        paragraph=paragraph,
        start=span.start,
        end=span.end,
        passage_id=passage.passage_id,
    )


def _spans_of(document: Document, passage: Passage, sentence: str) -> list[Span]:
    """Where a sentence stands again inside a sidebar copy of its passage (sidebars may break its lines)."""
    body = document.text[passage.start : passage.end]
    return [Span(passage.start + a, passage.start + b) for a, b in find_exact(sentence, body)]
