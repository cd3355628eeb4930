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

from reportrag.answers import context, each_report, evidence, language, observations, relevance, scope
from reportrag.answers.comparisons import differences, with_other_report  # like with like: answers/comparisons.py
from reportrag.answers.quotes import anchor, find_exact, normalized
from reportrag.core.settings import AnswerSettings
from reportrag.core.records import Answer, Citation, Document, Hit, Passage, Place, Span, Statement
from reportrag.retrieval.query import QueryVectors
from reportrag.retrieval.search import Filters, Searcher, clean_query

_WEB_ADDRESS = re.compile(r"https?://|www\.", re.I)
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
    features: tuple[float, ...] = ()  # the row ``relevance`` scored (kept for training and inspection)
    chance: float | None = None  # the relevance model's chance that it answers (None: scored without the model)


def answer(searcher: Searcher, question: str, *, filters: Filters = Filters(),
           settings: AnswerSettings = DEFAULTS) -> Answer:
    """The answer to ``question`` within ``filters``, naming them (a question not in English gets a notice); from
    the one report the question names, if it names one ("What does the CEDAW report say about …"), saying so."""
    text = clean_query(question)
    searched, named = scope.narrowed(text, filters, searcher.documents)
    result = language.not_english(question) or _answer(searcher, question, text, searched, settings)
    return scope.with_filters(result, filters, searcher.documents, named=named)


def _answer(searcher: Searcher, question: str, text: str, filters: Filters, settings: AnswerSettings) -> Answer:
    request = observations.requested(text)  # "paragraph 26 (a) of the CO", "the Committee's recommendation on …"
    routed_text = observations.search_text(request) if request else ""
    vectors = QueryVectors(searcher.embedder, [text, routed_text] if routed_text else [text])  # one model pass
    vector = vectors(text)
    routed = observations.answer(searcher, question, text, request, vectors, filters, settings) if request else None
    if routed:
        return routed
    model = relevance.load(settings.relevance_model, searcher.embedder.name)
    settings = relevance.with_choice(settings, model)
    hits = searcher.rank(text, vector, settings.search_depth, "hybrid+rerank", filters)
    sentences = score_sentences(searcher, text, vector, hits, settings, model)
    reason = evidence.assess(text, sentences, hits, searcher, settings) or _weak(sentences, settings)
    if reason:
        return Answer(question=question, answered=False, statements=(), citations=(), closest=tuple(hits), reason=reason)
    # "When …?" is quoted from sentences giving a date, "Who is …" from those naming someone (the check vouched one)
    answering = evidence.of_the_kind_asked(text, sentences, searcher) or sentences
    chosen = with_other_report(text, evidence.alike_named(text, choose(answering, settings), searcher), answering,
                               settings)
    chosen = context.extend_to_figures(searcher, text, chosen)
    # "the score for 2022" answered "for 2021"; "how many" answered by no figure
    unquoted = evidence.year_unquoted(text, chosen, searcher) or context.figure_unquoted(text, chosen)
    if unquoted:
        return Answer(question=question, answered=False, statements=(), citations=(), closest=tuple(hits),
                      reason=unquoted)
    reports = each_report.reports_asked(text, searcher, filters)  # "both reports", "according to each report"
    unheard = tuple(d for d in reports if all(s.passage.doc_id != d for s in chosen))  # the others are quoted already
    picks = _best_in_each(searcher, text, vector, unheard, filters, settings, model) if unheard else {}
    quoted = each_report.quoted(chosen, picks, settings)
    kept = [s for s in quoted if any(s is c for c in chosen)]  # extended above; each report's picks are not yet
    added = context.extend_to_figures(searcher, text, [s for s in quoted if all(s is not c for c in chosen)])
    chosen = context.carry_subject(searcher, text, kept + added)
    citations, statements = cite_sentences(searcher, chosen)
    return Answer(
        question=question,
        answered=True,
        statements=statements,
        citations=citations,
        closest=tuple(hits),
        differences=differences(searcher, citations),
        notes=each_report.unquoted(reports, picks, chosen, searcher.documents),
    )


