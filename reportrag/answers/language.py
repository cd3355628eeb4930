"""Is the question in English? The reports and the embedding model are, so a question in Russian or Kazakh finds
only unrelated passages: it gets a notice to ask in English instead of quotes.

The check is cheap and cautious: a question whose letters are mostly of another script (Cyrillic, Arabic, …), or
a Latin-script one with no English function word and several of French, Spanish or German. Names inside an
English question ("What does the report say about the Mazhilis?", "… Мажилис?") leave it English.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from reportrag.core.records import Answer

# letters only Kazakh (among Cyrillic-script languages users here write) has
_KAZAKH_LETTERS = set("әғқңөұүһӘҒҚҢӨҰҮҺ")
_WORD = re.compile(r"[^\W\d_]+")
# function words that are English and not also common in French, Spanish or German ("in", "a", "was" are)
_ENGLISH = set(
    "the of and or to for with from about against under into by at an is are was were be been has have had "
    "does do did what which who whom whose how when where why many much this that these those there any its "
    "their it".split()
) - {"was"}
_OTHER_LATIN = set(
    "le la les des du une est sont quel quelle quels quelles dans avec pour sur qui que et "  # French
    "el los las del una qué cuál cuáles cuántos cuántas para por con es y "  # Spanish
    "der die das und ist sind wie welche welcher wird für mit von dem den nicht ein eine "  # German
    .split()
)


def question_language(question: str) -> str:
    """The language a question seems to be in when it is not English ("Russian", "Kazakh", "another language");
    "" when it reads as English or is too short to tell."""
    letters = [c for c in question if c.isalpha()]
    if not letters:
        return ""
    script, count = Counter(_script(c) for c in letters).most_common(1)[0]
    if script != "LATIN" and count > len(letters) / 2:
        if script == "CYRILLIC":
            return "Kazakh" if _KAZAKH_LETTERS & set(question) else "Russian"
        return f"another language ({'CJK' if script == 'CJK' else script.title()} script)"
    words = [w.lower() for w in _WORD.findall(question)]
    foreign = sum(w in _OTHER_LATIN for w in words)
    if len(words) >= 3 and foreign >= 2 and not _ENGLISH.intersection(words):
        return "another language"
    return ""


def _script(letter: str) -> str:
    """"LATIN", "CYRILLIC", "ARABIC", "CJK", …: the first word of the letter's Unicode name."""
    return unicodedata.name(letter, "UNKNOWN").split()[0]


def notice(language: str) -> str:
    return (f"The reports and the model are in English; ask in English "
            f"(the question seems to be in {language}).")


def not_english(question: str) -> Answer | None:
    """The answer to a question not in English: a notice, no quotes; None for an English question."""
    language = question_language(question)
    if not language:
        return None
    return Answer(question=question, answered=False, statements=(), citations=(), reason=notice(language),
                  language=language)
