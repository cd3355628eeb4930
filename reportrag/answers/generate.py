"""Optional generated answers: a chat model writes the answer, and every citation it makes is checked here.

The model sees the retrieved passages numbered ``[1] … [n]`` and must quote the reports verbatim with ``[n]`` after
each sentence. Nothing it writes is trusted: a statement is ``verified`` only when every double-quoted span is found
verbatim (``quotes.find_exact``) in a passage the sentence cites, or, for a sentence without quotes, when the whole
sentence is. Figures the model writes outside quotes must also stand in what it cites, since a changed number is
the likeliest plausible invention. Everything else is flagged with a note, or dropped (``unverified="drop"``).

Extractive answers stay the default; this module is used only when a chat model is configured.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.prompts import ChatPromptTemplate

from reportrag.answers import quotes
from reportrag.answers.extractive import place_of
from reportrag.core.errors import ReportragError
from reportrag.core.records import Answer, Citation, Document, Hit, Passage, Place, Span, Statement

NO_ANSWER = "The reports do not appear to address this."

SYSTEM = f"""You answer questions about two human-rights reports on Kazakhstan, using ONLY the numbered passages \
given by the user. Rules:
- Answer only from the passages; add nothing from your own knowledge.
- Quote the reports' own words verbatim in double quotes ("..."); copy them exactly, without changing any word or \
number. Any figure or date you write must appear in the passage you cite.
- Put the passage number(s) in square brackets after every sentence, e.g. [1] or [1][3], naming the passage(s) that \
sentence rests on.
- Keep it short: a few sentences.
- If the passages do not answer the question, reply exactly: {NO_ANSWER}"""

HUMAN = """Passages:

{passages}

Question: {question}"""

PROMPT = ChatPromptTemplate.from_messages([("system", SYSTEM), ("human", HUMAN)])

CHAT_MODEL_FORMS = "openai-compatible:<model>@<base_url>, ollama:<model>[@<base_url>]"

_MARKERS = re.compile(r"\s*(?:\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])+")
_BULLET = re.compile(r"^(?:[-*•]|\d+[.)])\s+")
_ELLIPSIS = re.compile(r"\s*\[?(?:\.\.\.|…)\]?\s*")
# "3,200", "13.7": digits with inner separators, no ordinal suffix ("62nd" is checked as "62")
_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
_ABSTAIN = re.compile(r"\b(?:do|does)(?: not|n['’]t) (?:appear to |seem to )?address\b", re.I)
# “ is closed only by ” so straight quotes inside it (the reports quote laws and speeches) stay part of the quote;
# a straight opening quote is closed by either, as models mix them
_CLOSER = {"“": "”", '"': '"”'}


# ---- the prompt ---------------------------------------------------------------------------------------------------


def format_passages(hits: Sequence[Hit], documents: dict[str, Document]) -> str:
    blocks = []
    for i, hit in enumerate(hits, 1):
        p = hit.passage
        paragraphs = f"¶{p.paragraphs[0]}" + (f"–{p.paragraphs[-1]}" if len(p.paragraphs) > 1 else "")
        section = f", {p.section_label}" if p.section_label else ""
        blocks.append(f"[{i}] {_title(hit, documents)}{section}, {paragraphs}\n{p.text}")
    return "\n\n".join(blocks)


def build_messages(question: str, hits: Sequence[Hit], documents: dict[str, Document]) -> list[BaseMessage]:
    return PROMPT.format_messages(passages=format_passages(hits, documents), question=question)


# ---- asking the model ---------------------------------------------------------------------------------------------


def generate_answer(question: str, hits: Sequence[Hit], documents: dict[str, Document],
                    chat_model: BaseChatModel, *, unverified: str = "flag") -> Answer:
    """Ask ``chat_model`` to answer from ``hits`` and return the answer with every statement checked."""
    _policy(unverified)  # before paying for a model call
    text = _text(chat_model.invoke(build_messages(question, hits, documents)).content) if hits else ""
    return check_answer(question, text, hits, documents, method=model_method(chat_model), unverified=unverified)


def stream_answer(question: str, hits: Sequence[Hit], documents: dict[str, Document],
                  chat_model: BaseChatModel, *, unverified: str = "flag") -> Iterator[str | Answer]:
    """Yield the model's text as it arrives (unchecked, for display), then the checked ``Answer`` last."""
    _policy(unverified)
    parts: list[str] = []
    if hits:
        for chunk in chat_model.stream(build_messages(question, hits, documents)):
            if piece := _text(chunk.content):
                parts.append(piece)
                yield piece
    yield check_answer(question, "".join(parts), hits, documents, method=model_method(chat_model),
                       unverified=unverified)


