"""A question that asks to hear from each report ("both reports", "the two reports", "according to each report", "the
other report", or two reports named) is answered from each of them: its best passages are searched report by report,
and each report's best sentence is quoted.

Without it, "How many women are in the Senate according to each report?" found eight CEDAW passages and quoted one
side only: the search ranks passages, not reports, and the review's passage came eleventh. The other report's sentence
is found in that report's own search and rated among that report's sentences alone (a passage the search across all
reports ranked eleventh is that report's first), and it is held to the floor a whole answer is held to
(``min_answer_relevance``), not to a margin from the best: the user asked for that report, and a weaker sentence that
still speaks to the question is what that report says.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reportrag.core.settings import AnswerSettings
    from reportrag.retrieval.search import Filters, Searcher

# "both reports", "the two reports", "each report", "either report", "the reports' figures", "the other report"
_EACH = re.compile(r"\b(?:both|two|each|either)\s+(?:of\s+the\s+)?reports?\b|\bthe\s+other\s+report\b|\breports['’]"
                   r"|\baccording\s+to\s+(?:each|both)\b", re.I)
MAX_REPORTS = 4  # past this many reports in scope, "each report" names too many to read one by one: name them (--doc)
PER_REPORT = 3  # passages searched in each report asked for


def reports_asked(question: str, searcher: Searcher, filters: Filters) -> tuple[str, ...]:
    """The reports a question asks to hear from one by one, in index order: every report in scope when it says
    "both reports", "each report" and the like, or those it names by id when it names two or more ("the review says
    … and the CEDAW report …"); none when a filter names one report or more than ``MAX_REPORTS`` are in scope."""
    if filters.doc:
        return ()
    in_scope = tuple(searcher.documents)
    if len(in_scope) > MAX_REPORTS:
        return ()
    if _EACH.search(question):
        return in_scope if len(in_scope) > 1 else ()
    named = tuple(d for d in in_scope if re.search(rf"\b{re.escape(d)}\b", question, re.I))
    return named if len(named) > 1 else ()


def quoted(chosen: list, best_of: dict, settings: AnswerSettings) -> list:
    """``chosen`` (best first) with the best sentence of each report asked for (``best_of``: found in that report's
    own search) that it does not quote, when its relevance reaches ``min_answer_relevance``; each added one takes
    the place of the weakest quote of a report quoted more than once, so the answer keeps to ``max_quotes``."""
    out = list(chosen)
    for doc, best in best_of.items():
        if any(s.passage.doc_id == doc for s in out) or best.score < (settings.min_answer_relevance or 0.0):
            continue
        if len(out) >= settings.max_quotes:
            counts = {d: sum(s.passage.doc_id == d for s in out) for d in {s.passage.doc_id for s in out}}
            weakest = next((s for s in reversed(out) if counts[s.passage.doc_id] > 1), None)
            if weakest is None:
                continue
            out.remove(weakest)
        out.append(best)
    return out
