"""The rerank stage: references a question names, sections it names, and a pluggable cross-encoder from a folder."""

from __future__ import annotations

import numpy as np
import pytest
from reportrag.index.model_path import default_model_path

from reportrag.core.errors import ReportragError
from reportrag.core.settings import Settings
from reportrag.retrieval.rerank import CrossEncoderReranker, ReferenceReranker, named_titles, query_references
from reportrag.retrieval.search import Searcher
from reportrag.service import ingesting as corpus
from tests.conftest import FAST_MODEL


@pytest.mark.parametrize(
    ("query", "observations", "sections"),
    [
        ("What has been done on paragraph 24 (d) of the concluding observations?", {"24(d)"}, ()),
        ("paragraphs 20 (a) and (b) of the Committee's concluding observations", {"20(a)", "20(b)"}, ()),
        ("concluding observations paragraph 10", {"10"}, ()),
        ("Article 11, paragraph 1 (d) on equal pay", set(), ("Article 11, paragraph 1 (d)",)),
        ("the recommendation on Article 14 and paragraph 44 (a)", {"44(a)"}, ("Article 14",)),
        ("What does section VII.C say?", set(), ("VII.C",)),
        ("In 2022, 1,472 women", set(), ()),  # figures are not references
    ],
)
def test_query_references(query, observations, sections):
    refs = query_references(query)
    assert refs.observations == observations
    assert refs.sections == sections


def test_named_titles_ignore_numbering_and_short_titles():
    titles = {"4. Protection of human rights on the basis of international norms", "Conclusion", "Article 5", "I."}
    named = named_titles("according to the section on protection of human rights on the basis of international norms", titles)
    assert named == {"4. Protection of human rights on the basis of international norms"}
    assert named_titles("What does the Conclusion highlight?", titles) == {"Conclusion"}
    assert named_titles("Article 5 and shelters", titles) == set()


def test_an_article_s_title_is_named_by_its_words_without_its_number():
    """"Article 14. Rural women" is what the CEDAW report titles the article a question on rural women asks about."""
    titles = {"Article 14. Rural women", "Article 14, paragraph 1", "Article 11. Employment"}
    assert named_titles("What did Kazakhstan do about the Committee's recommendation on rural women?", titles) == {
        "Article 14. Rural women"}
    assert named_titles("What does Article 14 say?", titles) == set()


def test_a_question_on_the_committee_s_recommendation_favours_the_report_s_responses():
    """"… the Committee's recommendation on women's health" asks for what the report answered the Committee: a
    passage responding to one of its paragraphs edges out a slightly closer one that responds to none."""
    from reportrag.core.records import Passage, Span

    def passage(pid: str, refs: tuple[str, ...]) -> Passage:
        return Passage(pid, "cedaw", ("Article 12",), "Article 12", (1,), 0, 10, "x" * 10, (Span(0, 10),), refs)

    passages = [passage("a", ()), passage("b", ("40(a)",))]
    scores = np.array([0.55, 0.5], dtype=np.float32)
    rerank = ReferenceReranker().rerank
    asked = rerank("What did Kazakhstan do about the Committee's recommendation on women's health?", passages, scores)
    assert asked[1] > asked[0]
    plain = rerank("What does the report say about women's health?", passages, scores)
    assert plain[0] > plain[1]


def test_exact_reference_beats_a_list_of_references(searcher):
    query = "What has been done on paragraph 24 (d) of the concluding observations?"

    def rank_of_exact_answer(mode):
        hits = searcher.search(query, k=10, mode=mode)
        return next(h.rank for h in hits if h.passage.concluding_observations == ("24(d)",))

    assert rank_of_exact_answer("hybrid+rerank") <= 2 < rank_of_exact_answer("hybrid")


def test_a_named_section_is_searched_even_when_fusion_missed_it(searcher):
    query = "What does the Conclusion of the sixth periodic report highlight?"
    assert "Conclusion" in [h.passage.section_label for h in searcher.search(query, k=3)]
    assert "Conclusion" not in [h.passage.section_label for h in searcher.search(query, k=5, mode="hybrid")]


def test_no_reference_leaves_the_order_alone(searcher):
    query = "shelters for victims of domestic violence"
    assert [h.passage.passage_id for h in searcher.search(query, k=10)] == [
        h.passage.passage_id for h in searcher.search(query, k=10, mode="hybrid")
    ]
    scores = np.array([0.3, 0.2], dtype=np.float32)
    assert np.array_equal(ReferenceReranker().rerank(query, searcher.passages[:2], scores), scores)


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory):
    """A real CrossEncoder folder made from the packaged MiniLM (its head untrained: we test the plumbing, not
    its judgement; no trained cross-encoder ships its weights in a package here)."""
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("cross-encoder")
    CrossEncoder(str(default_model_path()), num_labels=1, device="cpu", local_files_only=True).save(str(folder))
    return folder


def test_a_cross_encoder_from_a_folder_reorders_the_candidates(searcher, search_settings, cross_encoder_dir):
    settings = Settings(index_dir=search_settings.index.index_dir, cache_dir=search_settings.index.cache_dir,
                        reranker_path=cross_encoder_dir, model=FAST_MODEL)
    reranker = corpus.make_reranker(settings)
    assert isinstance(reranker, CrossEncoderReranker)
    with_ce = Searcher(search_settings.index.index_dir, searcher.embedder, reranker=reranker)
    query = "shelters for victims of domestic violence"
    hits = with_ce.search(query, k=5)
    # the cross-encoder's relevance (a sigmoid) decides, the fused score only breaks ties
    relevance = reranker.rerank(query, [h.passage for h in hits], np.zeros(len(hits), np.float32))
    assert np.allclose([h.score for h in hits], relevance, atol=0.02)
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))
    for h in hits:
        assert with_ce.documents[h.passage.doc_id].text[h.passage.start : h.passage.end] == h.passage.text


def test_a_folder_without_a_cross_encoder_is_a_clear_error(tmp_path):
    with pytest.raises(ReportragError, match="REPORTRAG_RERANKER_PATH"):
        corpus.make_reranker(Settings(reranker_path=tmp_path))
