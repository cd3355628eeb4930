"""References as people type them back to the report: "CEDAW Article 11, paragraph 1 (d)", "Article 11 (d)",
"review VII.C", "Part I" → a section with its paragraphs and passages; "concluding observations 36 (e)" → the
passages that answer that paragraph of the committee's concluding observations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from rapidfuzz import fuzz, process

from reportrag.answers.citations.paragraphs import paragraph_number, resolve_paragraph
from reportrag.answers.citations.places import CorpusView, Located, UnknownCitation, words_of
from reportrag.core.errors import BadQuery
from reportrag.core.records import Passage, Section
from reportrag.retrieval.rerank import query_references

# "CO 24(d)" but not "co-operation": "co" counts only before a number
_OBSERVATIONS = re.compile(r"concluding\s+observations?|recommendations?|\bcos?(?=\s*\d)", re.I)
_FILLER = re.compile(r"\b(?:the|of|in|on|section|sections|chapter|reports?)\b", re.I)
_NOT_REPORT_NAMES = {"report", "reports", "article", "paragraph", "part", "section", "concluding", "observations"}


@dataclass(frozen=True)
class Reference:
    """A section ("section") or the passages answering a paragraph of the concluding observations
    ("concluding_observations")."""

    kind: str
    query: str
    doc_id: str
    doc_title: str
    label: str  # "Article 11, paragraph 1 (d)", "VII.C", "36(e)"
    title: str  # the heading as written ("" for concluding observations)
    path: tuple[str, ...]
    paragraphs: tuple[int, ...]
    passages: tuple[Passage, ...]
    subsections: tuple[str, ...] = ()

    @property
    def paragraph_range(self) -> tuple[int, int] | None:
        return (min(self.paragraphs), max(self.paragraphs)) if self.paragraphs else None

    def to_json(self) -> dict:
        return {"kind": self.kind, "query": self.query, "doc_id": self.doc_id, "doc_title": self.doc_title,
                "label": self.label, "title": self.title, "path": list(self.path),
                "paragraph_range": list(self.paragraph_range or ()), "paragraphs": list(self.paragraphs),
                "subsections": list(self.subsections), "passages": [_passage_json(p) for p in self.passages]}


def _passage_json(p: Passage) -> dict:
    return {"passage_id": p.passage_id, "doc_id": p.doc_id, "section": list(p.section),
            "section_label": p.section_label, "paragraph": p.paragraph, "paragraphs": list(p.paragraphs),
            "start": p.start, "end": p.end, "text": p.text,
            "concluding_observations": list(p.concluding_observations), "duplicate_of": p.duplicate_of}


def resolve_reference(view: CorpusView, text: str, doc: str | None = None) -> Reference | Located:
    """"CEDAW Article 11, paragraph 1 (d)", "Article 11 (d)" (when only one paragraph has a (d)), "review VII.C",
    "Part I", "concluding observations 36 (e)" → the section and its passages, or the passages answering it;
    "review, VII.C, ¶167", "CEDAW/C/KAZ/6, para. 21 (counted)" → that paragraph (``paragraphs``)."""
    query = " ".join(str(text or "").split())
    if not query:
        raise BadQuery("cite: empty reference; type e.g. \"Article 11, paragraph 1 (d)\" or \"review VII.C\"")
    named, rest = _named_reports(view, query)
    doc_ids = [doc] if doc else (named or list(view.documents))
    for d in doc_ids:
        view.known(d, "--doc")  # folding every report of a large corpus only to check its id would take minutes
    if _OBSERVATIONS.search(rest):
        return _observations(view, query, rest, doc_ids)

    @cache  # read only when "paragraph N" follows an article: "Article 4, paragraph 1" may be a section's label
    def labels() -> set[str]:
        return {_key(s.label) for d in doc_ids for s in view.documents[d].sections}

    paragraph = paragraph_number(rest, lambda text: _key(text) in labels())  # "CEDAW/C/KAZ/6, para. 21", "review ¶167"
    if paragraph:
        return resolve_paragraph(view, query, rest, doc_ids, paragraph, _key)
    return _section(view, query, rest, doc_ids)


def _named_reports(view: CorpusView, query: str) -> tuple[list[str], str]:
    """The reports a reference names (doc id, a word only its short title has, or its full title), and the
    reference without those names."""
    owners: dict[str, set[str]] = {}
    for doc_id, document in view.documents.items():
        info = document.info
        names = {doc_id.lower(), info.title.lower(), info.short_title.lower(), info.symbol.lower()} - {""}
        for name in names | set(words_of(info.short_title)):
            if name == doc_id.lower() or (len(name) >= 4 and not name.isdigit() and name not in _NOT_REPORT_NAMES):
                owners.setdefault(name, set()).add(doc_id)
    names = sorted((n for n, ds in owners.items() if len(ds) == 1), key=len, reverse=True)  # whole titles first
    found: list[str] = []

    def drop(m: re.Match) -> str:
        found.append(next(iter(owners[m.group(0).lower()])))
        return " "

    if names:
        query = re.sub(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)", drop, query, flags=re.I)
    return list(dict.fromkeys(found)), " ".join(query.split())


def _observations(view: CorpusView, query: str, rest: str, doc_ids: list[str]) -> Reference:
    wanted = query_references(_OBSERVATIONS.sub(" concluding observations ", rest)).observations
    if not wanted:
        raise UnknownCitation(f"cite: {query!r} names no paragraph of the concluding observations; "
                              "type e.g. \"concluding observations 36 (e)\"")
    candidates = [p for p in view.passages if p.doc_id in doc_ids]
    answering = (p for p in candidates if any(_addresses(w, r) for w in wanted for r in p.concluding_observations))
    passages = sorted(answering, key=lambda p: (p.doc_id, p.start))
    label = ", ".join(sorted(wanted))
    if not passages:
        known = sorted({r for p in candidates for r in p.concluding_observations})
        near = [m[0] for m in process.extract(label, known, scorer=fuzz.ratio, limit=6)] if known else []
        raise UnknownCitation(f"cite: no passage answers paragraph {label} of the concluding observations; "
                              f"nearest answered: {', '.join(near) or 'none'}")
    doc_id = passages[0].doc_id if len({p.doc_id for p in passages}) == 1 else ""
    title = view.documents[doc_id].info.short_title if doc_id else ""
    paragraphs = tuple(sorted({n for p in passages for n in p.paragraphs}))
    return Reference("concluding_observations", query, doc_id, title, label, "", (), paragraphs, tuple(passages))


def _addresses(wanted: str, ref: str) -> bool:
    return ref == wanted or ("(" not in wanted and ref.split("(")[0] == wanted)  # "36" covers "36(e)"


def _key(label: str) -> str:
    """Labels compared as typed: case, spaces, commas and "para." don't matter ("article 11 para 1(d)")."""
    label = re.sub(r"\bpara(?:graph)?\b\.?", "paragraph", label.lower())
    return re.sub(r"[\s,]+", "", label).rstrip(".")


