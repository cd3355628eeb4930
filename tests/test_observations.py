"""The concluding-observations route (reportrag/answers/observations.py): a question naming a paragraph of the
Committee's concluding observations, by number or by topic, is answered from the report passages responding to it.

The CEDAW report answers paragraph 26 (a) in ¶165–167 ("With regard to the recommendation in paragraph 26 (a) of
the Committee's concluding observations, the Criminal Code provides for liability …").
"""

from __future__ import annotations

import pytest

from reportrag.answers import extractive as answering
from reportrag.answers.observations import requested, search_text
from reportrag.retrieval.search import Filters
from tests.checks import check_citations

ANSWERS_26A = {165, 166, 167}


@pytest.mark.parametrize(("question", "labels"), [
    ("What did Kazakhstan do on paragraph 26 (a) of the concluding observations?", {"26(a)"}),
    ("CO 26(a)", {"26(a)"}),
    ("What was done on recommendation 26 (a)?", {"26(a)"}),
    ("What has been done on paragraphs 20 (a) and (b) of the Committee's concluding observations?", {"20(a)", "20(b)"}),
    ("What did the government do on CO 26(a)-(c)?", {"26(a)", "26(b)", "26(c)"}),
    ("How has paragraph 10 of the concluding observations been addressed?", {"10"}),
    # a lettered paragraph alone may be the Committee's: kept, marked, answered only where the report answers it
    ("How has Kazakhstan responded to paragraph 26 (j) on crisis centres?", {"?26(j)"}),
])
def test_a_paragraph_named_by_number_is_read_as_the_committee_s(question, labels):
    assert requested(question).labels == labels


@pytest.mark.parametrize(("question", "topic"), [
    ("What did the government do about the Committee's recommendation on domestic violence?", "domestic violence"),
    ("What did Kazakhstan do about the recommendations of the Committee on the Elimination of Discrimination "
     "against Women on trafficking?", "trafficking"),
    ("What do the concluding observations on equal pay say?", "equal pay say"),
])
def test_a_recommendation_named_by_topic_is_read_as_a_topic(question, topic):
    request = requested(question)
    assert not request.labels and request.topic == topic


@pytest.mark.parametrize("question", [
    "What does Article 11, paragraph 1 (d) say?",  # the report's own article structure, not the Committee's
    "What were the recommendations of the UN Human Rights Committee on freedom of assembly?",  # another committee
    "Were 30 % of the recommendations fulfilled?",
    "When was the National Kurultai set up?",
    "How many women judges are there in paragraph 22?",
])
def test_other_questions_do_not_take_the_route(question):
    assert requested(question) is None


def test_by_number_the_answer_quotes_the_passages_answering_that_paragraph_fake_index(fake_searcher):
    """Which passages respond to 26 (a) is structure, not ranking: the hashing stand-in answers it too."""
    result = answering.answer(fake_searcher, "CO 26(a)")
    assert result.answered and result.citations
    assert {c.place.paragraph for c in result.citations} <= ANSWERS_26A
    assert result.citations[0].place.paragraph == 165 and "paragraph 26 (a)" in result.citations[0].quote
    check_citations(fake_searcher, result)


@pytest.mark.parametrize("question", [
    "What did Kazakhstan do on paragraph 26 (a) of the concluding observations?",
    "CO 26(a)",
    "What was done on recommendation 26 (a)?",
    "What legislative change responds to paragraph 26 (a) of the concluding observations on domestic violence?",
])
def test_26a_by_number_is_answered_from_165_to_167(searcher, question):
    result = answering.answer(searcher, question)
    assert result.answered
    paragraphs = {c.place.paragraph for c in result.citations}
    assert 165 in paragraphs and paragraphs <= ANSWERS_26A, paragraphs
    check_citations(searcher, result)


def test_26a_by_topic_is_answered_from_165_to_167(searcher):
    result = answering.answer(
        searcher, "What has Kazakhstan done on the Committee's recommendation on criminal liability for domestic violence?")
    assert result.answered
    paragraphs = {c.place.paragraph for c in result.citations}
    assert 165 in paragraphs and paragraphs <= ANSWERS_26A, paragraphs
    assert any("paragraph 26 (a)" in c.quote for c in result.citations)
    check_citations(searcher, result)


def test_a_recommendation_by_topic_is_answered_not_abstained(searcher):
    """Once "not in the reports" (the evidence check found no "Committee's" beside domestic violence): now the
    block of the Committee paragraph whose responses speak of domestic violence most (26 (g) and (h))."""
    result = answering.answer(searcher, "What did the government do about the Committee's recommendation on domestic violence?")
    assert result.answered
    document = searcher.documents["cedaw"]
    for c in result.citations:
        paragraph = next(p for p in document.paragraphs if p.number == c.place.paragraph)
        assert any(r.startswith("26(") for r in paragraph.addresses), (c.place.paragraph, paragraph.addresses)
    assert any("domestic violence" in c.quote for c in result.citations)
    check_citations(searcher, result)


