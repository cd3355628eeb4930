"""A question that names one report is answered from it alone, and says so (reportrag/answers/scope.py): which
questions name a report, and on the real reports, the answer's quotes, note and abstention."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from reportrag.answers import export
from reportrag.answers import extractive as answering
from reportrag.answers.scope import named_in, report_named
from reportrag.retrieval.search import Filters
from reportrag.service import Service
from reportrag.skins.web.html import answer_html, esc
from tests.checks import check_citations

CIVIL_SERVICE = "What does the CEDAW report say about women in the civil service?"
NAMED = "Only CEDAW 6th periodic report was searched: the question names it."


@pytest.mark.parametrize(("question", "doc"), [
    (CIVIL_SERVICE, "cedaw"),
    ("What does the review say about freedom of religion?", "review"),
    ("What has Kazakhstan done on media freedom, according to the review?", "review"),
    ("What does the annual review's section on health care cover?", "review"),
    ("What does the sixth periodic report say about rural women?", "cedaw"),  # the head of its title
    ("What does the Annual Review 2022 say about torture?", "review"),  # its short title
    ("What does CEDAW/C/KAZ/6 say about quotas?", "cedaw"),  # its symbol
])
def test_a_question_naming_one_report_names_it(fake_searcher, question, doc):
    assert report_named(question, fake_searcher.documents) == doc


@pytest.mark.parametrize("question", [
    "How many women are judges?",
    "What has the CEDAW Committee recommended on quotas?",  # the Committee, not the report
    "Has Kazakhstan completed the review of its criminal law?",  # a review, not the report
    "When did Kazakhstan present its second Voluntary National Review?",
    "What recommendations did Kazakhstan accept in its most recent Universal Periodic Review?",
    "Do the review and the CEDAW report agree on women judges?",  # two reports: answered from each
])
def test_other_questions_name_no_one_report(fake_searcher, question):
    assert report_named(question, fake_searcher.documents) == ""



def test_a_user_s_report_is_named_by_its_file_name_never_by_a_common_word(fake_searcher):
    from types import SimpleNamespace

    from reportrag.ingest.pipeline import info_for_file

    added = {info.doc_id: SimpleNamespace(info=info) for info in
             (info_for_file(Path("crc-kazakhstan-2023.pdf")), info_for_file(Path("report.docx")))}
    documents = {**fake_searcher.documents, **added}
    assert report_named("What does the crc kazakhstan 2023 report say about child marriage?", documents) == (
        "crc-kazakhstan-2023")
    assert report_named("What does crc-kazakhstan-2023 say about child marriage?", documents) == "crc-kazakhstan-2023"
    assert report_named("What does the report say about child marriage?", documents) == ""  # "report.docx"

def test_a_filter_or_a_comparison_keeps_every_report_the_question_asks_for(fake_searcher):
    documents = fake_searcher.documents
    assert named_in(CIVIL_SERVICE, Filters(), documents) == "cedaw"
    assert named_in(CIVIL_SERVICE, Filters(doc="review"), documents) == ""  # the user's filter rules
    assert named_in("How does the review's share of women judges compare with the other report?", Filters(),
                    documents) == ""
    assert named_in("What does the review say about judges, and what does each report say about prosecutors?",
                    Filters(), documents) == ""


def test_an_answer_from_the_report_the_question_names_says_so(fake_searcher):
    result = answering.answer(fake_searcher, "What does the review say about the death penalty?")
    assert result.answered and {c.place.doc_id for c in result.citations} == {"review"}
    assert result.notes[-1] == "Only Annual Review 2022 was searched: the question names it."
    assert result.filters == () and result.scope == ""  # the user set no filter: "Clear filters" would do nothing



def test_a_report_named_with_its_year_asks_about_no_year(fake_searcher):
    """"2022" of "the Annual Review 2022" was read as a year asked about, and no quote on the death penalty gave it."""
    result = answering.answer(fake_searcher, "What does the Annual Review 2022 say about the death penalty?")
    assert result.answered, result.reason
    assert {c.place.doc_id for c in result.citations} == {"review"}

def test_the_civil_service_of_the_cedaw_report_is_quoted_from_it_alone(searcher):
    """The question quoted the review's civil-service share beside the CEDAW report's: the user asked what the CEDAW
    report says."""
    result = answering.answer(searcher, CIVIL_SERVICE)
    check_citations(searcher, result)
    assert result.answered and {c.place.doc_id for c in result.citations} == {"cedaw"}
    assert any("civil servants" in c.quote for c in result.citations)
    assert result.notes == (NAMED,) and result.to_json()["notes"] == [NAMED]
    assert NAMED in export.to_markdown(result) and esc(NAMED) in answer_html(result)


def test_an_abstention_in_the_report_the_question_names_says_only_it_was_searched(searcher):
    """The CEDAW report never names GRECO; the review does, and asked without naming a report it is answered."""
    result = answering.answer(searcher, "Does the CEDAW report say anything about GRECO?")
    assert not result.answered and not result.citations
    assert result.reason.endswith("Only CEDAW 6th periodic report was searched, as the question names it: ask "
                                  "without naming it to search every report.")
    assert "\n" not in result.reason and result.notes == ()
    assert answering.answer(searcher, "What does Kazakhstan say about the GRECO recommendations?").answered


def test_a_generated_answer_is_given_the_passages_of_the_report_the_question_names(search_settings, searcher):
    model = FakeListChatModel(responses=["The reports do not address it."])
    result = Service(search_settings, searcher, chat_model=model).ask(CIVIL_SERVICE)
    assert result.closest and {h.passage.doc_id for h in result.closest} == {"cedaw"}
    unnamed = Service(search_settings, searcher, chat_model=model).ask("What share of the civil service are women?")
    assert "review" in {h.passage.doc_id for h in unnamed.closest}  # searched across both reports
