"""Train the quote-relevance model (``reportrag.answers.relevance``) on the training split, and choose how many
quotes an answer keeps.

    python -m reportrag.eval.train_quotes [--questions eval/questions.jsonl] [--out reportrag/answers/relevance_model.json]

Every sentence of the passages an answer would search is a candidate, labelled by whether it holds a gold quote
of its question. A logistic regression (scikit-learn, already installed with sentence-transformers) is fitted on
them; its coefficients are written as plain JSON. The quote-choice settings (margin, floor, abstention) are then
chosen on out-of-fold chances — each question scored by a model that never saw it — so the choice is not flattered
by the fit. Only the training split is read: the held-out split stays unseen.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from reportrag.answers import evidence, relevance
from reportrag.answers.extractive import DEFAULTS, Sentence, choose, score_sentences
from reportrag.core.files import write_atomic
from reportrag.core.settings import PROJECT_ROOT, AnswerSettings, Settings
from reportrag.eval.results import provenance
from reportrag.eval.runner import answer_figures, load_questions, overlaps
from reportrag.retrieval.search import Filters, Searcher, clean_query

GRID = {
    "quote_margin": (0.05, 0.1, 0.15, 0.2, 0.3),
    "other_report_margin": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
    "min_relevance": (0.1, 0.2, 0.3, 0.4, 0.5),
    "min_answer_relevance": (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3),
}


def candidates(searcher: Searcher, questions: list[dict], settings: AnswerSettings = DEFAULTS) -> list[tuple[dict, list[Sentence], str]]:
    """Per question: its candidate sentences (features filled in, unscored) and the evidence check's verdict."""
    out = []
    for q in questions:
        text = clean_query(q["question"])
        vector = searcher.embedder.encode([text])[0]
        hits = searcher.rank(text, vector, settings.search_depth, "hybrid+rerank", Filters())  # as answers search
        sentences = score_sentences(searcher, text, vector, hits, settings)
        out.append((q, sentences, evidence.assess(text, sentences, hits, searcher, settings)))
    return out


def fit(rows: np.ndarray, labels: np.ndarray) -> relevance.RelevanceModel:
    from sklearn.linear_model import LogisticRegression

    mean, scale = rows.mean(axis=0), rows.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=1.0, max_iter=2000).fit((rows - mean) / scale, labels)
    return relevance.RelevanceModel(relevance.FEATURES, mean, scale, lr.coef_[0], float(lr.intercept_[0]), {})


def out_of_fold(data: list, folds: int = 5) -> list[np.ndarray]:
    """Each question's chances from a model fitted on the other folds' questions."""
    chances: list[np.ndarray] = [np.zeros(0)] * len(data)
    for k in range(folds):
        train = [d for i, d in enumerate(data) if i % folds != k and d[0]["gold"]]
        model = fit(*_stack(train))
        for i, (_, sentences, _) in enumerate(data):
            if i % folds == k:
                chances[i] = model.predict(np.asarray([s.features for s in sentences])) if sentences else np.zeros(0)
    return chances


def _stack(data: list) -> tuple[np.ndarray, np.ndarray]:
    rows = [s.features for _, sentences, _ in data for s in sentences]
    labels = [overlaps(s.text, q["gold"]) for q, sentences, _ in data for s in sentences]
    return np.asarray(rows, dtype=np.float64), np.asarray(labels, dtype=int)


def scored(data: list, chances: list[np.ndarray]) -> list[tuple[dict, list[Sentence], str]]:
    """Each question's candidates with these chances as their scores, best first."""
    return [(q, sorted((replace(s, score=float(c)) for s, c in zip(sentences, chance)), key=lambda s: -s.score), reason)
            for (q, sentences, reason), chance in zip(data, chances)]


def figures(data: list, settings: AnswerSettings) -> dict:
    """The answer figures (``runner.answer_figures``, as ``reportrag eval`` reports them) for this choice, on
    candidates already scored."""
    outcomes = []
    for q, sentences, reason in data:
        abstains = bool(reason) or not sentences or sentences[0].score < settings.min_answer_relevance
        outcomes.append((q, None if abstains else [s.text for s in choose(sentences, settings)]))
    return answer_figures(outcomes)


def tune(data: list, chances: list[np.ndarray]) -> tuple[dict, dict]:
    """The grid point with the best sum of gold-quoting, quote precision and abstention on unanswerable questions,
    within ≤ 2.5 quotes per answer and ≤ 5 % false abstention; ties go to precision."""
    data = scored(data, chances)
    best, best_key, best_figures = {}, None, {}
    for values in itertools.product(*GRID.values()):
        choice = dict(zip(GRID, values))
        result = figures(data, DEFAULTS.model_copy(update=choice))  # max_quotes: the setting's cap
        if result["quotes_per_answer"] > 2.5 or result["answerable_flagged"] > 0.05:
            continue
        key = (round(result["answerable_quoting_gold"] + result["quote_precision"] + result["unanswerable_flagged"], 3),
               result["quote_precision"])
        if best_key is None or key > best_key:
            best, best_key, best_figures = choice, key, result
    return best, best_figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=PROJECT_ROOT / "eval" / "questions.jsonl")
    parser.add_argument("--out", type=Path, help="default: reportrag/answers/relevance_models/<embedding model>.json")
    args = parser.parse_args(argv)
    from reportrag.service.service import Service

    searcher = Service(Settings.from_env()).searcher  # REPORTRAG_MODEL=minilm trains the fast model's
    data = candidates(searcher, load_questions(args.questions))
    rows, labels = _stack([d for d in data if d[0]["gold"]])
    print(f"{len(data)} questions, {len(rows)} candidate sentences, {labels.sum()} holding gold", file=sys.stderr)
    chances = out_of_fold(data)
    choice, cv = tune(data, chances)
    model = fit(rows, labels)
    about = {"trained_on": args.questions.name, "questions": len(data), "candidates": int(len(rows)),
             "positives": int(labels.sum()), "embedding_model": searcher.embedder.name, "choice": choice,
             "out_of_fold": {k: round(v, 4) for k, v in cv.items()}, **provenance()}
    out = args.out or relevance.BUNDLED_DIR / f"{searcher.embedder.name}.json"
    write_atomic(out, json.dumps(replace(model, about=about).to_json(), indent=1))
    print(json.dumps({"choice": choice, "out_of_fold": about["out_of_fold"]}, indent=1))
    print(f"written: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
