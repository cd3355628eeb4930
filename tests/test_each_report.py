"""A question asking to hear from each report is answered from each (reportrag/answers/each_report.py): which
questions ask it, how a report's best sentence joins the quotes, and on the real reports, both sides quoted."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from reportrag.answers import export
from reportrag.answers import extractive as answering
from reportrag.answers.each_report import Pick, asked_of_one, pick, quoted, reports_asked, unquoted
from reportrag.core.settings import AnswerSettings
from reportrag.retrieval.search import Filters
from reportrag.skins.web.html import answer_html, esc
from tests.checks import check_citations

SENATE = "How many women are in the Senate according to each report?"


@pytest.mark.parametrize("question", [
    SENATE,
    "What do both reports say about the death penalty?",
    "Compare the figures on women in Parliament in the two reports",
    "How do the reports' figures on crisis centres compare?",
    "The review says 44.8 percent of judges are women and the CEDAW report says 54.7 per cent: which is right?",
    "What does the other report say about shelters?",
    "What share of the Mazhilis deputies are women, and do the reports differ?",
    "Do the reports agree on crisis centres?",
])
def test_a_question_naming_both_reports_or_each_asks_for_each(fake_searcher, question):
    assert set(reports_asked(question, fake_searcher, Filters())) == {"review", "cedaw"}


@pytest.mark.parametrize("question", [
    "What does the review say about shelters?",  # one report named
    "How many women are judges?",
    "When did Kazakhstan present its second Voluntary National Review?",  # "Review" names a report only with another
])
def test_other_questions_ask_for_no_report_in_particular(fake_searcher, question):
    assert reports_asked(question, fake_searcher, Filters()) == ()


def test_a_report_filter_overrules_each_report(fake_searcher):
    assert reports_asked(SENATE, fake_searcher, Filters(doc="cedaw")) == ()


def _sentence(doc: str, score: float) -> SimpleNamespace:
    return SimpleNamespace(passage=SimpleNamespace(doc_id=doc), score=score)


def test_each_report_s_pick_takes_the_place_of_the_weakest_quote_of_a_report_quoted_twice():
    settings = AnswerSettings(max_quotes=3)
    a1, a2, a3 = _sentence("cedaw", 0.9), _sentence("cedaw", 0.6), _sentence("cedaw", 0.5)
    other = Pick(_sentence("review", 0.45), 0.4)
    assert quoted([a1, a2, a3], {"cedaw": Pick(a1, 0.4), "review": other}, settings) == [a1, a2, other.sentence]
    assert quoted([a1], {"review": other}, settings) == [a1, other.sentence]
    # below its floor, or failing the evidence check, a report's pick is not quoted
    assert quoted([a1], {"review": Pick(_sentence("review", 0.3), 0.4)}, settings) == [a1]
    assert quoted([a1], {"review": Pick(reason="The reports do not appear to address this: …")}, settings) == [a1]


def test_a_pick_that_carries_what_the_question_names_is_held_to_the_answer_floor(fake_searcher):
    """The sentence giving the Senate's share is the pick over a closer one on the civil service, and the evidence
    check vouching for it, it needs only the relevance a whole answer needs."""
    settings = AnswerSettings(min_answer_relevance=0.15, min_relevance=0.4)
    passage = next(p for p in fake_searcher.passages if "in the Senate – 18.8 percent" in p.text)
    document = fake_searcher.documents["review"]
    sentences = sorted((SimpleNamespace(passage=passage, span=span, text=document.text[span.start:span.end],
                                        score=0.5 if "civil service" in document.text[span.start:span.end] else 0.3)
                        for span in passage.sentences), key=lambda s: -s.score)
    chosen = pick("What share of the Senate are women?", sentences, "", fake_searcher, settings)
    assert "Senate" in chosen.sentence.text and chosen.least == 0.15
    unnamed = pick("What share of senators are women?", sentences, "", fake_searcher, settings)
    assert unnamed.sentence is sentences[0] and unnamed.least == 0.4
    assert pick("What share of the Senate are women?", sentences, "no", fake_searcher, settings) == Pick(reason="no")


def test_a_report_asked_for_and_not_quoted_is_named_with_why(fake_searcher):
    a1 = _sentence("cedaw", 0.9)
    why = "The reports do not appear to address this: no passage found speaks of GRECO together with the rest."
    assert unquoted(("cedaw", "review"), {"review": Pick(reason=why)}, [a1], fake_searcher.documents) == (
        "Annual Review 2022 does not appear to address this: no passage found speaks of GRECO together with the rest.",)
    weak = {"review": Pick(_sentence("review", 0.23), 0.4)}
    assert unquoted(("cedaw", "review"), weak, [a1], fake_searcher.documents) == (
        ("Annual Review 2022 does not appear to address this: its closest sentence is unlikely to answer "
         "(relevance 0.23)."),)
    assert unquoted(("cedaw",), {}, [a1], fake_searcher.documents) == ()


def test_each_report_is_quoted_when_the_question_asks_for_each(quality_searcher):
    """With the default model, the search across both reports found CEDAW passages only (the review's came eleventh),
    and the answer quoted one side. (The fast model's quote choice takes the other report's best sentence within a
    wide margin of the best, so it quoted both sides before, too.)"""
    searcher = quality_searcher
    result = answering.answer(searcher, SENATE)
    check_citations(searcher, result)
    assert {c.place.doc_id for c in result.citations} == {"review", "cedaw"}
    assert any("18.8 percent" in c.quote for c in result.citations if c.place.doc_id == "review")
    assert len(result.citations) <= answering.DEFAULTS.max_quotes
    one = answering.answer(searcher, SENATE, filters=Filters(doc="cedaw"))
    assert {c.place.doc_id for c in one.citations} == {"cedaw"}


def test_the_mazhilis_asked_of_each_report_is_found_as_the_cedaw_report_spells_it(quality_searcher):
    """The CEDAW report writes "Majilis": its passages were found (the keyword search knows the spellings) but the
    evidence check looked for "Mazhilis" in them, and the answer said no passage speaks of the Mazhilis."""
    result = answering.answer(quality_searcher, "How many women are there in the Mazhilis according to each report?")
    assert result.answered, result.reason
    check_citations(quality_searcher, result)
    assert {c.place.doc_id for c in result.citations} == {"review", "cedaw"}
    assert any("27.1 percent" in c.quote for c in result.citations)


def test_a_report_that_does_not_address_what_each_report_is_asked_is_said_so_not_quoted(quality_searcher):
    """The CEDAW report never names GRECO: its closest sentence ("the recommendations in paragraphs 42 (c), (d) and
    (e) of the Committee's concluding observations are being fulfilled") was quoted beside the review's answer."""
    result = answering.answer(quality_searcher, "What does each report say about the GRECO recommendations?")
    check_citations(quality_searcher, result)
    assert result.answered and {c.place.doc_id for c in result.citations} == {"review"}
    assert result.notes == (("CEDAW 6th periodic report does not appear to address this: no passage found speaks of "
                             "GRECO together with the rest of the question."),)
    assert result.to_json()["notes"] == list(result.notes)
    assert result.notes[0] in export.to_markdown(result)
    assert esc(result.notes[0]) in answer_html(result)


def test_one_report_is_asked_the_question_without_the_reports_it_names_nor_a_comparison_s_figures():
    both = ("review", "cedaw")
    assert asked_of_one("How does the review compare with the CEDAW report on crisis centres?", both).split() == [
        "How", "does", "the", "compare", "with", "the", "report", "on", "crisis", "centres?"]
    assert asked_of_one("The review says 44.8 percent of judges are women and the CEDAW report says 54.7 per cent: "
                        "which is right?", both).split() == [
        "The", "says", "of", "judges", "are", "women", "and", "the", "report", "says", ":", "which", "is", "right?"]
    # not a comparison: its figures and years are what each report is asked about
    assert asked_of_one("How many women sat in the Senate in 2023 according to each report?", both) == (
        "How many women sat in the Senate in 2023 according to each report?")


def test_a_comparison_naming_both_reports_and_their_figures_is_answered_from_both(quality_searcher):
    """The review was asked for "CEDAW" and for the CEDAW report's 54.7 per cent: its passages held neither, and
    the answer said the review does not address the share of women judges it gives (44.8 percent)."""
    result = answering.answer(quality_searcher, "The review says 44.8 percent of judges are women and the CEDAW "
                                                "report says 54.7 per cent: which is right?")
    check_citations(quality_searcher, result)
    assert not result.notes, result.notes
    assert any("44.8 percent" in c.quote for c in result.citations if c.place.doc_id == "review")
    assert any("54.7 per cent" in c.quote for c in result.citations if c.place.doc_id == "cedaw")
    crisis = answering.answer(quality_searcher, "How does the review compare with the CEDAW report on crisis centres?")
    assert not crisis.notes and {c.place.doc_id for c in crisis.citations} == {"review", "cedaw"}


def test_each_report_quotes_the_sentence_naming_what_was_asked(quality_searcher):
    """The review's closest sentence to "the share of women" was on the civil service; the one naming the Senate
    (27.1 percent in the Mazhilis, 18.8 in the Senate) rated 0.39, under the floor of a second quote, and the answer
    said the review does not address the Senate."""
    result = answering.answer(quality_searcher, "What share of the Senate are women according to each report?")
    check_citations(quality_searcher, result)
    assert not result.notes, result.notes
    assert any("in the Senate – 18.8 percent" in c.quote for c in result.citations if c.place.doc_id == "review")
