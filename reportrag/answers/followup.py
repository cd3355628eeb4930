"""A follow-up in a conversation ("And the review?", "What about 2021?", "And in the CEDAW report in 2022?") is read
with the question before it: alone it names no topic, and the search would answer "And the review?" with whatever
stands closest to "the review". It is read as the question before, with the follow-up's report and years in place of
that question's: "What is the share of women among judges of the Supreme Court?" then "And the CEDAW report?" reads
"What is the share of women among judges of the Supreme Court? (CEDAW 6th periodic report)". The answer says how it
was read (``Answer.notes``), so the reading can be checked; a question with a topic of its own is read as asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from reportrag.answers.evidence import YEAR_WORD, question_terms
from reportrag.answers.report_names import names_of, without_names
from reportrag.answers.scope import MAX_NAMED_SCAN, report_named
from reportrag.core.records import Answer, Document
from reportrag.index.keyword import tokenize

# what a follow-up says besides a report and a year: "And what about …", "What does … say", "How about in …"
_FOLLOW_WORDS = set(tokenize(
    "and but or so what how about also then there same that this those these it its in for on by say says said tell "
    "does do did is are was were the a an of according to report reports year years instead other"))


def read_with(question: str, previous: str, documents: Mapping[str, Document]) -> str:
    """``question`` as asked after ``previous``: the previous question with the follow-up's report and years in
    place of its own, when the follow-up names no topic but a report or a year (and the previous question asks
    about one year at most); else ``question`` itself."""
    if not previous or not previous.strip():
        return question
    # the reports whose names are read: as in ``scope``, none past MAX_NAMED_SCAN (each question would read them all)
    nameable = documents if len(documents) <= MAX_NAMED_SCAN else {}
    bare = without_names(question, nameable)
    years = YEAR_WORD.findall(bare)
    named = report_named(question, nameable)
    if (not years and not named) or any(t not in _FOLLOW_WORDS for t in question_terms(YEAR_WORD.sub(" ", bare))):
        return question
    read = previous.strip()
    if years:
        names = [m.span() for d in nameable.values() for p in names_of(d.info) for m in p.finditer(read)]
        # the years it asks about, not that of a report's name ("… according to the Annual Review 2022")
        before = [m for m in YEAR_WORD.finditer(read) if not any(a <= m.start() < b for a, b in names)]
        if len({m.group() for m in before}) > 1:
            return question  # "between 2021 and 2023", then "And 2022?": which year it replaces is a guess
        if before:
            for m in reversed(before):
                read = read[: m.start()] + " and ".join(years) + read[m.end():]
        else:
            read = f"{read.rstrip(' ?.')} in {' and '.join(years)}?"
    if named:
        title = documents[named].info.short_title
        swapped = without_names(read, nameable, instead=title)  # "What does the CEDAW report say …" → the review
        read = " ".join(swapped.split()) if swapped != read else f"{read.rstrip(' ?.')}? ({title})"
    return read


def as_asked(answer: Answer, question: str, read: str) -> Answer:
    """The answer to ``read`` given as the answer to ``question``, saying how it was read when that differs."""
    if read == question:
        return answer
    note = f"Read with the question before it, as: “{read}”"
    return replace(answer, question=question, read_as=read, notes=(note, *answer.notes))
