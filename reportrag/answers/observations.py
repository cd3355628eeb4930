"""The concluding-observations route: a question about a paragraph of the Committee's concluding observations is
answered from the report passages that respond to it.

The CEDAW report answers the Committee paragraph by paragraph ("With regard to the recommendation in paragraph
26 (a) of the Committee's concluding observations, …"; "Thus, paragraph 14 (b) … is being fulfilled"), and ingest
records which paragraphs each passage responds to (``Passage.concluding_observations``). Search cannot use that
alone: a question naming "26 (a)" is close to every sentence that names *some* paragraph of the concluding
observations, and one naming "the Committee's recommendation on domestic violence" fails the evidence check (no
passage speaks of "Committee's" with domestic violence). So, before the normal path:

- **by number** ("paragraph 26 (a) of the concluding observations", "CO 26(a)", "recommendation 26 (a)"): the
  passages responding to that paragraph; none → an honest no naming the nearest paragraphs the report answers;
- **by topic** ("the Committee's recommendation on X", "the concluding observations on X", "what did the government
  do about the recommendation on X"): the Committee paragraph (a number, with all its lettered items) whose
  responding passages best match X, their section's title counting ("rural women": "Article 14. Rural women");
  none close enough → the normal path.

The answer quotes the block's opening sentence (what the report did first), the sentence stating a status when the
report gives one ("… is being fulfilled", "… partially fulfilled": quoted, never restated), and the block's
sentences closest to the question, one item of the Committee paragraph at a time; cited like every answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from reportrag.answers import evidence, extractive, relevance
from reportrag.answers.quotes import normalized
from reportrag.core.records import Answer, Hit, Passage
from reportrag.core.settings import AnswerSettings
from reportrag.index.keyword import tokenize
from reportrag.ingest.structure import concluding_observations as refs_named_in
from reportrag.retrieval.filters import Filters
from reportrag.retrieval.query import QueryVectors
from reportrag.retrieval.rerank import query_references
from reportrag.retrieval.search import Searcher
from reportrag.retrieval.term_stats import token_set

_COMMITTEE_NAME = re.compile(r"(?:the\s+)?(?:CEDAW\s+)?Committee\s+on\s+the\s+Elimination\s+of\s+(?:All\s+Forms\s+of\s+)?"
                             r"Discrimination\s+against\s+Women|the\s+CEDAW\s+Committee|\bCEDAW(?=[’']s)", re.I)
_NUMBER = r"\d{1,2}(?!\s*(?:%|per\s*cent|percent|\d))"
_ITEMS = r"(?:\s*(?:,|and|or|&|-|–|to)?\s*\(\s*[a-z]\s*\))*"
_CO_WORDS = r"(?:concluding\s+observations?|recommendations?|\bCOs?\b)"
# "paragraph 26 (a) of the (Committee's) concluding observations", "paragraphs 20 (a) and (b) in the recommendations"
_NAMED_AFTER = re.compile(rf"\bparagraphs?\s+{_NUMBER}{_ITEMS}\s+(?:of|in|from|under)\s+(?:the\s+)?"
                          rf"(?:Committee[’']s\s+|CEDAW\s+)?{_CO_WORDS}", re.I)
# "CO 26(a)", "recommendation 26 (a)", "the recommendation in paragraph 26 (a)", "concluding observations 36 (e)"
_NAMED_BEFORE = re.compile(rf"{_CO_WORDS}\s*(?:(?:in|at|no\.?|number|under)\s+)?(?:paragraphs?\s+)?{_NUMBER}{_ITEMS}",
                           re.I)
# "paragraph 26 (j)" alone: a lettered paragraph outside an article label is the Committee's (kept only when the
# report answers it: the report's own paragraphs carry no letters)
_LETTERED = re.compile(rf"\bparagraphs?\s+{_NUMBER}\s*\(\s*[a-z]\s*\){_ITEMS}", re.I)
_ARTICLE_LABEL = re.compile(r"\barticles?\s+\d{1,2}\s*,?\s*(?:paragraph\s+\d\s*)?(?:\(\s*[a-z]\s*\))?", re.I)
# "the Committee's recommendation(s) on X", "the concluding observations on X", "… do about the recommendation on X"
_ABOUT = r"(?:on|about|regarding|concerning|relating\s+to|related\s+to|with\s+regard\s+to|in\s+respect\s+of)"
_TOPIC = re.compile(
    rf"(?:(?:Committee[’']s|CEDAW)\s+(?:\w+\s+)?recommendations?|recommendations?\s+(?:of|by|from)\s+the\s+Committee"
    rf"|concluding\s+observations?|(?:do|did|does|done|doing)\s+(?:about|on|with)\s+the\s+recommendations?)"
    rf"\s+{_ABOUT}\s+(?P<topic>.+)", re.I)
# a topic must be carried this far (rarity-weighted share of its words) by the block answering it
MIN_TOPIC_COVERAGE = 0.5
MIN_TOPIC_COSINE = 0.35  # … and its closest sentence this close to it
TITLE_WEIGHT = 0.5  # how much the block's section titles carrying the topic count (``_titled_terms``)
# "Thus, paragraph 14 (b) … is being fulfilled", "… has been partially fulfilled", "Thus, work is under way with regard to …"
_STATUS = re.compile(r"\bfulfil|^\s*(?:Thus|Accordingly|Hence|Given the above|In this way)\b")


# words that, beside a paragraph's number, ask only what was done about it
_ASKS_WHAT_WAS_DONE = set(tokenize(
    "been under response respond responds responded relate relates related relating address addresses addressed "
    "regard regarding regards pursuant implement implemented implementation follow followed fulfil fulfilled "
    "fulfillment fulfilment step steps action actions information given report reported reports"))


@dataclass(frozen=True)
class Request:
    """What a question asks of the concluding observations: paragraphs by label ("26(a)", or "26" for all its
    items), or a topic; ``rest`` is the question without the reference (what the quotes should speak to)."""

    labels: frozenset[str]
    topic: str
    rest: str


def requested(question: str) -> Request | None:
    """The concluding-observations paragraphs or topic a question names, or None."""
    text = _COMMITTEE_NAME.sub("the Committee", question)
    bare = _ARTICLE_LABEL.sub(" ", text)
    named = [m for pattern in (_NAMED_AFTER, _NAMED_BEFORE) for m in pattern.finditer(bare)]
    lettered = [m for m in _LETTERED.finditer(bare)]
    labels = _labels(named) | {f"?{label}" for label in _labels(lettered) - _labels(named)}
    if labels:
        rest = bare
        for m in named + lettered:
            rest = rest.replace(m.group(0), " ")
        return Request(frozenset(labels), "", _tidy(rest))
    topic = _TOPIC.search(text)
    if topic and evidence.question_terms(topic["topic"]):
        return Request(frozenset(), _tidy(topic["topic"]), _tidy(topic["topic"]))
    return None


def _labels(matches: list[re.Match]) -> set[str]:
    """"26(a)", "20(a)", "20(b)", "10": as ingest labels the paragraphs it finds (the shared parser of the
    reranker; "concluding observations" in front so it reads every fragment as one)."""
    out: set[str] = set()
    for m in matches:
        fragment = re.sub(r"\(\s*([a-z])\s*\)", r"(\1)", m.group(0))
        fragment = re.sub(r"\(([a-z])\)\s*(?:-|–|to)\s*\(([a-z])\)", _item_range, fragment)  # "(a)-(c)"
        out |= query_references("concluding observations " + re.sub(_CO_WORDS, " ", fragment, flags=re.I)).observations
    return out


def _item_range(m: re.Match) -> str:
    return " ".join(f"({chr(c)})" for c in range(ord(m[1]), ord(m[2]) + 1)) if m[1] <= m[2] else m.group(0)


def _tidy(text: str) -> str:
    return " ".join(text.replace("?", " ").split()).strip(" ,;:.")


def search_text(request: Request) -> str:
    """What this route searches with besides the question, known before any search (so it is embedded with the
    question in one pass): the topic, or the question without the paragraph it names ("": nothing left)."""
    if request.topic:
        return request.topic
    return request.rest if _topical(request.rest) else ""


def _topical(rest: str) -> bool:
    """Whether what a question says besides the paragraph's number names a topic: "… regarding the Ombudsperson"
    does; "What has been done in response to …", "What measures relate to …" only ask what was done."""
    return any(t not in _ASKS_WHAT_WAS_DONE for t in evidence.question_terms(rest))


def answer(searcher: Searcher, question: str, text: str, request: Request, vectors: QueryVectors, filters: Filters,
           settings: AnswerSettings) -> Answer | None:
    """The answer from the passages responding to the Committee paragraph ``request`` names (or an honest no
    when the report answers none); None when a bare paragraph or the topic is one none of them speaks to."""
    vector = vectors(text)
    responding = [p for p in searcher.corpus.responding if filters.allows(p)]
    if request.labels:
        labels = _known(request.labels, responding)
        if not labels and all(label.startswith("?") for label in request.labels):
            return None  # "paragraph 26 (c)" alone, which no passage answers: perhaps not the Committee's
        if not labels:
            return _unanswered(searcher, question, text, vector, request, responding, filters, settings)
    else:
        labels = _topic_labels(searcher, request.topic, vectors(request.topic), responding, settings)
        if not labels:
            return None
    query = search_text(request)
    query_vector = vectors(query or text)
    hits = _hits(searcher, query or text, query_vector, [p for p in responding if _responds(p, labels)])
    rated = extractive.score_sentences(searcher, text, vector, hits, settings,
                                       relevance.load(settings.relevance_model, searcher.embedder.name))
    chance = {(s.passage.passage_id, s.span): s.chance for s in rated}  # shown beside each quote, not used to choose
    sentences = [replace(s, chance=chance.get((s.passage.passage_id, s.span)))
                 for s in extractive.score_sentences(searcher, query or text, query_vector, hits, settings)]
    if not query:  # nothing asked but the paragraph: its sentences in reading order, the block summarised
        sentences.sort(key=lambda s: (s.passage.doc_id, s.span.start))
    chosen = select(sentences, labels, searcher, settings, min_cosine=settings.min_cosine if request.topic else -1.0)
    citations, statements = extractive.cite_sentences(searcher, chosen)
    return Answer(question=question, answered=True, statements=statements, citations=citations, closest=tuple(hits))


def _known(labels: frozenset[str], responding: list[Passage]) -> frozenset[str]:
    """The labels to answer from: those named as the Committee's, and a bare lettered "paragraph 26 (j)"
    ("?26(j)") when the report answers it; empty when no passage responds to any of them."""
    named = {label for label in labels if not label.startswith("?")}
    bare = {label[1:] for label in labels if label.startswith("?") and any(_responds(p, {label[1:]}) for p in responding)}
    out = frozenset(named | bare)
    return out if any(_responds(p, out) for p in responding) else frozenset()


def _responds(p: Passage, labels: set[str] | frozenset[str]) -> bool:
    return any(Filters(concluding_observation=label).allows(p) for label in labels)


def _topic_labels(searcher: Searcher, topic: str, vector: np.ndarray, responding: list[Passage],
                  settings: AnswerSettings) -> frozenset[str]:
    """The lettered Committee paragraphs whose responding paragraphs (a block) best match ``topic``: the block's
    closest sentence (cosine) plus half the share of the topic's vocabulary the whole block carries (a block may
    say "criminal liability" in one paragraph and "domestic" in the next). None when the best block is not close
    enough, carries too little of the topic, or fails the evidence check: then the report does not answer the
    Committee on it, and the normal path answers."""
    if not responding:
        return frozenset()
    hits = _hits(searcher, topic, vector, responding)
    sentences = extractive.score_sentences(searcher, topic, vector, hits, settings)
    blocks: dict[str, list[extractive.Sentence]] = {}
    for sentence in sentences:
        for ref in _addresses(sentence, searcher):
            blocks.setdefault(ref, []).append(sentence)
    terms, stats = evidence.question_terms(topic), evidence.term_stats(searcher)
    titled = {ref: _titled_terms(terms, block) for ref, block in blocks.items()}
    coverage = {ref: stats.coverage_of(terms, token_set(" ".join(s.text for s in block)) | titled[ref])
                for ref, block in blocks.items()}
    # a block is as close as its three closest sentences: one workshop titled "No to domestic violence" in a block on
    # fatherhood must not outweigh a block whose every paragraph is on the topic
    closest = {ref: float(np.mean(sorted((s.cosine for s in block), reverse=True)[:3])) for ref, block in blocks.items()}
    rarest = max(terms, key=stats.idf, default="")  # titles' generic words ("access", "women") name no topic alone
    score = {ref: closest[ref] + 0.5 * coverage[ref]
             + (TITLE_WEIGHT * stats.coverage_of(terms, titled[ref]) if rarest in titled[ref] else 0.0)
             for ref in blocks}
    best = max(score, key=score.get, default=None)
    if best is None or coverage[best] < MIN_TOPIC_COVERAGE:
        return frozenset()
    # a block under a title naming the whole topic ("Article 14. Rural women") answers it however far its sentences
    if max(s.cosine for s in blocks[best]) < MIN_TOPIC_COSINE and not set(terms) <= titled[best]:
        return frozenset()
    if evidence.assess(topic, blocks[best], hits, searcher, settings):
        return frozenset()
    return frozenset(ref for ref in score if score[ref] >= score[best] - 1e-6)  # "26(g)" and "26(h)": one block


def _titled_terms(terms: list[str], block: list[extractive.Sentence]) -> set[str]:
    """The topic's terms the titles of the block's sections carry, a longer form counting ("health" in "Article 12.
    Equal access to healthcare"). The report answers the Committee article by article: "rural women" is answered
    under "Article 14. Rural women", not in the employment block that mentions rural areas more often; "gender
    stereotypes" under "Article 5. Gender roles and stereotypes", whose sentences never say "stereotypes"."""
    titles: set[str] = set()
    for p in {s.passage.passage_id: s.passage for s in block}.values():
        titles |= token_set(" ".join(p.section))
    return {t for t in terms if evidence.has_term(t, titles)}


def _hits(searcher: Searcher, query: str, vector: np.ndarray, passages: list[Passage]) -> list[Hit]:
    """The responding passages as hits, best first by the search's hybrid score (each with its sidebar copies)."""
    rows = np.array([searcher.corpus.row_of[p.passage_id] for p in passages], dtype=np.int64)
    scored = searcher.scores(query, vector, "hybrid", also=rows)  # scored even where faiss did not propose them
    ranked = sorted(passages, key=lambda p: -scored[searcher.corpus.row_of[p.passage_id]])
    return [Hit(p, float(scored[searcher.corpus.row_of[p.passage_id]]), n, searcher.documents[p.doc_id].info.short_title,
                tuple(searcher.corpus.copies.get(p.passage_id, ()))) for n, p in enumerate(ranked, 1)]


def select(sentences: list[extractive.Sentence], labels: frozenset[str], searcher: Searcher,
           settings: AnswerSettings, *, min_cosine: float = -1.0) -> list[extractive.Sentence]:
    """The block's opening sentence and its stated status, then the sentences closest to the question (at least
    ``min_cosine`` to it): one per paragraph first (a block's paragraphs say different things), then up to
    ``max_per_passage`` per paragraph, then any."""
    if not sentences:
        return []
    item = _best_item(sentences[0], labels, searcher)
    in_item = [s for s in sentences if item & set(_addresses(s, searcher))]
    in_item.sort(key=lambda s: s.span.start)
    naming = [s for s in in_item if item & set(refs_named_in(s.text))]
    status = [s for s in naming if _STATUS.search(s.text)]
    openings = [s for s in naming if s not in status]
    # "With regard to paragraph 26 (a) …" opens the answer (even mid-paragraph); a block that only closes with
    # "Thus, paragraph 14 (b) … is being fulfilled" opens with its first sentence
    lead = openings[:1] if openings and openings[0] is naming[0] else in_item[:1]
    status = status[-1:]
    chosen = list(dict.fromkeys(lead + status))
    seen = {normalized(s.text) for s in chosen}
    # a passage may hold the next item's paragraph too ("With regard to … paragraph 26 (j)" after 26 (i)'s)
    sentences = [s for s in sentences if _best_item(s, labels, searcher)] or sentences
    # a block's paragraphs are short: capped per paragraph, and a block of one long paragraph may fill the answer
    for cap in (1, settings.max_per_passage, settings.max_quotes):
        for s in sentences:
            if len(chosen) >= settings.max_quotes:
                break
            paragraph = _paragraph(s, searcher)
            if (normalized(s.text) in seen or s.cosine < min_cosine
                    or sum(_paragraph(c, searcher) == paragraph for c in chosen) >= cap):
                continue
            chosen.append(s)
            seen.add(normalized(s.text))
    return chosen


def _best_item(best: extractive.Sentence, labels: frozenset[str], searcher: Searcher) -> set[str]:
    """The lettered items of the Committee paragraph the best sentence responds to ("26(g)", "26(h)") among those
    asked about ("26" asks about all its items)."""
    return {r for r in _addresses(best, searcher) if r in labels or r.split("(")[0] in labels}


def _addresses(s: extractive.Sentence, searcher: Searcher) -> tuple[str, ...]:
    document = searcher.documents[s.passage.doc_id]
    holder = document.paragraph_at(s.span.start)
    if holder is not None:
        return holder.addresses
    number = _paragraph(s, searcher)
    return next((p.addresses for p in document.paragraphs if p.number == number), s.passage.concluding_observations)


def _paragraph(s: extractive.Sentence, searcher: Searcher) -> int:
    """The number of the paragraph a sentence stands in (its passage's first where none holds it: as ``place_of``)."""
    holder = searcher.documents[s.passage.doc_id].paragraph_at(s.span.start)
    return holder.number if holder else s.passage.paragraph


def _unanswered(searcher: Searcher, question: str, text: str, vector: np.ndarray, request: Request,
                responding: list[Passage], filters: Filters, settings: AnswerSettings) -> Answer:
    """No passage responds to the paragraph asked about: say so, with the nearest paragraphs the report does
    answer, and the passages search finds closest."""
    wanted = sorted((label for label in request.labels if not label.startswith("?")), key=_order)
    answered = sorted({r for p in responding for r in p.concluding_observations}, key=_order)
    number = min(_order(w)[0] for w in wanted)
    nearest = sorted(sorted(answered, key=lambda r: abs(_order(r)[0] - number))[:4], key=_order)
    where = (f"the nearest paragraphs answered: {', '.join(nearest)}" if nearest
             else "no passage searched answers any paragraph of them")
    reason = (f"{evidence.NOT_ADDRESSED}no passage responds to paragraph "
              f"{', '.join(wanted)} of the Committee's concluding observations ({where}).")
    hits = searcher.rank(text, vector, settings.search_depth, "hybrid+rerank", filters)
    return Answer(question=question, answered=False, statements=(), citations=(), closest=tuple(hits), reason=reason)


def _order(ref: str) -> tuple[int, str]:
    number = re.match(r"\d+", ref)
    return (int(number.group()), ref[number.end():]) if number else (0, ref)
