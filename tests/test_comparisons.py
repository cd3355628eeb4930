"""Like with like (reportrag/answers/comparisons.py): the reports "give different figures" only for the same
measure — same unit, same subject, same period or body where stated. Plain strings first (fast), then answers."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from reportrag.answers import extractive as answering
from reportrag.answers.comparisons import agree, compare, differences, figures, with_other_report
from reportrag.core.records import Citation, Place
from reportrag.core.settings import AnswerSettings
from tests.checks import check_citations

MAZHILIS_REVIEW = "Representation in the Mazhilis of the Parliament is 27.1 percent, and in the Senate – 18.8 percent."
BEFORE_MAZHILIS = "The number of women in local government bodies is 52.4 percent."
MAZHILIS_CEDAW = ("Of the 98 elected deputies of the Parliament of Kazakhstan, 18 (18.37 per cent) are women; and of the "
                  "3,415 elected members of maslikhats, 786 (21.02 per cent) are women.")
OPENS_ARTICLE_7A = ("Article 7 (a) According to data from the Central Election Commission, women participated actively, "
                    "on equal terms with men, in the elections for the Majilis of the Parliament of Kazakhstan in 2023.")


def pairs(a: str, b: str, context_a: tuple[str, ...] = (), context_b: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [(x.written, y.written) for x, y in compare(figures(a, context_a), figures(b, context_b))]


def written(sentence: str) -> list[str]:
    return [f.written for f in figures(sentence)]


# ---------------------------------------------------------------- what is a figure


@pytest.mark.parametrize("sentence", [
    "Under articles 120 (Rape), 121 (Violent sexual acts), 122 and 123 of the Criminal Code.",
    "Security Council resolutions 1325 (2000), 1820 (2008) and 2467 (2019) were adopted.",
    "By Act No.361-VI dated 7 July 2020, article 319 was renamed.",
    "On June 14, 2022, the National Kurultai was created; as at 1 June 2024 it met.",
    "Call the hotline on 8 (7172) 58-00-58.",
    "See Article 14, paragraph 2, subparagraph 1 of the Convention.",
    "In 2019 and in 2021 the law was amended.",
])
def test_labels_dates_and_years_are_not_figures(sentence):
    assert written(sentence) == []


def test_units_as_written():
    assert written("Women make up 48.4 per cent of judges, 45 % of staff and 27.1 percent of deputies.") == [
        "48.4 per cent", "45 %", "27.1 percent"]
    rate, = figures("The maternal mortality rate was 12.7 per 100,000 live births.")
    assert (rate.unit, rate.written) == ("per 100000", "12.7 per 100,000")
    money, = figures("In 2022, 101 million tenge were allocated.")
    assert money.unit == "money:tenge" and money.value == 101e6 and money.year == "2022"
    rank, count = figures("Kazakhstan was ranked 62nd out of 146 countries in 2023.")
    assert (rank.unit, count.unit) == ("rank", "count")


def test_each_figure_takes_the_year_of_its_own_part_of_the_sentence():
    ranks = [f for f in figures("In the Global Gender Gap Index, Kazakhstan was ranked 62nd out of 146 countries in "
                                "2023, up three places from 2022, when it was ranked 65th out of 146 (it was ranked "
                                "80th out of 156 countries in 2021 and 72nd out of 153 countries in 2020).")
             if f.unit == "rank"]
    assert [(f.written, f.year) for f in ranks] == [("62nd", "2023"), ("65th", "2022"), ("80th", "2021"), ("72nd", "2020")]


# ---------------------------------------------------------------- like with like


def test_the_same_measure_in_both_reports_is_paired():
    assert pairs("In district courts, 53.8 percent of judges are women.",
                 "In the district courts, 1,019 (54.7 per cent) of the judges are women.") == [
        ("53.8 percent", "54.7 per cent")]
    assert pairs("49 crisis centers operate in all regions of the country to assist victims of domestic violence.",
                 "46 crisis centres providing services to victims of domestic violence were operating.") == [("49", "46")]


def test_regional_and_provincial_courts_are_one_level_district_and_provincial_two():
    assert pairs("In regional courts, 44.8 percent of judges are women.",
                 "In the provincial courts, 205 (45.7 per cent) of the 449 judges are women.") == [
        ("44.8 percent", "45.7 per cent")]
    assert pairs("In regional courts, 44.8 percent of judges are women.",
                 "In the district courts, 1,019 (54.7 per cent) of the judges are women.") == []
    assert pairs("In the Supreme Court, female judges account for 45.3 percent.",
                 "In the district courts, 1,019 (54.7 per cent) of the judges are women.") == []


def test_different_units_subjects_and_kinds_are_not_paired():
    judges = "In district courts, 53.8 percent of judges are women."
    assert pairs(judges, "In district courts, 540 judges are women.") == []  # a percentage and a count
    assert pairs(judges, "In district courts, 46.2 percent of judges are men.") == []  # women and men
    assert pairs("Women were 25.14 per cent of the candidates for the Majilis of the Parliament.",
                 "Women were 18.37 per cent of the elected deputies of the Majilis of the Parliament.") == []
    assert pairs("349 convicts were released from prisons.", "There were 30 persons convicted in 2022.") == []


def test_a_clause_that_leaves_its_subject_unsaid_takes_it_from_its_context():
    """The review's "27.1 percent" is about women only in the sentence before; the CEDAW report's "98 elected
    deputies of the Parliament" are the Majilis's only in the section that opens with the Majilis elections. The
    Senate's 18.8 percent is another chamber, and the whole Parliament's 19.6 per cent another body."""
    assert pairs(MAZHILIS_REVIEW, MAZHILIS_CEDAW, (BEFORE_MAZHILIS,), ("", OPENS_ARTICLE_7A)) == [
        ("27.1 percent", "18.37 per cent")]
    assert pairs(MAZHILIS_REVIEW, MAZHILIS_CEDAW, (BEFORE_MAZHILIS,)) == []  # no chamber: no comparison
    assert pairs(MAZHILIS_REVIEW, "In the highest representative body, the Parliament, there are currently 29 women "
                                  "deputies, or 19.6 per cent of the total.", (BEFORE_MAZHILIS,)) == []


def test_figures_agree_as_precisely_as_the_less_precise_one():
    a, = figures("Women are 18.4 percent of deputies.")
    b, c = figures("Women are 18.37 per cent of deputies, and 18.3 per cent of senators.")
    assert agree(a, b) and not agree(a, c)


# ---------------------------------------------------------------- notes


def cite(searcher, n: int, doc: str, quote: str) -> Citation:
    place = Place(doc, searcher.documents[doc].info.short_title, (), "", 1, 0, len(quote), "x")
    return Citation(n, quote, place, "a", True)


def test_notes_claim_a_conflict_only_for_the_same_measure(fake_searcher):
    notes = differences(fake_searcher, (
        cite(fake_searcher, 1, "review", "In district courts, 53.8 percent of judges are women."),
        cite(fake_searcher, 2, "review", "In regional courts, 44.8 percent of judges are women."),
        cite(fake_searcher, 3, "cedaw", "In the Supreme Court of Kazakhstan, 30 (48.4 per cent) of the judges are women."),
        cite(fake_searcher, 4, "cedaw", "In the district courts, 1,019 (54.7 per cent) of the judges are women."),
    ))
    assert notes == ("The reports give different figures for the same measure: Annual Review 2022 [1] says 53.8 "
                     "percent; CEDAW 6th periodic report [4] says 54.7 per cent.",)


def test_the_same_measure_for_different_years_is_noted_as_such(fake_searcher):
    notes = differences(fake_searcher, (
        cite(fake_searcher, 1, "review", "In 2019, 1,200 women received microloans."),
        cite(fake_searcher, 2, "cedaw", "In 2021, 1,500 women received microloans."),
    ))
    assert notes == ("The reports give figures for different years: Annual Review 2022 [1] says 1,200 (2019); "
                     "CEDAW 6th periodic report [2] says 1,500 (2021).",)


def test_a_figure_one_report_gives_twice_is_compared_once(fake_searcher):
    """The review gives 65th for 2022 twice (a sidebar); the CEDAW report gives 62nd for 2023 and 65th for 2022:
    both of the review's quotes agree with its 65th, and nothing is noted."""
    ranking = "Kazakhstan has risen by 15 positions – from 80 to 65th place among 146 countries in the Global Gender Gap Report in 2022."
    assert differences(fake_searcher, (
        cite(fake_searcher, 1, "cedaw", "In the Global Gender Gap Index, Kazakhstan was ranked 62nd out of 146 countries "
                                        "in 2023, up three places from 2022, when it was ranked 65th out of 146."),
        cite(fake_searcher, 2, "review", ranking),
        cite(fake_searcher, 3, "review", ranking.replace("has risen", "rose")),
    )) == ()


