"""The plain data types that flow unchanged from ingest to the UI.

Offsets are the contract: for every record with ``start``/``end`` and ``text``,
``document.text[start:end] == text``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of canonical text copied from the source: ``text[start:start+length] == source[source_start:…]``."""

    start: int
    source_start: int
    length: int


@dataclass(frozen=True, slots=True)
class Section:
    """A heading and the stretch of canonical text it governs."""

    doc_id: str
    label: str  # short, stable handle: "VII.C", "Article 11", "Article 11, paragraph 1 (d)", "Part I.2"
    title: str  # the heading as written (cleaned)
    path: tuple[str, ...]  # titles from the top: ("Part II …", "Article 11. Employment", "Article 11, paragraph 1 (d)")
    level: int
    start: int  # start of the heading in canonical text
    end: int  # end of the section's last paragraph
    page: int | None = None  # the printed page the section starts on, where the report says (its contents list)


@dataclass(frozen=True, slots=True)
class Footnote:
    doc_id: str
    label: str  # "1", "2", … as in the source
    text: str
    paragraph: int  # number of the paragraph that references it
    offset: int  # canonical offset where the reference mark stood
    source_start: int  # where the footnote body stands in the original text
    source_end: int


@dataclass(frozen=True, slots=True)
class Paragraph:
    doc_id: str
    number: int  # stable ¶ number within the report, 1-based, body paragraphs only
    start: int
    end: int
    text: str
    section: tuple[str, ...]  # section path
    section_label: str
    concluding_observations: tuple[str, ...] = ()  # e.g. ("36(e)", "30(c)")
    duplicate_of: int | None = None  # ¶ number of the paragraph this one repeats (sidebar copies)
    footnotes: tuple[str, ...] = ()  # labels of footnotes referenced here
    # the concluding observations this paragraph responds to: its own refs plus those of the "With regard to …"
    # paragraph that opens its block or the "Thus, paragraph … is being fulfilled" one that closes it
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrievable, citable chunk: whole sentences of one section."""

    passage_id: str
    doc_id: str
    section: tuple[str, ...]
    section_label: str
    paragraphs: tuple[int, ...]
    start: int
    end: int
    text: str
    sentences: tuple[Span, ...]  # absolute canonical spans
    concluding_observations: tuple[str, ...] = ()
    duplicate_of: str | None = None  # passage_id of the original this one repeats

    @property
    def paragraph(self) -> int:
        return self.paragraphs[0]


@dataclass(frozen=True, slots=True)
class SourceText:
    """What a loader returns: the text as extracted from the file, before cleaning."""

    text: str
    source_format: str  # "txt", "md", "docx", "pdf", "html"
    path: str
    # Markdown / HTML / DOCX loaders mark headings they know for sure: (start, end, level) in ``text``.
    headings: tuple[tuple[int, int, int], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class ReportInfo:
    """What the manifest says of a report."""

    doc_id: str
    title: str
    short_title: str
    issuer: str
    period: str
    source_format: str
    original_file: str  # the file's name as it reached us
    file: str  # path of the bundled copy, relative to the manifest
    # for citing it in print (all optional: a user's own report has none of them)
    symbol: str = ""  # the document symbol, e.g. "CEDAW/C/KAZ/6"
    date: str = ""  # ISO date or year of issue, as far as the report itself says
    language: str = "en"
    source_url: str = ""  # a public address of the document, only where one can be justified
    publisher: str = ""
    answers: str = ""  # the document it responds to, e.g. the concluding observations "CEDAW/C/KAZ/CO/5"
    numbered_paragraphs: bool = False  # true: the report numbers its own paragraphs, and our ¶ equals its number


@dataclass(frozen=True, slots=True)
class Document:
    """A report after ingestion: its canonical text and everything that points into it."""

    info: ReportInfo
    sha256: str  # of the source file's bytes
    source_text: str  # the text as loaded, before cleaning (what ``segments`` map into)
    text: str  # canonical text
    segments: tuple[Segment, ...]
    sections: tuple[Section, ...]
    paragraphs: tuple[Paragraph, ...]
    footnotes: tuple[Footnote, ...]

    @property
    def doc_id(self) -> str:
        return self.info.doc_id

    def page_of(self, section_label: str) -> int | None:
        """The printed page the section labelled ``section_label`` starts on; None where the report does not say."""
        return next((s.page for s in self.sections if s.label == section_label and s.page), None)

    def paragraph_at(self, offset: int) -> Paragraph | None:
        """The paragraph holding a canonical offset, if any (paragraphs stand in text order, never overlapping: a
        bisection, where an answer citing many sentences of a long report used to walk them all per sentence)."""
        i = bisect.bisect_right(self.paragraphs, offset, key=lambda p: p.start) - 1
        return self.paragraphs[i] if i >= 0 and offset < self.paragraphs[i].end else None

    def page_at(self, start: int) -> int | None:
        """The page a canonical offset stands on, where the source marks its pages with form feeds (between a
        PDF's pages; at a DOCX's page breaks); None where it does not."""
        if "\f" not in self.source_text:
            return None
        i = bisect.bisect_right(self.segments, start, key=lambda s: s.start) - 1  # segments stand in text order
        if i < 0:
            return 1
        segment = self.segments[i]
        source = segment.source_start + min(start - segment.start, max(segment.length - 1, 0))
        return self.source_text.count("\f", 0, source) + 1

    def place(self, section: tuple[str, ...], section_label: str, paragraph: int, start: int, end: int,
              passage_id: str) -> Place:
        """A span of this report as a citation names it, with what printing it needs (symbol, page, numbering):
        the page it stands on where the source marks pages, else its section's first page where the report says."""
        return Place(doc_id=self.doc_id, doc_title=self.info.short_title, section=section,
                     section_label=section_label, paragraph=paragraph, start=start, end=end, passage_id=passage_id,
                     symbol=self.info.symbol, page=self.page_at(start) or self.page_of(section_label),
                     numbered=self.info.numbered_paragraphs)


