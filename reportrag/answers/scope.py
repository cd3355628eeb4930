"""Which part of the reports an answer searched: every answer names its filters, and an abstention under a filter
says so, since the question may be answered outside it."""

from __future__ import annotations

from dataclasses import replace

from reportrag.core.records import Answer, Document
from reportrag.retrieval.filters import Filters


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


def with_filters(answer: Answer, filters: Filters, documents: dict[str, Document]) -> Answer:
    """``answer`` naming the filters it was searched under; an abstention's reason adds that only that part was
    searched (not for a question in another language: no filter would change that)."""
    active = filters.active()
    if not active:
        return answer
    scope = describe(filters, documents)
    reason = answer.reason
    if not answer.answered and not answer.language:
        reason = (f"{reason} Only {scope} was searched: the question may be answered elsewhere in the reports; "
                  "ask again without the filter.").strip()
    return replace(answer, filters=tuple(active.items()), scope=scope, reason=reason)
