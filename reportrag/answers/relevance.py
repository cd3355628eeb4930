"""How well a sentence answers the question: the chance, from a small logistic model, that it holds the evidence.

Closeness alone quotes labour-force figures for "the minimum wage" and the paragraph numbers of a list for
"paragraph 26 (a)". The model weighs what the answer step already knows of each candidate sentence: its cosine
with the question and its passage's rank, how much of the question's rare vocabulary it carries, whether its
passage answers the references the question names ("26 (a)", "Article 11"), whether its section's title names
the topic, whether it gives a figure when one is asked for, and whether it only leads into a list. It is trained
on the training split only (``python -m reportrag.eval.train_quotes`` over eval/questions.jsonl), once per
bundled embedding model, and stored as plain JSON coefficients in relevance_models/: no pickle, nothing to trust
but numbers. Each file also carries the quote-choice settings chosen with it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from reportrag.core.errors import BadDataset
from reportrag.core.settings import AnswerSettings
from reportrag.retrieval.rerank import QueryReferences, query_references, reference_match
from reportrag.retrieval.term_stats import TermStats

# one model per embedding model (its cosines are its own), named after it; a model of the user's own gets mpnet's
BUNDLED_DIR = Path(__file__).with_name("relevance_models")
FALLBACK = "all-mpnet-base-v2"
# the quote-choice settings chosen with each model (train_quotes), used where the settings leave them unset
CHOICE = ("quote_margin", "other_report_margin", "min_relevance", "min_answer_relevance")
FEATURES = (
    "cosine", "cosine_gap", "coverage", "coverage_gap", "passage_rank", "top_passage", "section_coverage",
    "reference_match", "reference_miss", "figure_given", "figure_missing", "year_given", "lead_in",
    "log_length", "first_in_passage", "dangling_start",
)
# "how many", "what share", "percentage of": the question wants a figure
_ASKS_FIGURE = re.compile(
    r"\bhow\s+(?:many|much|long|far|old)\b|\b(?:share|percentage|per\s*cent|percent|proportion|number|rate|"
    r"ratio|amount|level|figures?|statistics|data)\b", re.I)
_FIGURE = re.compile(r"(?<![\w.])\d[\d,. ]*\d(?:\s*(?:%|per\s*cent|percent))?|\b\d\b")
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
# a number that points somewhere, not a figure: "Article 7 (a)", "paragraphs 36 (b) and (c)", "Goal 5", "No. 361"
_REFERENCE = re.compile(r"\b(?:articles?|art\.|paragraphs?|para\.|parts?|goals?|SDGs?|resolutions?|Nos?\.|chapters?"
                        r"|sections?|annex|items?|Act\s+No\.?)\s*\d+(?:\s*(?:,|and|or)?\s*(?:\d+|\([a-z]\)))*", re.I)
# a sentence that leans on the one before for its subject: "It …", "This …", "In addition, …"
_DANGLING = re.compile(r"^(?:it|this|these|those|they|such|its|their|in addition|also|moreover|furthermore)\b", re.I)


@dataclass(frozen=True)
class Cues:
    """What the question asks for, worked out once per question."""

    terms: list[str]
    references: QueryReferences
    asks_figure: bool
    years: tuple[str, ...]


def cues_of(question: str, terms: list[str]) -> Cues:
    return Cues(terms, query_references(question), asks_figure(question), tuple(_YEAR.findall(question)))


def asks_figure(question: str) -> bool:
    return bool(_ASKS_FIGURE.search(question))


def gives_figure(text: str) -> bool:
    """A count, amount or share: not a year, nor the number of an article, paragraph or goal."""
    return any(not _YEAR.fullmatch(m.group().strip()) for m in _FIGURE.finditer(_REFERENCE.sub(" ", text)))


@dataclass(frozen=True)
class Candidate:
    """One sentence as the model sees it, before comparing it with the other candidates."""

    text: str
    cosine: float
    coverage: float
    passage_rank: int  # 1 = the best passage found
    section: tuple[str, ...]
    reference_match: float
    first_in_passage: bool


def features(cues: Cues, stats: TermStats, candidates: list[Candidate]) -> np.ndarray:
    """One row of ``FEATURES`` per candidate; the gaps compare each with the best of the question's candidates."""
    if not candidates:
        return np.zeros((0, len(FEATURES)), dtype=np.float64)
    best_cosine = max(c.cosine for c in candidates)
    best_coverage = max(c.coverage for c in candidates)
    named = bool(cues.references.observations or cues.references.sections)
    rows = []
    for c in candidates:
        has_figure = gives_figure(c.text)
        rows.append((
            c.cosine, c.cosine - best_cosine, c.coverage, c.coverage - best_coverage,
            1.0 / c.passage_rank, float(c.passage_rank == 1),
            stats.coverage(cues.terms, " ".join(c.section)),
            c.reference_match, float(named and c.reference_match == 0.0),
            float(cues.asks_figure and has_figure), float(cues.asks_figure and not has_figure),
            (sum(y in c.text for y in cues.years) / len(cues.years)) if cues.years else 0.0,
            float(c.text.rstrip().endswith(":")),
            math.log(max(len(c.text), 1)),
            float(c.first_in_passage),
            float(bool(_DANGLING.match(c.text.lstrip()))),
        ))
    return np.asarray(rows, dtype=np.float64)


