"""Find paragraphs that repeat another paragraph of the same report (sidebar and pull-quote boxes).

A repeat is kept, so its place can still be cited, but marked with the paragraph it repeats so that
search can collapse the two into one hit that lists both places.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz

MIN_CHARS = 40  # shorter paragraphs ("Criminal cases: the Convention was not applied;") are not called copies
MIN_SIMILARITY = 88.0  # rapidfuzz partial_ratio of the shorter against the longer, 0–100
# Share of the shorter text's word trigrams found in the longer: keeps boilerplate with other figures
# ("Thus, paragraphs 22 (b) and (c) … are being fulfilled") from passing as a copy.
MIN_SHARED_TRIGRAMS = 0.5
MIN_SHARED_WORDS = 0.9  # of the shorter text's words of 3+ letters; and every number must be in the longer text

_WORD = re.compile(r"\w+")


def find_duplicates(texts: list[str]) -> dict[int, int]:
    """Map the index of each repeating paragraph to the index of the paragraph it repeats.

    The original is the longer text (a sidebar quotes a part of the body), or the earlier one for equal texts;
    originals are never themselves duplicates, so there are no chains.
    """
    normal = [" ".join(_WORD.findall(t.lower())) for t in texts]
    grams = [_trigrams(n) for n in normal]
    words = [set(n.split()) for n in normal]
    order = sorted(range(len(texts)), key=lambda i: (-len(normal[i]), i))  # originals first
    duplicates: dict[int, int] = {}
    for rank, i in enumerate(order):
        if len(normal[i]) < MIN_CHARS:
            continue
        best, best_score = None, MIN_SIMILARITY
        for j in order[:rank]:
            if j in duplicates or len(grams[i] & grams[j]) < MIN_SHARED_TRIGRAMS * len(grams[i]):
                continue
            if not _words_covered(words[i], words[j]):
                continue
            score = fuzz.partial_ratio(normal[i], normal[j], score_cutoff=best_score)
            if score > best_score or (score == best_score and best is None):
                best, best_score = j, score
        if best is not None:
            duplicates[i] = best
    return duplicates


def _trigrams(normal: str) -> set[tuple[str, ...]]:
    words = normal.split()
    return {tuple(words[k : k + 3]) for k in range(max(len(words) - 2, 1))}


def _words_covered(short: set[str], long: set[str]) -> bool:
    """A copy keeps its figures and nearly all its words ("Ministry of Foreign Affairs" is not "… Internal …")."""
    if any(w.isdigit() and w not in long for w in short):
        return False
    content = [w for w in short if len(w) >= 3]
    return sum(w in long for w in content) >= MIN_SHARED_WORDS * len(content)