def sentence(doc: str, score: float) -> SimpleNamespace:
    return SimpleNamespace(passage=SimpleNamespace(doc_id=doc), score=score)


def test_a_figure_question_quotes_the_other_report_when_nearly_as_good():
    settings = AnswerSettings(max_quotes=3, other_report_margin=0.2)
    ranked = [sentence("cedaw", 0.85), sentence("cedaw", 0.82), sentence("cedaw", 0.80), sentence("review", 0.75)]
    chosen = ranked[:3]
    assert with_other_report("What percentage of deputies are women?", chosen, ranked, settings) == [*ranked[:2], ranked[3]]
    assert with_other_report("What does the review say on deputies?", chosen, ranked, settings) == chosen
    far = [*ranked[:3], sentence("review", 0.5)]
    assert with_other_report("How many deputies are women?", chosen, far, settings) == chosen


# ---------------------------------------------------------------- answers on the real reports


def cite_in_place(searcher, n: int, doc: str, quote: str) -> Citation:
    """A citation of ``quote`` where it stands in the report (its section and neighbours lend it context)."""
    from reportrag.core.records import Span

    document = searcher.documents[doc]
    start = document.text.index(quote)
    passage = next(p for p in searcher.passages if p.doc_id == doc and p.start <= start < p.end)
    return Citation(n, quote, answering.place_of(document, passage, Span(start, start + len(quote))), "a", True)