def candidate(question_terms: list[str], stats: TermStats, text: str, cosine: float, passage, rank: int,
              cues: Cues, first: bool) -> Candidate:
    return Candidate(text, cosine, stats.coverage(question_terms, text), rank, passage.section,
                     reference_match(cues.references, passage), first)


@dataclass(frozen=True)
class RelevanceModel:
    """Standardise, weigh, squash: ``predict`` gives each row's chance of holding the evidence."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    about: dict

    def predict(self, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        z = ((rows - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict:
        return {"features": list(self.features), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "intercept": self.intercept, "about": self.about}

    @classmethod
    def from_json(cls, data: dict) -> RelevanceModel:
        return cls(tuple(data["features"]), np.asarray(data["mean"], float), np.asarray(data["scale"], float),
                   np.asarray(data["coef"], float), float(data["intercept"]), dict(data.get("about", {})))


def bundled(embedding_model: str) -> Path:
    path = BUNDLED_DIR / f"{embedding_model}.json"
    return path if path.is_file() else BUNDLED_DIR / f"{FALLBACK}.json"


def load(path: Path | None = None, embedding_model: str = FALLBACK) -> RelevanceModel:
    """The model at ``path`` (the one bundled for ``embedding_model`` when none); a file that is not one is a clear
    error."""
    path = Path(path or bundled(embedding_model))
    try:
        stat = path.stat()
    except OSError as exc:
        raise BadDataset(_not_a_model(path, exc)) from None
    return _load_file(path, stat.st_mtime_ns, stat.st_size)  # every answer asks: read once, again when it changes


def _not_a_model(path: Path, problem: Exception) -> str:
    return f"{path}: not a relevance model ({problem}); retrain with 'python -m reportrag.eval.train_quotes'"


@lru_cache(maxsize=8)
def _load_file(path: Path, _mtime_ns: int, _size: int) -> RelevanceModel:
    try:
        model = RelevanceModel.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadDataset(_not_a_model(path, exc)) from None
    if set(CHOICE) - set(model.about.get("choice", {})) or model.features != FEATURES or not (len(model.mean) == len(model.scale) == len(model.coef) == len(FEATURES)):
        raise BadDataset(f"{path}: its features are not this version's; retrain with 'python -m reportrag.eval.train_quotes'")
    return model


def with_choice(settings: AnswerSettings, model: RelevanceModel) -> AnswerSettings:
    """``settings`` with each quote-choice setting it leaves unset taken from ``model``."""
    unset = {k: model.about["choice"][k] for k in CHOICE if getattr(settings, k) is None}
    return settings.model_copy(update=unset) if unset else settings
