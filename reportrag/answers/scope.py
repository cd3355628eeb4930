"""Which part of the reports an answer searched: every answer names its filters, and an abstention under a filter
says so, since the question may be answered outside it.

A question may name the report it asks about ("What does the CEDAW report say about women in the civil service?",
"… according to the review?"): it is answered from that report alone, and the answer says so. Without it the
question above quoted the review's civil-service share, which the user did not ask for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from reportrag.answers.each_report import asks_each
from reportrag.answers.evidence import compares
from reportrag.answers.report_names import names_of
from reportrag.core.records import Answer, Document
from reportrag.retrieval.filters import Filters

MAX_NAMED_SCAN = 5000  # past this many reports, a question's report is named with --doc (each would be read)


def describe(filters: Filters, documents: dict[str, Document]) -> str:
    """The filters in words: "CEDAW 6th periodic report, section Article 11"; "" when none is set."""
    parts = []
    if filters.doc:
        document = documents.get(filters.doc)
        parts.append(document.info.short_title if document else filters.doc)
    if filters.section:
        parts.append(f"section {filters.section}")
    if filters.concluding_observation:
        parts.append(f"passages answering concluding observation {filters.concluding_observation}")
    return ", ".join(parts)


def with_filters(answer: Answer, filters: Filters, documents: dict[str, Document], *, named: str = "") -> Answer:
    """``answer`` naming the filters it was searched under, and the report the question names (``named``), searched
    alone (a note, or in an abstention's reason); an abstention's reason adds that only that part was searched (not
    for a question in another language: no filter would change that)."""
    if named and answer.answered:
        answer = replace(answer, notes=(*answer.notes, named_note(named, documents)))
    elif named and not answer.language:
        title = documents[named].info.short_title
        answer = replace(answer, reason=(f"{answer.reason} Only {title} was searched, as the question names it: ask "
                                         "without naming it to search every report."))
    active = filters.active()
    if not active:
        return answer
    scope = describe(filters, documents)
    reason = answer.reason
    if not answer.answered and not answer.language:
        reason = (f"{reason} Only {scope} was searched: the question may be answered elsewhere in the reports; "
                  "ask again without the filter.").strip()
    return replace(answer, filters=tuple(active.items()), scope=scope, reason=reason)


def narrowed(question: str, filters: Filters, documents: Mapping[str, Document]) -> tuple[Filters, str]:
    """The filters to search ``question`` under, and the report it names that they narrow it to ("" for none):
    what extractive and generated answers both search."""
    named = named_in(question, filters, documents)
    return (replace(filters, doc=named) if named else filters), named


def named_in(question: str, filters: Filters, documents: Mapping[str, Document]) -> str:
    """The report to answer from alone: the one the question names, unless a filter already names one or the
    question asks to hear from several ("compare the review with …", "according to each report")."""
    if filters.doc or compares(question) or asks_each(question):
        return ""
    return report_named(question, documents)


def report_named(question: str, documents: Mapping[str, Document]) -> str:
    """The one report a question names ("the CEDAW report", "the annual review", "the sixth periodic report", its
    short title or symbol), or "" when it names none or several (several: a comparison, answered from each)."""
    if len(documents) > MAX_NAMED_SCAN:
        return ""
    named = {doc for doc, d in documents.items() if any(p.search(question) for p in names_of(d.info))}
    return named.pop() if len(named) == 1 else ""


def named_note(doc: str, documents: Mapping[str, Document]) -> str:
    return f"Only {documents[doc].info.short_title} was searched: the question names it."