def model_method(chat_model: BaseChatModel) -> str:
    # the configured model's name says more than the provider type; fake and unknown models fall back to the type
    names = (getattr(chat_model, a, None) for a in ("model_name", "model", "_llm_type"))
    return "generated:" + next((v for v in names if isinstance(v, str) and v), type(chat_model).__name__)


def _text(content: str | list) -> str:
    """A message's text: providers return a string or a list of content blocks (strings or {"type": "text"} dicts)."""
    if isinstance(content, str):
        return content
    return "".join(b if isinstance(b, str) else b.get("text", "") for b in content
                   if isinstance(b, str) or b.get("type") == "text")


# ---- checking what it wrote ---------------------------------------------------------------------------------------


@dataclass
class _Checked:
    text: str  # the sentence without its [n] markers
    places: list[tuple[Place, Hit]] = field(default_factory=list)  # where each verbatim quote stands
    notes: list[str] = field(default_factory=list)  # why it is not verified; none: verified


def check_answer(question: str, text: str, hits: Sequence[Hit], documents: dict[str, Document], *,
                 method: str = "generated", unverified: str = "flag") -> Answer:
    """Parse a model's answer into statements and check each citation against the passages it names."""
    _policy(unverified)
    closest = tuple(hits)

    def abstain(reason: str, statements: tuple[Statement, ...] = (), citations: tuple[Citation, ...] = ()) -> Answer:
        return Answer(question, False, statements, citations, closest=closest, reason=reason, method=method)

    if not hits:
        return abstain("no passages were found to answer from")
    sentences = split_answer_sentences(text)
    abstentions = [s for s in sentences if _ABSTAIN.search(s) and not _markers(s)[0]]
    if abstentions and not any(_markers(s)[0] for s in sentences):
        return abstain(_clean(abstentions[0]))
    checked = [check_sentence(s, hits, documents) for s in sentences if s not in abstentions]
    if not checked:
        return abstain("the model returned no answer")
    if unverified == "drop":
        checked = [c for c in checked if not c.notes]

    # citations numbered in order of first use, one per distinct place
    citations: dict[tuple[str, int, int], Citation] = {}
    statements = []
    for c in checked:
        for place, hit in c.places:
            key = (place.doc_id, place.start, place.end)
            if key not in citations:
                text = documents[place.doc_id].text
                quote = text[place.start:place.end]
                citations[key] = Citation(
                    n=len(citations) + 1, quote=quote, place=place,
                    anchor=quotes.anchor(place.doc_id, place.paragraph, quote),
                    verified=text[place.start:place.end] == quote, score=hit.score,
                    also_at=tuple(pl for a in hit.also_at if (pl := _place(quote, a, documents))))
        ns = tuple(dict.fromkeys(citations[(pl.doc_id, pl.start, pl.end)].n for pl, _ in c.places))
        docs = {pl.doc_id for pl, _ in c.places}
        statements.append(Statement(c.text, ns, not c.notes, doc_id=docs.pop() if len(docs) == 1 else "",
                                    note="; ".join(c.notes)))
    if not any(s.verified for s in statements):
        return abstain("none of the model's statements could be verified against the passages", tuple(statements),
                       tuple(citations.values()))
    return Answer(question, True, tuple(statements), tuple(citations.values()), closest=closest, method=method)