def score_sentences(searcher: Searcher, question: str, vector: np.ndarray, hits: list[Hit],
                    settings: AnswerSettings = DEFAULTS, model: relevance.RelevanceModel | None = None) -> list[Sentence]:
    """Every sentence of the passages found, best first by its chance of answering (``relevance``; without a
    model, by cosine plus rare-term coverage, and unrated)."""
    terms = evidence.question_terms(question)
    stats = evidence.term_stats(searcher)
    cues = relevance.cues_of(question, terms)
    found, candidates = [], []
    for rank, hit in enumerate(hits, 1):
        document = searcher.documents[hit.passage.doc_id]
        cosines = searcher.sentence_vectors(hit.passage) @ vector
        for i, (span, cos) in enumerate(zip(hit.passage.sentences, cosines)):
            text = document.text[span.start : span.end]
            if _WEB_ADDRESS.search(text):
                continue  # a source list's entry ("Official website of the Ministry … https://…") answers nothing
            c = relevance.candidate(terms, stats, text, float(cos), hit.passage, rank, cues, first=i == 0)
            found.append((hit, span, text))
            candidates.append(c)
    rows = relevance.features(cues, stats, candidates)
    chances = model.predict(rows) if model is not None else np.zeros(len(rows))
    out = [
        Sentence(hit.passage, span, text, float(chance) if model is not None else c.cosine + 0.5 * c.coverage,
                 c.cosine, c.coverage, hit.also_at, tuple(row), float(chance) if model is not None else None)
        for (hit, span, text), c, row, chance in zip(found, candidates, rows, chances)
    ]
    return sorted(out, key=lambda s: -s.score)


def choose(sentences: list[Sentence], settings: AnswerSettings = DEFAULTS) -> list[Sentence]:
    """The sentences likely to answer, best first: those within ``quote_margin`` of the best one's chance and above
    ``min_relevance`` (so one clearly best sentence is quoted alone), at most a few per passage, without
    repeats; the other report's best one too when it is within ``other_report_margin`` (whatever its chance)."""
    if not sentences:
        return []
    best = sentences[0].score
    chosen: list[Sentence] = []
    per_passage: dict[str, int] = {}
    seen: set[str] = set()
    floor = best - max(settings.quote_margin, settings.other_report_margin)
    for s in sentences:
        if chosen and s.score < floor:
            break  # best first: no later sentence qualifies
        key = normalized(s.text)
        if key in seen or per_passage.get(s.passage.passage_id, 0) >= settings.max_per_passage:
            continue
        other_report = chosen and all(c.passage.doc_id != s.passage.doc_id for c in chosen)
        # a sentence within the margin, above the floor; the other report's best sentence also when it is within its
        # own margin, whatever its chance: a question both reports speak to gets both
        close = s.score >= best - settings.quote_margin and s.score >= settings.min_relevance
        if chosen and not close and not (other_report and s.score >= best - settings.other_report_margin):
            continue
        if len(chosen) >= settings.max_quotes:
            break
        chosen.append(s)
        seen.add(key)
        per_passage[s.passage.passage_id] = per_passage.get(s.passage.passage_id, 0) + 1
    return chosen


def _best_in_each(searcher: Searcher, text: str, vector: np.ndarray, reports: tuple[str, ...], filters: Filters,
                  settings: AnswerSettings, model: relevance.RelevanceModel) -> dict[str, each_report.Pick]:
    """Each report's best sentence for the question, from its own search (``each_report``), or none and why: the
    evidence check on that report's passages alone ("GRECO" asked, and one report never names it). Within one
    report the question is asked without the reports it names (``each_report.asked_of_one``)."""
    out, asked = {}, each_report.asked_of_one(text, tuple(searcher.documents))  # at most MAX_REPORTS
    if asked != text:
        vector = searcher.embedder.encode([asked])[0]
    for doc in reports:
        hits = searcher.rank(asked, vector, each_report.PER_REPORT, "hybrid+rerank", replace(filters, doc=doc))
        sentences = score_sentences(searcher, asked, vector, hits, settings, model)
        reason = evidence.assess(asked, sentences, hits, searcher, settings)
        out[doc] = each_report.pick(asked, sentences, reason, searcher, settings)
    return out


def _weak(sentences: list[Sentence], settings: AnswerSettings) -> str:
    if sentences and sentences[0].score < settings.min_answer_relevance:
        return (f"{evidence.NOT_ADDRESSED}the closest sentences found are unlikely to answer it "
                f"(relevance {sentences[0].score:.2f}).")
    return ""


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
                relevance=s.chance,
            )
        )
        statements.append(Statement(text=s.text, citations=(n,), verified=citations[-1].verified, doc_id=document.doc_id))
    return tuple(citations), tuple(statements)


def place_of(document: Document, passage: Passage, span: Span) -> Place:
    holder = document.paragraph_at(span.start)
    paragraph = holder.number if holder else passage.paragraph
    return document.place(passage.section, passage.section_label, paragraph, span.start, span.end, passage.passage_id)


def _spans_of(document: Document, passage: Passage, sentence: str) -> list[Span]:
    """Where a sentence stands again inside a sidebar copy of its passage (sidebars may break its lines)."""
    body = document.text[passage.start : passage.end]
    return [Span(passage.start + a, passage.start + b) for a, b in find_exact(sentence, body)]
