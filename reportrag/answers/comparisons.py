"""Like with like: where the two reports give different figures for the same measure.

Two quotes from different reports sharing a few words and giving different numbers are not a conflict: district
and provincial courts, 2019 and 2021, "articles 14, 2, 1" are different things. A figure of each report is compared
only when both measure the same thing:

- the **same unit**: a percentage with a percentage ("%", "percent" and "per cent" alike), a rank with a rank, a
  rate with a rate per the same base, a sum with a sum of the same currency, a count with a count of the same
  things ("46 crisis centres", "49 crisis centres");
- the **same subject**: the words of each figure's clause share at least three words or kinds, and no kind clashes —
  women/men, candidates/elected deputies/voters/judges, district/provincial/Supreme Court, Mazhilis/Senate/
  maslikhats/the whole Parliament, rural/urban. A clause that does not say whose figure it gives takes the kind
  from the rest of its sentence, the sentence before, its section's first sentence or its title ("Representation
  in the Mazhilis … is 27.1 percent" is about women only in the sentence before; "18 (18.37 per cent) of the 98
  elected deputies of the Parliament" is about the Majilis in the section that opens with the Majilis elections);
- the **same period** where both state one: figures for 2019 and for 2021 are noted as figures for different years,
  never as a conflict.

Years, dates, article, paragraph, law and resolution numbers, list markers and telephone numbers are not figures.
Each figure is compared with at most one of the other report's, its best match: "27.1 percent in the Mazhilis and
18.8 percent in the Senate" against "18 (18.37 per cent) of the 98 elected deputies" compares 27.1 with 18.37.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reportrag.index.keyword import tokenize

if TYPE_CHECKING:
    from reportrag.core.records import Citation, Document
    from reportrag.core.settings import AnswerSettings
    from reportrag.retrieval.search import Searcher

MIN_SHARED = 3  # words and kinds two figures' clauses must share to measure the same thing

_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
           "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec")
_NUMBER = re.compile(r"(?<![\w.,/+-])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(st|nd|rd|th)?(?![\w]|[.,]\d)")
_YEAR = re.compile(r"(?:19|20)\d\d")
# what makes a number a label, not a figure: "article 120", "paragraph 26", "Act No. 361", "resolutions 1325"
_REFERENCE_BEFORE = re.compile(
    r"(?:\b(?:articles?|arts?\.|paragraphs?|paras?\.|subparagraphs?|clauses?|chapters?|sections?|parts?|items?|"
    r"points?|annex(?:es)?|tables?|figures?|pages?|pp?\.|numbers?|resolutions?|decisions?|orders?|decrees?|"
    r"protocols?|goals?|targets?|SDGs?|conventions?|recommendations?|acts?|laws?|codes?|ILO)|\bNos?\.)\s*(?:No\.?\s*)?$",
    re.I)
_LIST_GOES_ON = re.compile(r"^\s*,?\s*(?:\([^()]{0,160}\))?\s*,?\s*(?:and|or|&)?\s*$")  # "120 (Rape), 121", "1325 (2000), 1820"
_DATE_BEFORE = re.compile(rf"\b(?:{_MONTHS})\.?\s*$")
_DATE_AFTER = re.compile(rf"^\s*(?:{_MONTHS})\b")
_JOINED = re.compile(r"^\s?[-–/]\s?[\dA-Z]")  # "361-VI", "58-00-58", "1/2"
_PERCENT = re.compile(r"^\s*\)?\s*(?:%|percent\b|per\s*cent\b)", re.I)
_RATE = re.compile(r"^\s*per\s+(\d{1,3}(?:,\d{3})+|\d+)\b", re.I)
_MONEY = re.compile(r"^\s*(million|billion|thousand|trillion)?\s*(tenge|KZT|US\s*dollars|dollars|USD|euros?|roubles?)\b",
                    re.I)
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_RANK_BEFORE = re.compile(r"\b(?:ranked|ranking|rank|place[ds]?|position)\s*(?:of\s+|at\s+)?$", re.I)
# questions whose answer is a figure, or a comparison of the two reports
_COMPARING = re.compile(r"\b(?:compar\w*|both\s+reports|(?:two|each|either)\s+reports?|differ(?:s|ences?)?|how\s+(?:many|much)|"
                        r"percentage|proportion|share\s+of|number\s+of|rate\s+of)\b", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+")
_CLAUSES = re.compile(r";|,\s+(?:and|while|whereas|but)\s+|\.\s+")

# kinds of subject that must not clash: (kind, value) for each word that names one
_KINDS = {
    **dict.fromkeys(("women", "woman", "female", "females", "girls", "girl", "mothers"), ("sex", "f")),
    **dict.fromkeys(("men", "man", "male", "males", "boys", "boy", "fathers"), ("sex", "m")),
    **dict.fromkeys(("candidates", "candidate"), ("role", "candidate")),
    **dict.fromkeys(("deputies", "deputy", "representation", "seats", "elected", "parliamentarians"), ("role", "elected")),
    **dict.fromkeys(("voters", "voter", "electorate"), ("role", "voter")),
    **dict.fromkeys(("judges", "judge", "judiciary"), ("role", "judge")),
    **dict.fromkeys(("mazhilis", "majilis", "majlis", "mazhilisi"), ("body", "mazhilis")),
    **dict.fromkeys(("senate", "senators", "senator"), ("body", "senate")),
    **dict.fromkeys(("maslikhats", "maslikhat", "maslikhatas"), ("body", "maslikhat")),
    **dict.fromkeys(("parliament", "parliamentary"), ("body", "parliament")),
    # a party's share of its own deputies is not a chamber's: "8 (20 per cent) of the 40 deputies from the Amanat party"
    **dict.fromkeys(("party", "parties", "faction", "factions", "amanat"), ("body", "party")),
    **dict.fromkeys(("district",), ("body", "district")),
    **dict.fromkeys(("provincial", "regional", "oblast"), ("body", "provincial")),
    **dict.fromkeys(("supreme",), ("body", "supreme")),
    **dict.fromkeys(("rural", "village", "villages", "countryside"), ("area", "rural")),
    **dict.fromkeys(("urban", "cities", "towns"), ("area", "urban")),
}
_SPELLINGS = {"center": "centre", "centers": "centres", "program": "programme", "programs": "programmes",
              "labor": "labour", "defense": "defence", "majilis": "mazhilis", "organization": "organisation",
              "organizations": "organisations"}
_SPELLING = re.compile(r"\b(?:" + "|".join(_SPELLINGS) + r")\b", re.I)
_KIND_STEMS = set(tokenize(" ".join(_KINDS)))
_PARTS_OF = {"parliament": {"mazhilis", "senate"}}  # "the Parliament" narrows to the one chamber its context names
_GENERIC = set(tokenize(
    "percent per cent number numbers share total kazakhstan kazakh country countries year years data according today "
    "currently current figure level amount proportion reached reach account accounted make made among also including "
    "respectively approximately about almost more less than over under out first second months month time times people "
    "persons person figure rate rates ranked rank ranking place was were is are been be being who which whom other "
    "has have had stood held there their its from when all then into with within this that these those one two three "
    "four five six seven eight nine ten order " + _MONTHS.replace("|", " ")
))


@dataclass(frozen=True)
class Figure:
    """A number that measures something, with what it measures."""

    written: str  # as the report writes it, with its unit: "27.1 percent", "18.37 per cent", "62nd", "46"
    value: float
    decimals: int
    unit: str  # "percent", "rank", "per 100000", "money:tenge", "count"
    counted: frozenset[str]  # for a count, the stems of what it counts ("crisi", "centr")
    words: frozenset[str]  # the stems of its clause, kind words and generic words aside
    kinds: frozenset[tuple[str, str]]  # ("sex", "f"), ("body", "mazhilis") …
    year: str  # the year its clause gives it for (the nearest), "" when none


def figures(sentence: str, context: tuple[str, ...] = ()) -> list[Figure]:
    """The figures of a sentence; ``context`` (the sentence before, the section title) lends a clause the kinds
    it does not state."""
    out = []
    last_reference = -1
    clauses = _spans(sentence)
    for m in _NUMBER.finditer(sentence):
        before, after = sentence[max(0, m.start() - 40) : m.start()], sentence[m.end() : m.end() + 40]
        between = sentence[last_reference : m.start()] if last_reference >= 0 else None
        if _REFERENCE_BEFORE.search(before) or (between is not None and _LIST_GOES_ON.match(between)):
            last_reference = m.end()
            continue
        if _not_a_figure(m, before, after, sentence):
            continue
        start, end = next(((a, b) for a, b in clauses if a <= m.start() < b), (0, len(sentence)))
        out.append(_figure(m, after, sentence, (start, end), context))
    return out


def _not_a_figure(m: re.Match, before: str, after: str, sentence: str) -> bool:
    """Years (periods, not figures), dates, "361-VI", telephone numbers, list markers ("1)", "2. ")."""
    text = m.group(0)
    if _YEAR.fullmatch(text) and not _PERCENT.match(after):
        return True
    if _DATE_BEFORE.search(before) or _DATE_AFTER.match(after) or _JOINED.match(after) or re.search(r"[-–/]$", before):
        return True
    if (before.endswith("(") and after.startswith(")") and not _PERCENT.match(after[1:])) or re.match(r"\s*\(\d{3,}\)", after):
        return True  # "8 (7172) 58-00-58", "(2000)"
    if re.search(r"\bper\s*$", before, re.I):
        return True  # the base of a rate: "12.7 per 100,000"
    clause_start = not before.strip() or re.search(r"[;:\n]\s*\(?$", before)
    return bool(clause_start and re.match(r"^[.)]\s", after)) or len(m.group(1).replace(",", "")) > 9


def _figure(m: re.Match, after: str, sentence: str, clause: tuple[int, int], context: tuple[str, ...]) -> Figure:
    number, fraction, ordinal = m.group(1), m.group(2) or "", m.group(3) or ""
    value = float(number.replace(",", "") + fraction)
    written, counted = m.group(0), frozenset()
    if ordinal or _RANK_BEFORE.search(sentence[max(0, m.start() - 30) : m.start()]):
        unit = "rank"
    elif percent := _PERCENT.match(after):
        unit, written = "percent", m.group(0) + after[: percent.end()].rstrip(")")
    elif rate := _RATE.match(after):
        unit, written = f"per {rate.group(1).replace(',', '')}", m.group(0) + after[: rate.end()]
    elif money := _MONEY.match(after):
        unit, written = f"money:{money.group(2).lower()}", m.group(0) + after[: money.end()]
        value *= _SCALE.get((money.group(1) or "").lower(), 1.0)
    else:
        unit, scale = "count", re.match(r"^\s*(thousand|million|billion)\b", after, re.I)
        value *= _SCALE[scale.group(1).lower()] if scale else 1.0
        follows = re.match(r"\s+((?:[A-Za-z][\w’'-]*\s+)?[A-Za-z][\w’'-]*)", after)  # "46 crisis centres"
        counted = frozenset(t for t in _stems(follows.group(1) if follows else "") if t not in _GENERIC)
    text = sentence[clause[0] : clause[1]]
    kinds = _kinds_of(text)
    for fallback in (sentence, *context):  # a kind the clause does not state, from where the figure stands
        kinds |= _lent(kinds, fallback)
    words = frozenset(t for t in _stems(text)
                      if t not in _GENERIC and t not in _KIND_STEMS and not t[0].isdigit() and len(t) > 2)
    return Figure(written, value, len(fraction) - 1 if fraction else 0, unit, counted, words, frozenset(kinds),
                  _year_near(sentence, clause, m.start()))


def _stems(text: str) -> list[str]:
    """Keyword-index stems, one spelling for words the two reports spell differently ("centers", "centres")."""
    return tokenize(_SPELLING.sub(lambda m: _SPELLINGS[m.group(0).lower()], text))


def _spans(sentence: str) -> list[tuple[int, int]]:
    cuts = [0] + [m.end() for m in _CLAUSES.finditer(sentence)] + [len(sentence)]
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def _kinds_of(text: str) -> set[tuple[str, str]]:
    return {_KINDS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in _KINDS}


def _lent(kinds: set[tuple[str, str]], text: str) -> set[tuple[str, str]]:
    """The kinds ``text`` lends a figure: of each kind the figure does not state, the one value ``text`` states
    (none when it states several); a figure for "the Parliament" takes the one chamber ``text`` names."""
    stated: dict[str, set[str]] = {}
    for kind, value in kinds:
        stated.setdefault(kind, set()).add(value)
    offered: dict[str, set[str]] = {}
    for kind, value in _kinds_of(text):
        offered.setdefault(kind, set()).add(value)
    out = set()
    for kind, values in offered.items():
        have = stated.get(kind, set())
        if have - set(_PARTS_OF):
            continue  # stated, and not as a whole that a part may narrow
        choices = values & {part for v in have for part in _PARTS_OF[v]} if have else values - set(_PARTS_OF)
        if len(choices) == 1:
            out |= {(kind, value) for value in choices | (values & set(_PARTS_OF) if not have else set())}
    return out


def _year_near(sentence: str, clause: tuple[int, int], at: int) -> str:
    """The year a figure is given for: the one in its part of the clause when the clause gives several ("62nd …
    in 2023, 65th … in 2022"), the nearest otherwise (one after it before one as far before it)."""
    start, end = clause
    if len(_YEAR.findall(sentence, start, end)) > 1:
        cuts = [start] + [start + m.end() for m in re.finditer(r",\s*(?:and\s+)?|\s+and\s+|[()]", sentence[start:end])] + [end]
        part = next(((a, b) for a, b in zip(cuts, cuts[1:]) if a <= at < b), clause)
        if _YEAR.search(sentence, *part):
            start, end = part
    years = [(abs(m.start() - at) - (0.5 if m.start() > at else 0), m.group(0)) for m in _YEAR.finditer(sentence, start, end)]
    return min(years)[1] if years else ""


def _compatible(a: frozenset[tuple[str, str]], b: frozenset[tuple[str, str]]) -> bool:
    """No kind clashes: where both state a sex, a role, a body or an area, they state the same. "The Mazhilis of
    the Parliament" is the Mazhilis: a whole counts only where none of its parts is named, so a figure for the
    whole Parliament never meets one for its lower house."""
    for kind in {k for k, _ in a} & {k for k, _ in b}:
        if not _specific({v for k, v in a if k == kind}) & _specific({v for k, v in b if k == kind}):
            return False
    # a figure for a named body (the maslikhats, a district court) never meets one that names no body ("local
    # government bodies"): the second may count something else
    return ("body" in {k for k, _ in a}) == ("body" in {k for k, _ in b})


def _specific(values: set[str]) -> set[str]:
    return {v for v in values if not set(_PARTS_OF.get(v, ())) & values}


def likeness(a: Figure, b: Figure) -> int:
    """How surely two figures measure the same thing: shared words and kinds (and year); 0 when they cannot."""
    if a.unit != b.unit or not _compatible(a.kinds, b.kinds):
        return 0
    if a.unit == "count" and not (a.counted and b.counted and a.counted & b.counted):
        return 0
    shared = len((a.words | a.counted) & (b.words | b.counted)) + len(a.kinds & b.kinds)
    return shared + (a.year == b.year != "") if shared >= MIN_SHARED else 0


def agree(a: Figure, b: Figure) -> bool:
    """The same value, as precisely as the less precise of the two gives it (18.37 and 18.4 agree)."""
    places = min(a.decimals, b.decimals)
    return round(a.value, places) == round(b.value, places)


def compare(a: list[Figure], b: list[Figure], *, indices: bool = False) -> list:
    """Pairs of figures that measure the same thing, each figure in one pair at most (the best matches first);
    with ``indices``, their positions in ``a`` and ``b`` instead."""
    scored = sorted(((likeness(x, y), i, j) for i, x in enumerate(a) for j, y in enumerate(b)), key=lambda t: -t[0])
    used_a, used_b, pairs = set(), set(), []
    for score, i, j in scored:
        if score and i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((i, j) if indices else (a[i], b[j]))
    return pairs


def differences(searcher: Searcher, citations: tuple[Citation, ...]) -> tuple[str, ...]:
    """Where the two reports give different figures for the same measure, each side cited; where they give the
    same measure for different years, that instead (both figures, no conflict claimed). Every figure of one
    report's quotes is matched with at most one of the other's, over the whole answer: a figure one report gives
    twice ("280 female investigators", then "361 … assigned") is compared with the other report's "280" once."""
    by_doc: dict[str, list[tuple[Citation, Figure]]] = {}
    for c in citations:
        context = _context(searcher.documents[c.place.doc_id], c)
        side = by_doc.setdefault(c.place.doc_id, [])
        given = {(f.value, f.unit, f.year) for _, f in side}
        side.extend((c, f) for f in figures(c.quote, context) if (f.value, f.unit, f.year) not in given)  # once
    sides = [by_doc.get(doc_id, []) for doc_id in dict.fromkeys(c.place.doc_id for c in citations)]
    if len(sides) < 2:
        return ()
    notes = []
    for i, j in compare([f for _, f in sides[0]], [f for _, f in sides[1]], indices=True):
        (a, x), (b, y) = sides[0][i], sides[1][j]
        if x.year and y.year and x.year != y.year:
            notes.append(f"The reports give figures for different years: {_side(a, x)}; {_side(b, y)}.")
        elif not agree(x, y):
            notes.append(f"The reports give different figures for the same measure: {_side(a, x)}; {_side(b, y)}.")
    return tuple(dict.fromkeys(notes))


def _side(c: Citation, f: Figure) -> str:
    return f"{c.place.doc_title} [{c.n}] says {f.written}" + (f" ({f.year})" if f.year else "")


def _context(document: Document, c: Citation) -> tuple[str, ...]:
    """Where a quote's figures may take the subject it leaves unsaid, nearest first: the sentence before it, the
    first sentence of its section ("… the elections for the Majilis … in 2023" opens the section whose "98 elected
    deputies of the Parliament" it is about), its section's titles."""
    before = document.text[max(0, c.place.start - 600) : c.place.start].strip()
    previous = _SENTENCE_END.split(before)[-1] if before else ""
    opening = next((p.text for p in document.paragraphs if p.section == c.place.section), "")
    first = _SENTENCE_END.split(opening)[0] if opening else ""
    return (previous, "" if first in c.quote else first, *reversed(c.place.section))


def with_other_report(question: str, chosen: list, sentences: list, settings: AnswerSettings) -> list:
    """For a question asking for a comparison or a figure, ``chosen`` (the best sentences, best first) with the
    other report's best sentence when it is within ``other_report_margin`` of the best one but the quotes filled
    up before it came: in its place, the last (weakest) quote. Without it, a question both reports answer ("What
    percentage of Mazhilis deputies are women?": five CEDAW sentences, then the review's 27.1 percent) quotes one
    side, and no comparison is noted. Other questions are left alone: one that names a report's section wants
    that report only."""
    if not chosen or not _COMPARING.search(question):
        return chosen
    quoted = {s.passage.doc_id for s in chosen}
    other = next((s for s in sentences if s.passage.doc_id not in quoted), None)
    if other is None or other.score < chosen[0].score - settings.other_report_margin:
        return chosen
    kept = chosen[: settings.max_quotes - 1] if len(chosen) >= settings.max_quotes else chosen
    return [*kept, other]