@pytest.mark.parametrize(("question", "paragraph"), [
    ("What did Kazakhstan do about the Committee's recommendation on rural women?", "44"),
    ("What did Kazakhstan do about the Committee's recommendation on women's health?", "40"),
    ("What was done about the Committee's recommendation on gender stereotypes?", "24"),
    ("How did Kazakhstan respond to the Committee's recommendation on the participation of women in political life?",
     "30"),
])
def test_a_recommendation_by_topic_is_answered_from_the_article_whose_title_names_it(searcher, question, paragraph):
    """The report answers the Committee article by article: "rural women" under "Article 14. Rural women" (44 (a)),
    not in the employment block (38) that mentions rural areas more often; "gender stereotypes" under "Article 5.
    Gender roles and stereotypes", whose sentences never say "stereotypes"."""
    result = answering.answer(searcher, question)
    assert result.answered
    document = searcher.documents["cedaw"]
    for c in result.citations:
        held = next(p for p in document.paragraphs if p.number == c.place.paragraph)
        assert any(r.split("(")[0] == paragraph for r in held.addresses), (c.place.paragraph, held.addresses)
    check_citations(searcher, result)


@pytest.mark.parametrize(("question", "items"), [
    ("What was done pursuant to paragraph 26 (i) of the concluding observations?", {"26(i)"}),
    ("What is Kazakhstan's response to paragraph 34 (b) of the concluding observations on acquisition of nationality?",
     {"34(b)"}),
    ("What measures relate to paragraphs 26 (g) and (h) of the concluding observations?", {"26(g)", "26(h)"}),
])
def test_every_quote_stands_in_a_paragraph_answering_the_item_asked(searcher, question, items):
    """A passage may hold the next item's answer too: "With regard to the recommendation in paragraph 26 (j) …" was
    quoted for 26 (i), and Article 9's "According to the Citizenship Act …" for 34 (b)."""
    result = answering.answer(searcher, question)
    assert result.answered
    document = searcher.documents["cedaw"]
    for c in result.citations:
        paragraph = next(p for p in document.paragraphs if p.number == c.place.paragraph)
        assert items & set(paragraph.addresses), (c.quote[:80], paragraph.addresses)
    check_citations(searcher, result)


@pytest.mark.parametrize(("question", "searched"), [
    ("What has been done in response to paragraph 36 (e) of the concluding observations?", ""),
    ("What measures relate to paragraphs 26 (g) and (h) of the concluding observations?", ""),
    ("How has paragraph 32 (b) of the concluding observations been addressed?", ""),
    ("What has Kazakhstan done on paragraph 20 (a) of the concluding observations regarding the Ombudsperson?",
     "What has Kazakhstan done on regarding the Ombudsperson"),
])
def test_words_that_only_ask_what_was_done_are_no_topic(question, searched):
    """"in response to", "relate to", "been addressed" name nothing to rank the block's sentences by."""
    assert search_text(requested(question)) == searched


def test_the_status_the_report_states_is_quoted_not_restated(searcher):
    result = answering.answer(searcher, "What has been done on paragraph 44 (a) of the concluding observations?")
    assert any("has been partially fulfilled" in c.quote for c in result.citations)
    assert all(c.place.doc_id == "cedaw" for c in result.citations)


def test_a_paragraph_the_report_does_not_answer_is_an_honest_no(searcher):
    result = answering.answer(searcher, "What did Kazakhstan do on paragraph 26 (c) of the concluding observations?")
    assert not result.answered and not result.citations and result.closest
    assert result.reason.startswith("The reports do not appear to address this")
    assert "26(c)" in result.reason and "26(b)" in result.reason  # the nearest paragraphs it does answer


def test_a_filter_that_leaves_no_responding_passage_says_so(searcher):
    result = answering.answer(searcher, "CO 26(a)", filters=Filters(doc="review"))
    assert not result.answered and "26(a)" in result.reason and "Only Annual Review 2022 was searched" in result.reason


def test_a_topic_no_response_speaks_to_takes_the_normal_path(searcher):
    """No block of the report's responses speaks of torture: the normal path answers (from the review)."""
    result = answering.answer(searcher, "What did the Government do about the recommendations on torture?")
    assert result.answered and {c.place.doc_id for c in result.citations} == {"review"}
