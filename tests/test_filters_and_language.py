"""Honest "not in the reports": a filter matching nothing is an error naming the choices, every answer names its
filters, a question not in English gets a notice, and the citation check is called what it is (verbatim)."""

from __future__ import annotations

import json

import pytest

from reportrag.answers import export
from reportrag.answers.language import question_language
from reportrag.core.errors import BadFilter, BadQuery
from reportrag.retrieval.filters import nearest_sections
from reportrag.retrieval.search import Filters
from reportrag.service import Service
from tests.conftest import run_cli

RUSSIAN = "Какие меры приняты против домашнего насилия?"
MAZHILIS = "What does the report say about the Mazhilis?"
TORTURE = "What is the maximum prison term for torture?"


@pytest.fixture(scope="module")
def service(search_settings, searcher) -> Service:
    return Service(search_settings, searcher)


def _cli(settings, *args):
    return run_cli(*args, index_dir=settings.index.index_dir, env={"REPORTRAG_CACHE_DIR": str(settings.index.cache_dir)})


# ---------------------------------------------------------------- a filter that matches nothing


@pytest.mark.parametrize(
    ("filters", "field", "named"),
    [
        (Filters(doc="nosuch"), "doc", ["cedaw", "review"]),
        (Filters(section="Art. 99"), "section", ["Article 9"]),
        (Filters(section="Article 99"), "section", ["Article 9"]),
        (Filters(doc="cedaw", section="VII.C"), "section", ["is a section of review"]),
        (Filters(concluding_observation="99(z)"), "co", ["48(c)"]),
        (Filters(doc="review", concluding_observation="36(e)"), "co", ["drop the filter"]),
    ],
)
def test_a_filter_matching_nothing_is_an_error_naming_the_choices(service, filters, field, named):
    for attempt in (lambda: service.ask("violence against women", filters=filters),
                    lambda: service.search("violence against women", filters=filters),  # never an empty list
                    lambda: list(service.stream("violence against women", filters=filters))):
        with pytest.raises(BadFilter) as caught:
            attempt()
        error = caught.value
        assert isinstance(error, BadQuery) and error.field == field and str(error).startswith(f"{field}: ")
        assert "\n" not in str(error) and all(n in str(error) for n in named), str(error)


def test_nearest_sections_by_label_and_by_heading():
    sections = [("Article 1", "Article 1. Definition"), ("Article 9", "Article 9. Nationality"),
                ("Article 10", "Article 10. Education"), ("VII.C", "C. Gender equality")]
    assert nearest_sections("Art. 99", sections)[0] == "Article 9"
    assert nearest_sections("educaton", sections)[0] == "Article 10"
    assert nearest_sections("gender equallity", sections, n=1) == ["VII.C"]


def test_valid_filters_still_answer_and_the_answer_names_them(service):
    filters = Filters(doc="cedaw", section="Article 11")
    result = service.ask("employment of women", filters=filters)
    assert result.answered and result.citations
    assert all(c.place.section_label.startswith("Article 11") for c in result.citations)
    data = result.to_json()
    assert data["filters"] == {"doc": "cedaw", "section": "Article 11", "concluding_observation": None}
    assert data["scope"] == "CEDAW 6th periodic report, section Article 11"
    assert "Searched only: CEDAW 6th periodic report, section Article 11" in export.to_markdown(result)
    plain = service.ask(TORTURE).to_json()
    assert plain["filters"] == {"doc": None, "section": None, "concluding_observation": None} and plain["scope"] == ""


def test_an_abstention_under_a_filter_says_the_filter_was_active(service):
    result = service.ask(TORTURE, filters=Filters(doc="cedaw", section="Article 11"))
    assert not result.answered and not result.citations
    assert "Only CEDAW 6th periodic report, section Article 11 was searched" in result.reason
    assert "ask again without the filter" in result.reason and "\n" not in result.reason
    assert service.ask(TORTURE).answered  # answered outside it, as the reason says it may be


def test_cli_bad_filter_exits_2_with_one_line_naming_the_choices(search_settings, searcher):
    proc = _cli(search_settings, "ask", TORTURE, "--doc", "nosuch")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == ["error: doc: no report 'nosuch' in the index; use one of: cedaw, review"]
    proc = _cli(search_settings, "search", "torture", "--section", "Art. 99", "--json")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error: section: ") and "Article 9" in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_cli_text_answer_shows_the_filters_and_the_verbatim_mark(search_settings, searcher):
    proc = _cli(search_settings, "ask", "employment of women", "--doc", "cedaw", "--section", "Article 11")
    assert proc.returncode == 0, proc.stderr
    assert "Searched only: CEDAW 6th periodic report, section Article 11" in proc.stdout
    assert "verbatim ✓" in proc.stdout and "verified" not in proc.stdout


# ---------------------------------------------------------------- questions not in English


@pytest.mark.parametrize(
    ("question", "language"),
    [
        (RUSSIAN, "Russian"),
        ("Қазақстанда әйелдер құқықтары қалай қорғалады?", "Kazakh"),
        ("Quelles mesures contre la violence domestique?", "another language"),
        (MAZHILIS, ""),
        ("What does the report say about the Мажилис?", ""),  # a name in Cyrillic inside an English question
        ("crisis centres domestic violence", ""),  # keywords, no function words: still English
        ("Zhusan Rusafa", ""),
    ],
)
def test_the_question_language_is_read_cheaply(question, language):
    assert question_language(question) == language


def test_a_russian_question_gets_the_notice_and_no_quotes(service):
    result = service.ask(RUSSIAN)
    assert not result.answered and not result.citations and not result.closest
    assert result.reason == ("The reports and the model are in English; ask in English "
                             "(the question seems to be in Russian).")
    data = result.to_json()
    assert data["abstained"] and data["question_language"] == "Russian" and data["answer"] == result.reason
    filtered = service.ask(RUSSIAN, filters=Filters(doc="cedaw"))  # no "only … was searched": a filter would not help
    assert filtered.reason == result.reason and filtered.scope


def test_an_english_question_with_a_kazakh_name_is_answered(service):
    result = service.ask(MAZHILIS)
    assert result.answered and any("Mazhilis" in c.quote for c in result.citations)
    assert result.to_json()["question_language"] is None


# ---------------------------------------------------------------- "verbatim", not "verified", where readers look


def test_the_web_renderers_say_verbatim_and_what_it_means(service, searcher):
    from reportrag.answers import citations
    from reportrag.skins import web

    result = service.ask(TORTURE, filters=Filters(doc="review"))
    html = web.answer_html(result)
    assert "verbatim ✓" in html and 'title="the text stands verbatim at the cited offsets"' in html
    assert "verified" not in html
    assert "Searched only: Annual Review 2022" in html
    located = web.located_html(citations.Citations(searcher.corpus).lookup(result.citations[0].anchor))
    assert "verbatim ✓" in located and "verified" not in located
    notice = web.answer_html(service.ask(RUSSIAN))
    assert "ask in English" in notice and "Not in the reports" not in notice and "closest passages" not in notice
    data = result.to_json()["citations"][0]
    assert data["verified"] is True and data["verbatim"] is True  # the contract's field kept, a clearer alias beside it
    markdown = export.to_markdown(result)
    assert "verbatim ✓" in markdown and "verified" not in markdown
    assert json.loads(json.dumps(result.to_json()))["filters"]["doc"] == "review"