def _policy(unverified: str) -> None:
    if unverified not in ("flag", "drop"):
        raise ReportragError(f"unverified: {unverified!r} is not one of flag, drop")


def check_sentence(sentence: str, hits: Sequence[Hit], documents: dict[str, Document]) -> _Checked:
    """One sentence of the answer: where its quotes stand, and a note for each thing not verbatim where it says."""
    cited, text = _markers(sentence)
    out = _Checked(text)
    given = [n for n in cited if 1 <= n <= len(hits)]
    out.notes += [f"cites [{n}], which was not given" for n in cited if n not in given]
    if not cited:
        out.notes.append("no citation")
    spans, balanced = _quoted(text)
    if not balanced:
        out.notes.append("unbalanced quotation marks")
    if not given:
        return out
    if not spans and balanced:
        # no quotes: the whole sentence must be the report's words (a final full stop may be the model's own)
        for n in given:
            place = _place(text, hits[n - 1].passage, documents) or \
                _place(text.rstrip(".;: "), hits[n - 1].passage, documents)
            if place:
                out.places.append((place, hits[n - 1]))
            else:
                out.notes.append(f"sentence not found verbatim in [{n}]")
        return out
    used: set[int] = set()
    for a, b in spans:
        found = [(n, place) for n in given for place in _find_all(text[a:b], hits[n - 1].passage, documents)]
        if not found:
            out.notes.append(f"quote not found in {_refs(given)}")
        used.update(n for n, _ in found)
        out.places += [(place, hits[n - 1]) for n, place in found]
    outside = text
    for a, b in reversed(spans):
        outside = outside[:a] + outside[b:]
    shown = set().union(*(_figures(_header(hits[n - 1], documents)) for n in given))
    out.notes += [f"number {x} is not in {_refs(given)}" for x in sorted(_figures(outside) - shown)]
    if not any(note.startswith("quote not found") for note in out.notes):  # else that note has said it
        out.notes += [f"nothing quoted from [{n}]" for n in given if n not in used]
    return out


def _find_all(quote: str, passage: Passage, documents: dict[str, Document]) -> list[Place]:
    """Places of a quote in one passage; a quote with an ellipsis counts only if each piece is in that passage."""
    pieces = [p for p in _ELLIPSIS.split(quote) if p.strip()]
    places = [_place(p, passage, documents) for p in pieces]
    return places if places and all(places) else []


def _place(quote: str, passage: Passage, documents: dict[str, Document]) -> Place | None:
    """Where ``quote`` first stands in ``passage``, in canonical offsets, with the ¶ that holds its start."""
    document = documents[passage.doc_id]
    spans = quotes.find_exact(quote, document.text[passage.start:passage.end])
    if not spans:
        return None
    return place_of(document, passage, Span(passage.start + spans[0][0], passage.start + spans[0][1]))


def _title(hit: Hit, documents: dict[str, Document]) -> str:
    document = documents.get(hit.passage.doc_id)
    return document.info.short_title if document else hit.doc_title


def _header(hit: Hit, documents: dict[str, Document]) -> str:
    """What the model was shown of a passage: figures in its title, section and ¶ numbers may be repeated freely."""
    p = hit.passage
    return f"{_title(hit, documents)} {p.section_label} {' '.join(map(str, p.paragraphs))} {p.text}"


def _figures(text: str) -> set[str]:
    return {m.replace(",", "") for m in _FIGURE.findall(text)}  # "3,200" and "3200" are the same figure


def _refs(ns: Sequence[int]) -> str:
    return "".join(f"[{n}]" for n in ns)


# ---- parsing ------------------------------------------------------------------------------------------------------