def _section(view: CorpusView, query: str, rest: str, doc_ids: list[str]) -> Reference:
    sections = [s for d in doc_ids for s in view.documents[d].sections]
    bare = " ".join(_FILLER.sub(" ", rest).split())
    key = _key(bare)
    if not key:
        raise UnknownCitation(f"cite: {query!r} names a report but no section; type e.g. \"review VII.C\"")
    tries = (
        lambda: [s for s in sections if _key(s.label) == key],
        # "Part VII" of the review is labelled "VII"
        lambda: [s for s in sections if _key(s.label) == re.sub(r"^part", "", key)],
        lambda: _article_item(sections, bare),
        lambda: _by_title(sections, rest),
    )
    matches = next((m for m in (t() for t in tries) if m), [])
    labels = list(dict.fromkeys((s.doc_id, s.label) for s in matches))
    if len(labels) > 1:
        listed = "; ".join(f"{d} {label}" for d, label in labels[:8])
        raise UnknownCitation(f"cite: {query!r} could mean {listed}; type the one you mean")
    if not labels:
        # nearest by the typed form of the label ("article99" is near "article9"), not by raw text
        choices = {f"{s.doc_id} {s.label}": _key(s.label) for s in sections}
        near = [m[2] for m in process.extract(key, choices, scorer=fuzz.ratio, limit=5)]
        raise UnknownCitation(f"cite: no section {query!r}; nearest: {', '.join(near)}. Passage ids, anchors and "
                              "\"concluding observations 36 (e)\" work too; `reportrag doc DOC_ID` lists every section")
    main = min((s for s in matches if (s.doc_id, s.label) == labels[0]), key=lambda s: (s.level, s.start))
    return _section_reference(view, query, main)


def _article_item(sections: list[Section], bare: str) -> list[Section]:
    """"Article 11 (d)": the one "Article 11, paragraph N (d)" there is (several → ambiguous, reported)."""
    m = re.fullmatch(r"article\s*(\d+)\s*\(?([a-z])\)?", bare.strip(), re.I)
    if not m:
        return []
    pattern = re.compile(rf"Article {m[1]}, paragraph \d+ \({m[2].lower()}\)")
    return [s for s in sections if pattern.fullmatch(s.label)]


def _by_title(sections: list[Section], rest: str) -> list[Section]:
    """A section named by its heading ("gender equality"): near-exact words of one heading only."""
    wanted = rest.strip().lower()
    if len(wanted) < 8:
        return []
    scored = [(fuzz.partial_ratio(wanted, s.title.lower()), s) for s in sections if len(s.title) >= len(wanted)]
    best = max((score for score, _ in scored), default=0)
    return [s for score, s in scored if score == best] if best >= 95 else []


def _section_reference(view: CorpusView, query: str, main: Section) -> Reference:
    document = view.documents[main.doc_id]

    def inside(path) -> bool:  # the section and its subsections
        return tuple(path[: len(main.path)]) == tuple(main.path)

    paragraphs = tuple(p.number for p in document.paragraphs if inside(p.section))
    passages = tuple(p for p in view.reports[main.doc_id].passages if inside(p.section))
    subsections = tuple(dict.fromkeys(s.label for s in document.sections
                                      if inside(s.path) and len(s.path) > len(main.path) and s.label != main.label))
    return Reference("section", query, main.doc_id, document.info.short_title, main.label, main.title,
                     tuple(main.path), paragraphs, passages, subsections)
