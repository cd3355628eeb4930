"""How a question names a report, as one set of patterns per report: the scope of an answer (``scope``), the years
a question asks about (``evidence``: "the Annual Review 2022" asks about no year) and a follow-up's reading
(``followup``) all find a report's names the same way."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from reportrag.core.records import Document, ReportInfo

# what follows a report's name when it names something else: "the review of its laws", "the CEDAW Committee"
_NOT_THE_REPORT = r"(?!\s+(?:of|committee|convention)\b)"
_COMMON_NAMES = {"report", "reports", "the report", "document", "doc", "file", "text", "paper", "annual report"}
_TITLE_HEAD = re.compile(r"^(.+?)\s+(?:of|on|under|for|to|in)\s", re.I)  # "Sixth periodic report" of "… of …"


@lru_cache(maxsize=4096)  # every question asks of every report: its patterns are compiled once
def names_of(info: ReportInfo) -> tuple[re.Pattern, ...]:
    """How a question names a report: its id after "the" ("the review", "the CEDAW report", "the annual review";
    not "the review of …", not "the CEDAW Committee"), its short title or symbol, the head of its title ("the
    Sixth periodic report") when that is two words or more; never a bare common word ("report.pdf" is not named
    by every "the report")."""
    head = _TITLE_HEAD.match(info.title)
    phrases = [info.short_title, info.symbol, head.group(1) if head and " " in head.group(1) else ""]
    out = [re.compile(rf"(?<!\w){re.escape(p)}(?!\w){_NOT_THE_REPORT}", re.I)
           for p in phrases if p and _words(p) not in _COMMON_NAMES]
    if _words(info.doc_id) not in _COMMON_NAMES:
        words = r"[\s-]+".join(map(re.escape, _words(info.doc_id).split()))  # "annual-review-2022": also with spaces
        out.append(re.compile(rf"\b(?:the|this)\s+(?:annual\s+)?{words}(?:\s+report)?\b{_NOT_THE_REPORT}", re.I))
    return tuple(out)


def without_names(text: str, documents: Mapping[str, Document], instead: str = " ") -> str:
    """``text`` with the reports it names replaced by ``instead`` (once where names stand side by side)."""
    for document in documents.values():
        for pattern in names_of(document.info):
            text = pattern.sub("\x00", text)  # marked first: a title put in is not read as a name again
    return re.sub(r"\x00(?:\s*\x00)*", lambda _: instead, text)


def _words(name: str) -> str:
    return " ".join(re.split(r"[\s_-]+", name.lower())).strip()