def split_answer_sentences(text: str) -> list[str]:
    """Sentences of the model's answer, each with its ``[n]`` markers. Splits only outside quotation marks (a quote
    may hold several sentences): at line breaks, and after . ! ? (or a closing quote ending in one) and any markers
    that follow, when the next word starts with a capital letter or a quote, not "No. 263" or "e.g. the"."""
    out, start, closer, i = [], 0, "", 0
    while i < len(text):
        ch = text[i]
        end = None
        if closer:
            if ch in closer:
                closer = ""
                if text[i - 1] in ".!?":
                    end = i + 1
        elif ch in _CLOSER:
            closer = _CLOSER[ch]
        elif ch == "\n":
            end = i + 1
        elif ch in ".!?":
            end = i + 1
        if end is not None:
            m = _MARKERS.match(text, end)
            end = m.end() if m else end
            rest = text[end:]
            if ch == "\n" or not rest.strip() or (rest[:1].isspace() and not re.match(r"\s*[a-z0-9]", rest)):
                out.append(text[start:end])
                start = i = end
                continue
        i += 1
    out.append(text[start:])
    sentences: list[str] = []
    for s in (_BULLET.sub("", s.strip()) for s in out):
        if m := _MARKERS.match(s):  # markers that open a line belong to the sentence before
            if sentences:
                sentences[-1] += s[:m.end()]
            s = s[m.end():].strip()
        if s:
            sentences.append(s)
    return sentences


def _markers(sentence: str) -> tuple[list[int], str]:
    """The passage numbers a sentence cites, in order, and its text without the markers (those inside quotes are
    part of the quote, not citations)."""
    spans, _ = _quoted(sentence)
    cited, kept, last = [], [], 0
    for m in _MARKERS.finditer(sentence):
        if any(a <= m.start() < b for a, b in spans):
            continue
        cited += [int(n) for n in re.findall(r"\d+", m.group())]
        kept.append(sentence[last:m.start()])
        last = m.end()
    kept.append(sentence[last:])
    return list(dict.fromkeys(cited)), _clean("".join(kept))


def _clean(text: str) -> str:
    return re.sub(r"\s+([.,;:!?])", r"\1", " ".join(text.split()))


def _quoted(text: str) -> tuple[list[tuple[int, int]], bool]:
    """(start, end) of the text inside each pair of double quotes, and whether every quote was closed."""
    spans, opened, closer = [], 0, ""
    for i, ch in enumerate(text):
        if not closer and ch in _CLOSER:
            opened, closer = i + 1, _CLOSER[ch]
        elif closer and ch in closer:
            if text[opened:i].strip():
                spans.append((opened, i))
            closer = ""
    return spans, not closer


# ---- configuration ------------------------------------------------------------------------------------------------


def chat_model_from_env(value: str) -> BaseChatModel:
    """A chat model from a setting such as ``REPORTRAG_CHAT_MODEL``: ``openai-compatible:<model>@<base_url>`` or
    ``ollama:<model>[@<base_url>]``. Provider packages are optional and imported only when asked for."""
    provider, _, rest = value.strip().partition(":")
    model, _, base_url = rest.partition("@")
    model, base_url = model.strip(), base_url.strip()
    if provider == "openai-compatible" and model and base_url:
        ChatOpenAI = _load("langchain_openai", "ChatOpenAI", "langchain-openai")
        # local OpenAI-compatible servers (vLLM, llama.cpp, LM Studio) ignore the key but the client insists on one
        return ChatOpenAI(model=model, base_url=base_url, api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",
                          temperature=0)
    if provider == "ollama" and model:
        ChatOllama = _load("langchain_ollama", "ChatOllama", "langchain-ollama")
        return ChatOllama(model=model, temperature=0, **({"base_url": base_url} if base_url else {}))
    raise ReportragError(f"chat model: {value!r} is not understood; use one of {CHAT_MODEL_FORMS}")


def _load(module: str, name: str, package: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError:
        raise ReportragError(f"chat model: {package} is not installed; run 'pip install {package}'") from None
