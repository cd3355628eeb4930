"""A follow-up in a conversation is read with the question before it (reportrag/answers/followup.py): which questions
are follow-ups and how they read (fast tier), and through the service and the HTTP API (the chat in a browser:
tests/test_browser.py)."""

from __future__ import annotations

import httpx
import pytest

from reportrag.answers.followup import read_with

JUDGES = "What is the share of women among judges of the Supreme Court?"


@pytest.mark.parametrize(("previous", "question", "read"), [
    (JUDGES, "And the CEDAW report?", f"{JUDGES} (CEDAW 6th periodic report)"),
    (JUDGES, "What does the review say?", f"{JUDGES} (Annual Review 2022)"),
    ("What does the CEDAW report say about women in the civil service?", "And the review?",
     "What does Annual Review 2022 say about women in the civil service?"),
    ("What was the maternal mortality rate in 2020?", "What about 2019?",
     "What was the maternal mortality rate in 2019?"),
    ("How many crisis centres are there?", "And in 2022?", "How many crisis centres are there in 2022?"),
    ("How many assemblies were held in 2022 according to the Annual Review 2022?", "And in 2021?",
     "How many assemblies were held in 2021 according to the Annual Review 2022?"),  # the report's name keeps its year
    ("What was the maternal mortality rate in 2020?", "And in the CEDAW report in 2016?",
     "What was the maternal mortality rate in 2016? (CEDAW 6th periodic report)"),
])
def test_a_follow_up_naming_only_a_report_or_a_year_is_read_with_the_question_before(fake_searcher, previous,
                                                                                       question, read):
    assert read_with(question, previous, fake_searcher.documents) == read


@pytest.mark.parametrize("question", [
    "What about district courts?",  # a topic of its own
    "What does the CEDAW report say about quotas?",
    "And?",  # nothing to carry over
    "How many women judges are there in 2023?",
])
def test_a_question_with_a_topic_of_its_own_is_read_as_asked(fake_searcher, question):
    assert read_with(question, JUDGES, fake_searcher.documents) == question
    assert read_with("And the review?", "", fake_searcher.documents) == "And the review?"  # nothing before it
    # a question on two years: which one "And 2022?" replaces is a guess
    assert read_with("And 2022?", "How did the ranking change between 2021 and 2023?", fake_searcher.documents) == (
        "And 2022?")


def test_the_answer_to_a_follow_up_says_how_it_was_read(search_settings, searcher):
    from reportrag.service import Service

    answer = Service(search_settings, searcher).ask("And the CEDAW report?", previous=JUDGES)
    assert answer.question == "And the CEDAW report?" and answer.read_as == f"{JUDGES} (CEDAW 6th periodic report)"
    assert answer.notes[0] == f"Read with the question before it, as: “{answer.read_as}”"
    assert answer.answered and {c.place.doc_id for c in answer.citations} == {"cedaw"}
    assert any("Supreme Court" in c.quote for c in answer.citations), [c.quote for c in answer.citations]
    assert answer.to_json()["read_as"] == answer.read_as


def test_the_api_reads_a_follow_up_with_the_question_it_is_given(app_server):
    body = httpx.post(f"{app_server}/api/ask", json={"question": "And the CEDAW report?", "previous": JUDGES},
                      timeout=120).json()
    assert body["read_as"] == f"{JUDGES} (CEDAW 6th periodic report)" and body["question"] == "And the CEDAW report?"
    assert {c["doc_id"] for c in body["citations"]} == {"cedaw"}
    alone = httpx.post(f"{app_server}/api/ask", json={"question": JUDGES}, timeout=120).json()
    assert alone["read_as"] is None

