"""Answer quality with the default model (all-mpnet-base-v2), as users get it: the held-out figures `make eval`
reports, and each failure the answers issue named (a filter typo as an error: tests/test_filters_and_language.py and the
CLI and API tests). Thresholds are the figures measured when the choices were made
(on the training split only), less a question's margin, so a regression fails here."""

from __future__ import annotations

import re

import pytest

from reportrag.answers.extractive import answer
from reportrag.core.settings import PROJECT_ROOT
from reportrag.eval.runner import answer_quality, load_questions
from tests.checks import check_citations


def test_held_out_figures(quality_searcher):
    """Measured 2026-11-27 on the 85 held-out questions (55 answerable, 30 not): gold quoted 0.800, quote precision
    0.761, 1.27 quotes per answer, no false abstention, 70 % of unanswerable ones flagged."""
    figures = answer_quality(quality_searcher, load_questions(PROJECT_ROOT / "eval" / "questions_holdout.jsonl"))
    assert figures["all_citations_verified"]
    assert figures["answerable_quoting_gold"] >= 0.78, figures["without_gold"]
    assert figures["quote_precision"] >= 0.74
    assert figures["quotes_per_answer"] <= 2.5
    assert figures["answerable_flagged"] <= 0.05, figures["wrongly_flagged"]
    assert figures["unanswerable_flagged"] >= 0.66, figures["missed"]


def test_the_minimum_wage_is_not_in_the_reports(quality_searcher):
    """Labour-force figures and a ministry's web address used to be quoted, all marked verified."""
    result = answer(quality_searcher, "What is the minimum wage in Kazakhstan?")
    assert not result.answered and "do not appear to address" in result.reason and not result.citations


def test_a_question_asking_for_a_date_is_answered_only_with_one(quality_searcher):
    """A sentence naming the fifth periodic report, undated, used to be quoted for the date of its submission."""
    result = answer(quality_searcher, "On what date did Kazakhstan submit its fifth periodic report to the CEDAW Committee?")
    assert not result.answered and "give no date" in result.reason and not result.citations
    dated = answer(quality_searcher, "When was the National Kurultai set up in Kazakhstan?")
    check_citations(quality_searcher, dated)
    assert dated.answered and any("2022" in c.quote for c in dated.citations), [c.quote for c in dated.citations]



def test_a_year_asked_about_that_no_quote_gives_is_not_answered_with_another_year_s_figure(quality_searcher):
    """"… for 2022?" quoted the review's "in the Transparency International Corruption Perception Index for 2021,
    Kazakhstan scored 37 points": the reports give no 2022 score."""
    result = answer(quality_searcher, "What was Kazakhstan's score in Transparency International's Corruption "
                                      "Perceptions Index for 2022?")
    assert not result.answered and not result.citations
    assert result.reason.endswith("the passages found do not give 2022 for what the question asks about.")
    asked = answer(quality_searcher, "What was Kazakhstan's score in Transparency International's Corruption "
                                     "Perceptions Index for 2021?")
    check_citations(quality_searcher, asked)
    assert asked.answered and all("2021" in c.quote for c in asked.citations)

def test_a_question_asking_for_a_date_quotes_the_sentence_giving_it_not_a_closer_undated_one(quality_searcher):
    """Sentences on regional commissioners for children's rights, undated, rated above the review's "In 2016 … the
    institution of the Ombudsman for Children's Rights was established" and were quoted alone."""
    result = answer(quality_searcher, "When was the Commissioner for the Rights of the Child established?")
    check_citations(quality_searcher, result)
    assert result.answered, result.reason
    assert [c.quote[:8] for c in result.citations] == ["In 2016,"], [c.quote for c in result.citations]


@pytest.mark.parametrize("question", [
    "What did Kazakhstan do on paragraph 26 (a) of the concluding observations?",
    "What did the government do about the Committee's recommendation on criminal liability for domestic violence?",
])
def test_paragraph_26a_is_answered_from_its_response(quality_searcher, question):
    result = answer(quality_searcher, question)
    check_citations(quality_searcher, result)
    paragraphs = {c.place.paragraph for c in result.citations if c.place.doc_id == "cedaw"}
    assert result.answered and 165 in paragraphs and paragraphs <= {165, 166, 167}, paragraphs


def test_a_question_on_domestic_violence_as_the_committee_asked_is_answered_not_refused(quality_searcher):
    result = answer(quality_searcher, "What did the government do about the Committee's recommendation on domestic violence?")
    check_citations(quality_searcher, result)
    assert result.answered and all("Committee" in c.quote or "violence" in c.quote.lower() or c.place.doc_id == "cedaw"
                                   for c in result.citations)


def test_every_quote_is_rated_and_verbatim(quality_searcher):
    result = answer(quality_searcher, "How many crisis centres for victims of domestic violence are there?")
    check_citations(quality_searcher, result)
    assert result.answered and all(c.verified and c.strength in {"strong", "moderate", "weak"} for c in result.citations)


def test_a_question_in_russian_gets_the_notice(quality_searcher):
    result = answer(quality_searcher, "Какие меры приняты против домашнего насилия?")
    assert not result.answered and result.language == "Russian" and not result.citations


