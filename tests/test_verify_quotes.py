"""Verify a quote as readers trim it, on the real reports (fast tier: quote lookup embeds nothing, so the index
is ``fake_searcher``'s). An ellipsis splits a quote into parts that must each stand verbatim, in order, close
together ("verbatim in parts"); punctuation and quotation marks at a quote's ends do not count against it; each
result carries one verdict, said once in the CLI's text and once in the web app's HTML."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape

import pytest

from reportrag.answers.citations import (
    CLOSE,
    FLOOR,
    NOT_FOUND,
    VERBATIM,
    VERBATIM_IN_PARTS,
    Citations,
    format_text,
)
from reportrag.answers.citations.quote_parts import NEIGHBOUR_PARAGRAPHS, split_at_ellipses
from reportrag.answers.quotes import normalized
from reportrag.core.records import Span
from reportrag.skins.web import quote_html

ELLIPSES = ["…", "...", "[…]", "[...]"]
NUMBER = re.compile(r"(?<![\d,.])\d+(?![\d,.]*\d)")  # a whole figure: "116", not the "1" of "1,788"
TERNS = "The migratory patterns of arctic terns span both poles and cover seventy thousand kilometres each year."


@dataclass(frozen=True)
class Passage:
    """Three consecutive sentences of one paragraph; the first and last stand once in the reports."""

    doc_id: str
    spans: tuple[Span, Span, Span]
    texts: tuple[str, str, str]

    @property
    def first(self) -> str:
        return self.texts[0]

    @property
    def last(self) -> str:
        return self.texts[2]


@pytest.fixture(scope="module")
def citations(fake_searcher) -> Citations:
    return Citations(fake_searcher.corpus)


@pytest.fixture(scope="module")
def passage(fake_searcher, citations) -> Passage:
    """The first such passage of the CEDAW report whose last sentence holds a figure (to change)."""
    document = fake_searcher.documents["cedaw"]
    folded = citations.reports["cedaw"].normalized
    for p in (p for p in fake_searcher.passages if p.doc_id == "cedaw" and not p.duplicate_of):
        for spans in zip(p.sentences, p.sentences[1:], p.sentences[2:]):
            texts = tuple(document.text[s.start : s.end] for s in spans)
            if (_same_paragraph(document, spans) and all(60 < len(t) < 300 for t in texts)
                    and not any(mark in t for t in texts for mark in ("...", "…", "[", '"', "“", "”"))
                    and NUMBER.search(texts[2]) and folded.count(normalized(texts[0])) == 1
                    and folded.count(normalized(texts[2])) == 1):
                return Passage("cedaw", spans, texts)
    pytest.fail("no paragraph of the CEDAW report has three plain sentences")


def _same_paragraph(document, spans) -> bool:
    return len({next(p.number for p in document.paragraphs if p.start <= s.start < p.end) for s in spans}) == 1


def _changed(sentence: str) -> tuple[str, str, str]:
    """(the sentence with its first figure changed, the figure as pasted, the report's figure)."""
    figure = NUMBER.search(sentence).group()
    wrong = str(int(figure) + 1)
    return NUMBER.sub(wrong, sentence, count=1), wrong, figure


def _place(span: Span) -> tuple[int, int]:
    return span.start, span.end


# ---------------------------------------------------------------- quotes cut by ellipses


@pytest.mark.parametrize("mark", ELLIPSES)
def test_elided_quote_is_verbatim_in_parts_each_at_its_exact_place(fake_searcher, citations, passage, mark):
    document = fake_searcher.documents[passage.doc_id]
    match = citations.find_quote(f"{passage.first} {mark} {passage.last}")
    assert match.verdict == VERBATIM_IN_PARTS
    assert match.found and match.exact and match.similarity == 100.0 and not match.diff
    first, _, last = passage.spans
    assert [(p.place.start, p.place.end) for p in match.parts] == [_place(first), _place(last)]
    for part in match.parts:
        assert part.verbatim and document.text[part.place.start : part.place.end] == part.text
        assert normalized(part.text) == normalized(part.quote)
    # the place is the stretch the quote spans, elided sentence included
    assert [(p.place.start, p.place.end) for p in match.places] == [(first.start, last.end)]
    assert match.text == document.text[first.start : last.end]
    data = match.to_json()
    assert data["verdict"] == VERBATIM_IN_PARTS and data["exact"] and data["similarity"] == 100.0
    assert [(p["start"], p["end"], p["text"]) for p in data["parts"]] == [(*_place(first), passage.first),
                                                                      (*_place(last), passage.last)]


def test_elided_quote_in_quotation_marks_and_with_typed_punctuation(citations, passage):
    match = citations.find_quote(f"“{passage.first[:-1]}, […] {passage.last}”")
    assert match.verdict == VERBATIM_IN_PARTS
    assert match.parts[0].text == passage.first[:-1] and match.parts[1].text == passage.last


def test_a_changed_word_in_a_part_is_close_and_the_diff_marks_only_that_word(citations, passage):
    last, wrong, figure = _changed(passage.last)
    match = citations.find_quote(f"{passage.first} … {last}")
    assert match.verdict == CLOSE and match.found and not match.exact and FLOOR <= match.similarity < 100
    differing = [(d.op, d.quote.strip(".,;()"), d.report.strip(".,;()")) for d in match.diff
                 if d.op not in ("equal", "elided")]
    assert differing == [("replace", wrong, figure)]
    # every other word of the quote stands verbatim and is shown as equal, none struck
    equal = " ".join(d.quote for d in match.diff if d.op == "equal").split()
    assert equal == [w for w in f"{passage.first} {last}".split() if w.strip(".,;()") != wrong]
    elided = [d for d in match.diff if d.op == "elided"]
    assert len(elided) == 1 and elided[0].report == normalized(passage.texts[1])
    assert "[…]" in match.diff_text and f"[-{wrong}" in match.diff_text and f"{{+{figure}" in match.diff_text
    first_span, _, last_span = passage.spans
    assert [(p.place.start, p.place.end, p.verbatim) for p in match.parts] == [(*_place(first_span), True),
                                                                               (*_place(last_span), False)]


def test_parts_out_of_order_or_too_far_apart_are_not_verbatim_in_parts(fake_searcher, citations, passage):
    assert citations.find_quote(f"{passage.last} … {passage.first}").verdict != VERBATIM_IN_PARTS
    document = fake_searcher.documents[passage.doc_id]
    here = next(p.number for p in document.paragraphs if p.start <= passage.spans[0].start < p.end)
    far = document.paragraphs[here + NEIGHBOUR_PARAGRAPHS + 2]
    match = citations.find_quote(f"{passage.first} … {far.text}")
    assert match.verdict != VERBATIM_IN_PARTS and not match.exact


def test_split_at_ellipses():
    assert split_at_ellipses("A. ... B") == ["A.", "B"]  # the full stop before an ellipsis stays
    assert split_at_ellipses("A [...] B . . . C") == ["A", "B", "C"]
    assert split_at_ellipses("... A ...") == ["A"] and split_at_ellipses("...") == []
    assert split_at_ellipses("A ... , ... B") == ["A", "B"]  # a part of punctuation alone carries no words


# ---------------------------------------------------------------- a quote's ends


@pytest.mark.parametrize("pasted", [
    pytest.param(lambda s: s[:-1] + ",", id="comma-for-full-stop"),
    pytest.param(lambda s: s[:-1], id="no-full-stop"),
    pytest.param(lambda s: s + ",", id="extra-comma"),
    pytest.param(lambda s: f"“{s[:-1]},”", id="quoted-with-comma"),
    pytest.param(lambda s: f"{s}”", id="closing-quotation-mark-only"),
    pytest.param(lambda s: f"'{s}", id="opening-quotation-mark-only"),
    pytest.param(lambda s: f"… {s}", id="ellipsis-before"),
    pytest.param(lambda s: f"{s[:-1]} […]", id="ellipsis-after"),
])
def test_punctuation_and_quotation_marks_at_the_ends_do_not_count(fake_searcher, citations, passage, pasted):
    document = fake_searcher.documents[passage.doc_id]
    span = passage.spans[0]
    match = citations.find_quote(pasted(passage.first))
    assert match.verdict == VERBATIM and match.exact and match.similarity == 100.0 and not match.diff
    place = match.places[0].place
    assert place.start == span.start and span.end - 1 <= place.end <= span.end
    assert match.text == document.text[place.start : place.end] and passage.first.startswith(match.text)


def test_ordinary_quotes_keep_their_verdicts(citations, passage):
    exact = citations.find_quote(passage.first)
    assert exact.verdict == VERBATIM and not exact.note and not exact.parts and exact.text == passage.first
    changed, wrong, figure = _changed(passage.last)
    close = citations.find_quote(changed)
    assert close.verdict == CLOSE and not close.parts and close.text == passage.last
    assert [(d.op, d.quote.strip(".,;()"), d.report.strip(".,;()")) for d in close.diff if d.op != "equal"] == [
        ("replace", wrong, figure)]
    assert citations.find_quote(TERNS).verdict == NOT_FOUND


# ---------------------------------------------------------------- one verdict, said once


def _quote_for(verdict: str, passage: Passage) -> str:
    return {VERBATIM: passage.first, VERBATIM_IN_PARTS: f"{passage.first} […] {passage.last}",
            CLOSE: f"{passage.first} … {_changed(passage.last)[0]}", NOT_FOUND: TERNS}[verdict]


@pytest.mark.parametrize("verdict", [VERBATIM, VERBATIM_IN_PARTS, CLOSE, NOT_FOUND])
def test_one_verdict_in_the_cli_text(citations, passage, verdict):
    match = citations.find_quote(_quote_for(verdict, passage))
    assert match.verdict == verdict and match.to_json()["verdict"] == verdict
    text = format_text(match)
    assert text.startswith(f"verdict: {verdict} — ") and text.count("verdict:") == 1
    assert "(verified)" not in text and "NOT verified" not in text  # the places repeat no verdict of their own
    if verdict == VERBATIM_IN_PARTS:
        assert f"»{passage.first}«" in text and f"»{passage.last}«" in text and f"»{passage.texts[1]}" not in text


@pytest.mark.parametrize("verdict", [VERBATIM, VERBATIM_IN_PARTS, CLOSE, NOT_FOUND])
def test_one_verdict_in_the_web_html(citations, passage, verdict):
    match = citations.find_quote(_quote_for(verdict, passage))
    html = quote_html(match)
    assert re.findall(r'data-verdict="([^"]*)"', html) == [verdict] and html.count("rr-verdict-line") == 1
    assert "verified:" not in html and "NOT verified" not in html
    good_news = verdict in (VERBATIM, VERBATIM_IN_PARTS)  # green; the rest red; never both
    assert ("rr-ok" in html, "rr-bad" in html) == (good_news, not good_news)
    marked = [unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", html)]
    if verdict == VERBATIM_IN_PARTS:
        assert "Found verbatim in parts" in html and marked == [passage.first, passage.last]
    elif verdict == VERBATIM:
        assert "Found verbatim in 1 place." in html and marked == [passage.first]
    elif verdict == CLOSE:
        assert marked == [passage.first, passage.last] and 'class="rr-elided"' in html