def place_label(doc_title: str, section_label: str, paragraph: int) -> str:
    """Report, section (when there is one) and ¶: how a citation or a hit is named to a reader."""
    section = f", {section_label}" if section_label else ""
    return f"{doc_title}{section}, ¶{paragraph}"


ALSO_SHOWN = 5  # other places named in the text forms; the rest are counted (the JSON lists them all)


def places_line(places: list[tuple[str, str]], shown: int, *, at_least: bool = False, more: str = "") -> str:
    """(doc id, label) of other places as one line: the first ``shown`` named, the rest counted ("and 95 more
    places in 95 reports", then ``more``; ``at_least``: the list was cut), so a standard paragraph a hundred
    reports repeat does not fill the page."""
    named = "; ".join(label for _, label in places[:shown])
    rest = places[shown:]
    if not rest:
        return named
    reports = len({doc_id for doc_id, _ in rest})
    return (f"{named}; and {'at least ' if at_least else ''}{len(rest)} more place{'s' * (len(rest) > 1)} in "
            f"{reports} report{'s' * (reports > 1)}{more}")


_NUMBERED_SECTION = re.compile(r"[IVXLC]+(?:\.[A-Z0-9]+)*")  # "VII.E", "II": a bare number reads "sec. VII.E"


def print_label(name: str, section_label: str, paragraph: int, *, page: int | None = None,
                numbered: bool = False) -> str:
    """The citation as printed, checkable on paper: "CEDAW/C/KAZ/6, para. 180 (Article 5 (a))" where the report
    numbers its paragraphs itself; "Annual Review 2022, sec. VII.E, p. 19, para. 192 (counted)" where we count
    them. ``name``: the symbol, else the short title; "p." only where the page is known."""
    section = f"sec. {section_label}" if _NUMBERED_SECTION.fullmatch(section_label) else section_label
    pages = f", p. {page}" if page else ""
    if numbered:
        return f"{name}{pages}, para. {paragraph}" + (f" ({section})" if section else "")
    return f"{name}" + (f", {section}" if section else "") + f"{pages}, para. {paragraph} (counted)"


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved passage, its score and rank; ``also_at`` lists the other places the same text stands."""

    passage: Passage
    score: float
    rank: int
    doc_title: str
    also_at: tuple[Passage, ...] = ()

    @property
    def label(self) -> str:
        return place_label(self.doc_title, self.passage.section_label, self.passage.paragraph)

    def text_form(self, title_of: Callable[[str], str]) -> str:
        """As `reportrag search` prints it, with the other places the text stands (a sidebar copy, the same text in
        another report; ``title_of``: a report's short title by id)."""
        text = f"{self.rank:>2}. [{self.score:.3f}] {self.label}\n    {self.passage.text[:200]}"
        others = [(a.doc_id, place_label(title_of(a.doc_id), a.section_label, a.paragraph)) for a in self.also_at]
        return text + (f"\n    also at: {places_line(others, ALSO_SHOWN)}" if others else "")

    def to_json(self) -> dict:
        p = self.passage
        return {
            "passage_id": p.passage_id,
            "doc_id": p.doc_id,
            "doc_title": self.doc_title,
            "section": list(p.section),
            "section_label": p.section_label,
            "paragraph": p.paragraph,
            "start": p.start,
            "end": p.end,
            "text": p.text,
            "score": round(self.score, 6),
            "rank": self.rank,
            "also_at": [{"passage_id": a.passage_id, "doc_id": a.doc_id, "paragraph": a.paragraph,
                         "start": a.start, "end": a.end} for a in self.also_at],
        }


@dataclass(frozen=True, slots=True)
class Place:
    """Where a quote stands: report, section, ¶ paragraph and canonical offsets."""

    doc_id: str
    doc_title: str  # the report's short title
    section: tuple[str, ...]
    section_label: str
    paragraph: int
    start: int
    end: int
    passage_id: str
    symbol: str = ""  # the report's document symbol, "" when it has none
    page: int | None = None  # the printed page (a section's first page, where the report's contents list says)
    numbered: bool = False  # the report numbers its paragraphs itself (else ``paragraph`` is our count)

    @property
    def label(self) -> str:
        """The human-readable citation: "CEDAW sixth periodic report, Article 10 (e), ¶296"."""
        return place_label(self.doc_title, self.section_label, self.paragraph)

    @property
    def print_label(self) -> str:
        """The citation a reader can check in print: "CEDAW/C/KAZ/6, para. 180 (Article 5 (a))"."""
        return print_label(self.symbol or self.doc_title, self.section_label, self.paragraph, page=self.page,
                           numbered=self.numbered)

    def to_json(self) -> dict:
        return {
            "doc_id": self.doc_id,
            "doc_title": self.doc_title,
            "section": list(self.section),
            "section_label": self.section_label,
            "paragraph": self.paragraph,
            "start": self.start,
            "end": self.end,
            "passage_id": self.passage_id,
            "label": self.label,
            "print_label": self.print_label,
            "symbol": self.symbol or None,
            "page": self.page,
            "paragraph_numbered_by": "document" if self.numbered else "counted",
        }


@dataclass(frozen=True, slots=True)
class Citation:
    """One numbered quote of an answer. ``verified`` is true only when the report's canonical text from
    ``place.start`` to ``place.end`` is exactly ``quote`` (shown to readers as "verbatim ✓": it says where the quote
    stands, not that it is relevant); ``anchor`` survives re-chunking and re-ingestion."""

    n: int
    quote: str
    place: Place
    anchor: str  # "<doc_id>-p<paragraph>-<sha1 of the quote, 10 hex>"
    verified: bool
    score: float = 0.0
    also_at: tuple[Place, ...] = ()  # sidebar copies and other places the same sentence stands
    # the chance the quote answers the question (reportrag.answers.relevance), apart from ``verified``; None: unrated
    relevance: float | None = None

    @property
    def strength(self) -> str:
        """"strong", "moderate" or "weak" (from ``relevance``); "" when unrated."""
        if self.relevance is None:
            return ""
        return "strong" if self.relevance >= 0.6 else "moderate" if self.relevance >= 0.3 else "weak"

    def to_json(self) -> dict:
        return {
            "n": self.n,
            "quote": self.quote,
            **self.place.to_json(),
            "section": self.place.section_label,  # the contract's "section": the short label; the path is below
            "section_path": list(self.place.section),
            "anchor": self.anchor,
            "verified": self.verified,
            "verbatim": self.verified,  # the same fact, named for what it checks: the quote stands at these offsets
            "score": round(self.score, 6),
            "relevance": None if self.relevance is None else round(self.relevance, 3),
            "relevance_strength": self.strength,
            "also_at": [a.to_json() for a in self.also_at],
        }


@dataclass(frozen=True, slots=True)
class Statement:
    """A sentence of an answer and the citations it rests on (generated answers may carry unverified ones)."""

    text: str
    citations: tuple[int, ...]
    verified: bool
    doc_id: str = ""
    note: str = ""  # why a statement is not verified

    def to_json(self) -> dict:
        return {"text": self.text, "citations": list(self.citations), "verified": self.verified,
                "doc_id": self.doc_id, "note": self.note}


FILTER_FIELDS = ("doc", "section", "concluding_observation")  # an answer's JSON names each, null when not set


@dataclass(frozen=True, slots=True)
class Answer:
    """What ``ask`` returns: statements with numbered citations grouped by report, or an honest abstention with
    the closest passages."""

    question: str
    answered: bool
    statements: tuple[Statement, ...]
    citations: tuple[Citation, ...]
    closest: tuple[Hit, ...] = ()  # the passages searched (shown instead of an answer when abstaining)
    differences: tuple[str, ...] = ()  # where the reports give different figures, each side cited
    notes: tuple[str, ...] = ()  # a report the question asks for that the answer cannot quote, and why
    reason: str = ""  # why the reports do not appear to answer
    method: str = "extractive"  # or "generated:<model>"
    filters: tuple[tuple[str, str], ...] = ()  # the search filters that were set: (("doc", "cedaw"), …)
    scope: str = ""  # those filters in words: "CEDAW 6th periodic report, section Article 11"; "" when unfiltered
    language: str = ""  # the language a question not in English seems to be in (then the answer abstains)
    read_as: str = ""  # a follow-up as read with the question before it ("" when read as asked): answers/followup.py

    @property
    def text(self) -> str:
        """The answer as one text: quotes in reading order, each followed by its [n]; or the reason for abstaining."""
        if not self.answered:
            return self.reason
        return " ".join(f"“{s.text}” " + "".join(f"[{n}]" for n in s.citations) for s in self.statements)

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": not self.answered,
            "answered": self.answered,
            "method": self.method,
            "reason": self.reason,
            "statements": [s.to_json() for s in self.statements],
            "citations": [c.to_json() for c in self.citations],
            "differences": list(self.differences),
            "notes": list(self.notes),
            "closest": [h.to_json() for h in self.closest],
            "filters": {**dict.fromkeys(FILTER_FIELDS), **dict(self.filters)},
            "scope": self.scope,
            "question_language": self.language or None,
            "read_as": self.read_as or None,
        }
