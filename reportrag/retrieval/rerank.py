"""Re-scoring the fused candidates: by the references a question names, or by a cross-encoder from a local folder.

No cross-encoder ships its weights in a package we can install here, so the default stage uses what the
reports themselves give us: a question that names "paragraph 24 (d) of the concluding observations",
"Article 11, paragraph 1 (d)" or "the section on rural women" is asking for the passages that answer exactly
that reference. Embeddings blur "24 (d)" into "24 (a)" and BM25 rewards long passages that list five
references; the stage prefers the passages whose own references match the question's (Jaccard, so a passage
answering exactly "24 (d)" beats one listing "24 (a), (b) and (d)"), and passages in a section the question names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
from rapidfuzz import fuzz

from reportrag.core.records import Passage

_ARTICLE = re.compile(r"\barticle\s+(\d{1,2})(?:\s*,?\s*paragraph\s+(\d))?(?:\s*\(([a-z])\))?", re.I)
_PART = re.compile(r"\b(?i:part|section)\s+([IVX]+(?:\.[A-N])?)\b")
_OBSERVATION = re.compile(r"\b(?:paragraphs?\s+)?(\d{1,3})((?:\s*(?:,|and)?\s*\([a-z]\))*)(?!\s*(?:per|%|\d))")
_MENTIONS_OBSERVATIONS = re.compile(r"concluding\s+observation|recommendation", re.I)
_ASKS_COMMITTEE = re.compile(r"\bCommittee[’']s\s+(?:\w+\s+)?recommendations?|\brecommendations?\s+(?:of|by|from)\s+the\s+"
                             r"Committee|\bconcluding\s+observations?\b", re.I)
_LABEL_ONLY = re.compile(r"^(?:article|part)\s+[\w.]+(?:,\s*paragraph\s+\d)?(?:\s*\([a-z]\))?\.?$", re.I)
_MIN_TITLE = 8  # shorter section titles ("Article 5") are matched by label, not by name


class Reranker(Protocol):
    name: str

    def rerank(self, query: str, passages: list[Passage], scores: np.ndarray) -> np.ndarray:
        """New scores for ``passages`` (the fused candidates, best first) given their fused ``scores``."""
        ...


@dataclass(frozen=True)
class QueryReferences:
    observations: frozenset[str]  # "24(d)", or "10" for a paragraph without items
    sections: tuple[str, ...]  # section labels: "Article 11, paragraph 1 (d)", "Article 14", "VII.C"


def query_references(query: str) -> QueryReferences:
    sections = []
    for m in _ARTICLE.finditer(query):
        number, paragraph, item = m.groups()
        label = f"Article {number}"
        if paragraph:
            label += f", paragraph {paragraph}"
        if item:
            label += f" ({item})"
        sections.append(label)
    sections += [m.group(1) for m in _PART.finditer(query)]
    observations: set[str] = set()
    if _MENTIONS_OBSERVATIONS.search(query):
        rest = _ARTICLE.sub(" ", query)
        for m in _OBSERVATION.finditer(rest):
            items = re.findall(r"\(([a-z])\)", m.group(2))
            observations.update(f"{m.group(1)}({i})" for i in items) if items else observations.add(m.group(1))
    return QueryReferences(frozenset(observations), tuple(sections))


@dataclass(frozen=True)
class ReferenceReranker:
    """Adds a bonus for matching references; leaves the order alone when the question names none."""

    # measured on eval/questions.jsonl (see eval/results): 0.5/0.2/0.2 took hybrid R@5 from .894 to .925
    observation_weight: float = 0.5
    section_weight: float = 0.2
    title_weight: float = 0.2
    # a question on "the Committee's recommendation on X" naming no paragraph is asking for the report's responses:
    # training R@5 0.936 -> 0.942 (women's health found), MRR@10 0.841 -> 0.855; 0.05-0.2 alike
    responding_weight: float = 0.1
    name: str = "references"

    def rerank(self, query: str, passages: list[Passage], scores: np.ndarray) -> np.ndarray:
        refs = query_references(query)
        titles = named_titles(query, {t for p in passages for t in p.section})
        out = np.asarray(scores, dtype=np.float32).copy()
        responding = self.responding_weight * bool(not refs.observations and _ASKS_COMMITTEE.search(query))
        for i, p in enumerate(passages):
            out[i] += responding * bool(p.concluding_observations)
            out[i] += self.observation_weight * _observation_match(refs.observations, p.concluding_observations)
            out[i] += self.section_weight * max((_section_match(label, p.section_label) for label in refs.sections), default=0.0)
            out[i] += self.title_weight * any(t in titles for t in p.section)
        return out


class SectionMap:
    """Which passages stand in which section, by label and by title: built once per searcher, so finding the
    sections a question names costs one fuzzy match per distinct title, not one per passage."""

    def __init__(self, passages: list[Passage]) -> None:
        self.by_label: dict[str, list[int]] = {}
        self.by_title: dict[str, list[int]] = {}
        for row, p in enumerate(passages):
            self.by_label.setdefault(p.section_label, []).append(row)
            for title in set(p.section):
                self.by_title.setdefault(title, []).append(row)

    def named(self, query: str) -> list[int]:
        """Rows of the passages in a section the question names: candidates to re-score even when the fused
        ranking left them out."""
        refs = query_references(query)
        rows = [r for label, rs in self.by_label.items() if any(_section_match(w, label) for w in refs.sections) for r in rs]
        rows += [r for title in named_titles(query, set(self.by_title)) for r in self.by_title[title]]
        return list(dict.fromkeys(rows))


def reference_match(refs: QueryReferences, passage: Passage) -> float:
    """How exactly a passage answers the references a question names (0: none named, or none matched)."""
    return max(
        _observation_match(refs.observations, passage.concluding_observations),
        max((_section_match(label, passage.section_label) for label in refs.sections), default=0.0),
    )


def _observation_match(wanted: frozenset[str], refs: tuple[str, ...]) -> float:
    if not wanted or not refs:
        return 0.0
    # "24" in a question matches "24(d)" in a passage
    have = {r for r in refs if r in wanted or r.split("(")[0] in wanted}
    return len(have) / len(wanted | set(refs)) if have else 0.0


def _section_match(wanted: str, label: str) -> float:
    if label == wanted:
        return 1.0
    return 0.5 if label.startswith(wanted + ",") or label.startswith(wanted + " (") or label.startswith(wanted + ".") else 0.0


def named_titles(query: str, titles: set[str]) -> set[str]:
    """The section titles a question names, near enough ("the Conclusion", "the section on … international norms")."""
    lowered = query.lower()
    return {
        t
        for t in titles
        if _MIN_TITLE <= len(_bare(t)) <= len(lowered) and fuzz.partial_ratio(_bare(t), lowered) >= 90
    }


@lru_cache(maxsize=4096)
def _bare(title: str) -> str:
    """"4. Protection of human rights …" → "protection of human rights …": numbering is not how people name it.
    Bare labels ("Article 1", "Article 5 (a)") are matched as labels: as text "article 1" is inside "article 11"."""
    if _LABEL_ONLY.match(title):
        return ""
    return re.sub(r"^(?:(?:[IVX]+|\d+|[A-N])[.)]|Article\s+\d+\.)\s*", "", title).lower()


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder from a local folder (for users who have one); its score replaces the
    fused one, with the fused score as a small tie-break."""

    def __init__(self, model_dir: Path, *, batch_size: int = 32) -> None:
        from sentence_transformers import CrossEncoder

        self.model = CrossEncoder(str(model_dir), device="cpu", local_files_only=True)
        self.batch_size = batch_size
        self.name = f"cross-encoder:{Path(model_dir).name}"

    def rerank(self, query: str, passages: list[Passage], scores: np.ndarray) -> np.ndarray:
        if not passages:
            return np.zeros(0, dtype=np.float32)
        relevance = self.model.predict(
            [(query, p.text) for p in passages], batch_size=self.batch_size, show_progress_bar=False, convert_to_numpy=True
        )
        relevance = 1 / (1 + np.exp(-np.asarray(relevance, dtype=np.float32).reshape(len(passages), -1)[:, -1]))
        return (relevance + 0.01 * np.asarray(scores, dtype=np.float32)).astype(np.float32)
