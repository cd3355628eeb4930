"""What a search may return: one report, one section or article, the answers to one concluding observation.

A filter that matches nothing is a mistake, not an answer: ``check_filters`` turns it into a ``BadFilter`` naming
the choices there are (the known reports, the nearest section labels, the concluding observations addressed),
so a typo such as "Art. 99" never reads as "not in the reports".
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, utils

from reportrag.core.errors import BadFilter
from reportrag.core.records import Passage

if TYPE_CHECKING:
    from reportrag.retrieval.corpus import Corpus

CHOICES_SHOWN = 6  # close choices named in an error: enough to spot the intended one, short enough for one line
_ARTICLE_ABBREVIATION = re.compile(r"\bart\b\.?\s*", re.I)  # "Art. 11" is how people write "Article 11"
_OBSERVATION_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class Filters:
    doc: str | None = None
    section: str | None = None  # a label prefix: "Article 11", "VII.C", "Part I"
    concluding_observation: str | None = None  # "36(e)" or "36"

    def allows(self, p: Passage) -> bool:
        if self.doc and p.doc_id != self.doc:
            return False
        if self.section and not _section_matches(p, self.section):
            return False
        if self.concluding_observation:
            wanted = _observation(self.concluding_observation)
            if not any(r == wanted or r.split("(")[0] == wanted for r in p.concluding_observations):
                return False
        return True

    def active(self) -> dict[str, str]:
        """The filters that are set, by field name: what an answer says it searched within."""
        return {name: value for name, value in asdict(self).items() if value}


def _section_matches(p: Passage, wanted: str) -> bool:
    label = p.section_label
    return label == wanted or label.startswith(wanted + ",") or label.startswith(wanted + ".") or label.startswith(
        wanted + " "
    ) or any(wanted.lower() in title.lower() for title in p.section)


def _observation(text: str) -> str:
    return text.replace(" ", "")


def check_filters(corpus: Corpus, filters: Filters) -> None:
    """Raise ``BadFilter`` when a filter matches no passage of the corpus, each checked within the ones before it
    (the section within the report, the concluding observation within both)."""
    if not filters.active():
        return
    if filters.doc and filters.doc not in corpus.documents:
        known = sorted(corpus.documents)
        raise BadFilter("doc", f"no report {filters.doc!r} in the index; use one of: {', '.join(known)}", known)
    if len(corpus.allowed_rows(filters)):
        return  # the usual case, remembered per filter: no walk over a million passages per request
    passages = corpus.passages
    if filters.doc:
        passages = [p for p in passages if p.doc_id == filters.doc]
    if filters.section:
        within = [p for p in passages if _section_matches(p, filters.section)]
        if not within:
            raise _no_such_section(corpus, filters)
        passages = within
    if filters.concluding_observation and not any(filters.allows(p) for p in passages):
        raise _no_such_observation(passages, filters)


def _scope(filters: Filters, *, section: bool) -> str:
    """Where a filter was looked for: "the reports", "report cedaw", "section Article 11 of report cedaw"."""
    where = f"report {filters.doc}" if filters.doc else "the reports"
    return f"section {filters.section} of {where}" if section and filters.section else where


def _no_such_section(corpus: Corpus, filters: Filters) -> BadFilter:
    wanted = filters.section or ""
    documents = [d for doc_id, d in corpus.documents.items() if not filters.doc or doc_id == filters.doc]
    choices = nearest_sections(wanted, [(s.label, s.title) for d in documents for s in d.sections])
    elsewhere = sorted({p.doc_id for p in corpus.passages if _section_matches(p, wanted)})
    hint = f" ({wanted!r} is a section of {', '.join(elsewhere)})" if elsewhere else ""
    return BadFilter("section", f"no section of {_scope(filters, section=False)} matches {wanted!r}{hint}; "
                                f"the closest: {', '.join(choices)}", tuple(choices))


def nearest_sections(wanted: str, sections: list[tuple[str, str]], n: int = CHOICES_SHOWN) -> list[str]:
    """The section labels nearest to what was typed, by label ("Article 99" → "Article 9") or by heading
    ("educaton" → the section headed "Education"); ties keep the reports' order."""
    typed = utils.default_process(_ARTICLE_ABBREVIATION.sub("Article ", wanted))
    best: dict[str, float] = {}
    for label, title in sections:
        score = fuzz.ratio(typed, utils.default_process(label))
        if title != label:
            score = max(score, fuzz.WRatio(typed, utils.default_process(title)))
        best[label] = max(best.get(label, 0.0), score)
    ranked = sorted(best, key=lambda label: -best[label])  # stable: equal scores stay in reading order
    return ranked[:n]


def _no_such_observation(passages: list[Passage], filters: Filters) -> BadFilter:
    wanted = _observation(filters.concluding_observation or "")
    addressed = sorted({r for p in passages for r in p.concluding_observations}, key=_observation_order)
    where = _scope(filters, section=True)
    if not addressed:
        return BadFilter("co", f"no passage of {where} answers any concluding observation; drop the filter")
    number = _OBSERVATION_NUMBER.search(wanted)
    nearest = addressed if number is None else sorted(
        addressed, key=lambda r: abs(_observation_order(r)[0] - int(number.group())))
    shown = sorted(nearest[:CHOICES_SHOWN], key=_observation_order)
    return BadFilter("co", f"no passage of {where} answers concluding observation {wanted!r}; {len(addressed)} are "
                           f"answered there, the nearest: {', '.join(shown)}", tuple(shown))


def _observation_order(ref: str) -> tuple[int, str]:
    """"36(e)" → (36, "(e)"): numbers in numeric order."""
    number = _OBSERVATION_NUMBER.match(ref)
    return (int(number.group()), ref[number.end():]) if number else (0, ref)