def test_retrieval_with_the_default_model(quality_searcher):
    """hybrid+rerank Recall@5, measured 2026-11-27: 0.942 on the training split of 202 questions (weights chosen
    there; 0.963 on the 190 before the 12 topic questions), 0.891 on the held-out split (all-MiniLM-L6-v2 before:
    0.925 and 0.891)."""
    from reportrag.eval.runner import evaluate

    for name, floor in (("questions.jsonl", 0.92), ("questions_holdout.jsonl", 0.87)):
        found = evaluate(quality_searcher, load_questions(PROJECT_ROOT / "eval" / name), ("hybrid+rerank",))
        assert found["hybrid+rerank"]["recall@5"] >= floor, (name, found["hybrid+rerank"]["misses@5"])


def test_a_question_asking_for_a_name_is_answered_only_with_one(quality_searcher):
    """A sentence on the Commissioner's representatives in the provinces, naming no one, used to be quoted for the
    Commissioner's name."""
    from reportrag.answers.evidence import _ASKS_NAME

    asks = ["Who is the current Prosecutor General?", "What is the name of the new Ombudsman?", "Who currently heads it?",
            "Which judge chairs the Court (name)?"]
    asks_not = ["Who decides whether online mockery should be taken down?", "Must a bride take her husband's family name?",
                "Who pays for the crisis centres?", "When is a name given to a law?"]
    assert all(_ASKS_NAME.search(q) for q in asks) and not any(_ASKS_NAME.search(q) for q in asks_not)
    result = answer(quality_searcher, "Who currently holds the post of Commissioner for Human Rights in Kazakhstan (name)?")
    assert not result.answered and "name no one" in result.reason and not result.citations
    named = answer(quality_searcher, "What is the name of the President of the International Commission against the "
                                     "Death Penalty?")
    check_citations(quality_searcher, named)
    assert named.answered and any("Navi Pillay" in c.quote for c in named.citations), [c.quote for c in named.citations]


def test_a_figure_both_reports_give_is_quoted_from_both_and_the_difference_noted(quality_searcher):
    """The CEDAW report's Supreme Court share (0.57) was left out, held to the other report's margin (0) alone,
    while the review's district courts (0.55), which the question does not ask about, was quoted."""
    result = answer(quality_searcher, "What is the share of women among judges of the Supreme Court?")
    check_citations(quality_searcher, result)
    assert result.answered and {c.place.doc_id for c in result.citations} == {"review", "cedaw"}
    assert all("Supreme Court" in c.quote for c in result.citations), [c.quote for c in result.citations]
    assert any("45.3 percent" in d and "48.4 per cent" in d for d in result.differences), result.differences


def test_a_sentence_giving_no_figure_for_how_many_is_quoted_with_the_next_that_gives_it(quality_searcher):
    """"Thus, in 2022, active efforts were made under provincial employment plans …" alone says nothing of how many;
    its paragraph's next sentence does ("As a result, 536,000 women were placed in jobs …")."""
    result = answer(quality_searcher, "How many women were placed in jobs under provincial employment plans in 2022?")
    check_citations(quality_searcher, result)
    first = result.citations[0].quote
    assert first.startswith("Thus, in 2022, active efforts were made") and "536,000 women were placed in jobs" in first


def test_a_code_the_question_names_is_answered_however_short_the_question(quality_searcher):
    """"What is the 11616 number for?" is far from every sentence by cosine (all-mpnet-base-v2); the sentence naming
    the hotline answers it."""
    result = answer(quality_searcher, "What is the 11616 number for?")
    assert result.answered and '"11616" hotline' in result.citations[0].quote
    check_citations(quality_searcher, result)


@pytest.mark.parametrize(("question", "number", "cited"), [
    ("art. 145 of the Criminal Code", "145", "(art. 145 of the Criminal Code)"),
    ("What happened to Article 130 of the Criminal Code?", "130", "Article 130 of the Criminal Code (Defamation)"),
])
def test_a_law_article_the_question_names_is_quoted_where_it_is_cited(quality_searcher, question, number, cited):
    """The sentence on art. 120 (Rape) stood closer to "art. 145 of the Criminal Code" (all-mpnet-base-v2) than the
    one citing it."""
    result = answer(quality_searcher, question)
    assert result.answered and all(re.search(rf"\b(?:art\.|Article) {number}\b", c.quote) for c in result.citations)
    assert cited in result.citations[0].quote


def test_how_many_answered_by_no_figure_is_not_answered(quality_searcher):
    """"How many cases of sexual harassment were recorded?" quoted "The Government has been taking measures to
    eliminate harassment in the workplace." (all-mpnet-base-v2). A figure in words answers: "five Kazakh military
    observers"."""
    result = answer(quality_searcher, "How many cases of sexual harassment were recorded?")
    assert not result.answered and not result.citations
    assert result.reason.endswith("the passages found give no figure for it.")
    words = answer(quality_searcher, "How many Kazakh military observers serve in the UN mission for the referendum "
                                     "in Western Sahara?")
    assert words.answered and any("five Kazakh military observers" in c.quote for c in words.citations)
    # "opportunity" is no number word ("… will have the opportunity to appeal to the Constitutional Court")
    appeals = answer(quality_searcher, "How many appeals did the Constitutional Court receive?")
    assert not appeals.answered and appeals.reason.endswith("the passages found give no figure for it.")