def test_women_in_the_mazhilis_the_conflict_is_noted_on_the_real_texts(fake_searcher):
    """The review's 27.1 percent (a sentence that never says "women": its context does) against the CEDAW report's
    18 of 98 elected deputies (a section on the Majilis elections): one measure, two figures."""
    notes = differences(fake_searcher, (cite_in_place(fake_searcher, 1, "review", MAZHILIS_REVIEW),
                                        cite_in_place(fake_searcher, 2, "cedaw", MAZHILIS_CEDAW)))
    assert notes == ("The reports give different figures for the same measure: Annual Review 2022 [1] says 27.1 "
                     "percent; CEDAW 6th periodic report [2] says 18.37 per cent.",)


def test_a_named_body_never_meets_a_figure_that_names_none(fake_searcher):
    """The maslikhats' 21.02 per cent of deputies is not the review's 52.4 percent of "local government bodies"."""
    assert differences(fake_searcher, (
        cite_in_place(fake_searcher, 1, "cedaw", "In local representative bodies (maslikhats) in Kazakhstan, women "
                                                 "account for 21.02 per cent of the total number of deputies (786 out of 3,415)."),
        cite_in_place(fake_searcher, 2, "review", BEFORE_MAZHILIS + " " + MAZHILIS_REVIEW),
    )) == ()


def test_answers_on_the_mazhilis_claim_no_conflict_between_different_bodies(searcher):
    for question in ("What percentage of Mazhilis deputies are women?", "How many women are in the Mazhilis?"):
        result = answering.answer(searcher, question)
        check_citations(searcher, result)
        for note in result.differences:  # a party, the Senate, the maslikhats or the whole Parliament is not the Mazhilis
            assert not any(f in note for f in ("18.8", "19.6", "21.02", "52.4", "20 per cent", "40 per cent")), note
        quotes = " ".join(c.quote for c in result.citations)
        if "27.1 percent" in quotes and "18.37 per cent" in quotes:
            assert any("27.1 percent" in n and "18.37 per cent" in n for n in result.differences)


def test_judges_district_against_district_is_noted_never_against_another_court(searcher):
    result = answering.answer(searcher, "What share of judges are women?")
    check_citations(searcher, result)
    assert result.differences, "the district courts' 53.8 and 54.7 per cent are the same measure"
    for note in result.differences:
        assert "44.8" not in note and "48.4" not in note  # regional vs Supreme Court: different bodies


def test_a_sentence_spelling_majilis_carries_the_question_s_mazhilis():
    """The answer step's word checks (the evidence check, coverage of the question's words) see the reports'
    transliterations as one word, as the keyword search does: "Mazhilis" asked, "Majilis" written."""
    from reportrag.index.keyword import tokenize
    from reportrag.retrieval.term_stats import TermStats, token_set

    mazhilis = tokenize("Mazhilis")
    assert set(mazhilis) <= token_set(OPENS_ARTICLE_7A)
    stats = TermStats.over([OPENS_ARTICLE_7A, MAZHILIS_REVIEW])
    assert stats.coverage(mazhilis, OPENS_ARTICLE_7A) == 1.0
    assert not set(tokenize("maslikhats")) <= token_set(OPENS_ARTICLE_7A)  # no other word for it
