"""Issue 7, property tests (hypothesis): the offset contract for arbitrary text, and query handling that never fails.

For any source text, cleaning, structure and chunking emit offsets that slice back to what they claim:
segments map canonical text to the source, paragraphs and passages are exact slices of the canonical text,
sentence spans lie inside their passage, footnote marks and sections lie inside the text, and Markdown heading
spans are the titles. The query tokenizer and ``clean_query`` never fail (``clean_query`` raises only BadQuery).
Only the model's tokenizer is loaded (no embedding model); the module runs in well under a minute.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from reportrag.index.keyword import tokenize
from reportrag.ingest.chunk import chunk
from reportrag.ingest.clean import clean
from reportrag.ingest.loaders import _READERS
from reportrag.ingest.structure import structure

from reportrag.core.errors import BadQuery, ReportragError
from reportrag.core.records import SourceText
from reportrag.retrieval.search import MAX_QUERY_CHARS, clean_query

# Pieces the cleaner has rules for, so random text exercises them: headings, footnote markup, endnote marks,
# tables of contents, broken paragraphs, lists, Cyrillic, odd whitespace.
FRAGMENTS = [
    "\n", "\n\n", "\n\n\n", " ", "  ", "\t", "\r\n", "\u00a0", "\u2028", "\f",
    "I. Introduction", "VII. Normative aspects", "C. Gender equality", "Part II. Information", "Article 11. Employment",
    "Article 11, paragraph 1 (d)", "1. Measures", "Conclusion", "Contents", "CONTENTS", "# Title", "## Section", "Setext\n====",
    "The State party reports progress.", "the paragraph goes on here", "Kazakhstan", "Қазақстан Республикасы", "Мен Кәсіпкер.",
    "[footnoteRef:1]", "[footnoteRef:2]", "[1: A footnote body.]", "[2: Another one.]", "[bookmark: _Toc123]",
    "^{ix}", "country.xix Work", "penalty\". xii", "**xvii*", "ivOfficial website", "*", "\ufffd",
    "paragraph 36 (e) of the Committee’s concluding observations", "With regard to the recommendation in paragraph 26 (a)",
    "Thus, paragraphs 30 (d) and (e) are being fulfilled.", "1,472", "2022–2024", "12(1)", "e.g. this", "No. 5",
    "Introduction ........ 3", "• item;", "– dash item;", "(a) first;", "12", "...", "?", "!", "\"quoted.\"",
]
texts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=40)), max_size=60).map("".join)
words = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)

PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def tokens():
    from reportrag.index.model_path import default_model_path
    from reportrag.ingest.tokens import TokenCounter

    return TokenCounter(default_model_path())  # the tokenizer only, not the embedding model


def check_offsets(source: SourceText, tokens, max_tokens: int) -> None:
    cleaned = clean(source)
    text = cleaned.text
    for seg in cleaned.segments:
        assert seg.length > 0
        assert text[seg.start : seg.start + seg.length] == source.text[seg.source_start : seg.source_start + seg.length]
    for block in cleaned.blocks:
        assert 0 <= block.start <= block.end <= len(text)
        for _, offset in block.refs:
            assert block.start <= offset <= block.end
    for f in cleaned.footnotes:
        assert 0 <= f.source_start <= f.source_end <= len(source.text)
    parts = structure("doc", cleaned)
    for p in parts.paragraphs:
        assert text[p.start : p.end] == p.text and p.text.strip() == p.text and p.text
    for s in parts.sections:
        assert 0 <= s.start <= s.end <= len(text)
    for f in parts.footnotes:
        assert 0 <= f.offset <= len(text)
    passages = chunk("doc", text, parts.paragraphs, tokens, max_tokens=max_tokens)
    covered = [p.number for p in parts.paragraphs]
    assert sorted(n for passage in passages for n in passage.paragraphs) == covered  # every paragraph, once
    for passage in passages:
        assert text[passage.start : passage.end] == passage.text and passage.text
        assert passage.sentences and passage.sentences[0].start == passage.start and passage.sentences[-1].end == passage.end
        for a, b in zip(passage.sentences, passage.sentences[1:]):
            assert a.end <= b.start
        for span in passage.sentences:
            sentence = text[span.start : span.end]
            assert sentence and sentence.strip() == sentence
            assert tokens.count(sentence) <= max_tokens  # a sentence never outgrows the model's window


@PROFILE
@given(texts)
def test_offsets_hold_for_any_plain_text(tokens, raw):
    check_offsets(SourceText(text=raw, source_format="txt", path="x.txt"), tokens, max_tokens=200)


@PROFILE
@given(texts)
@example("Қазақстан Республикасы000000000")  # a cut inside a long word re-tokenized to one piece more (CI found it)
def test_offsets_hold_with_a_tiny_window(tokens, raw):
    # a window of 8 word pieces forces the long-sentence cutting path on almost every input
    check_offsets(SourceText(text=raw, source_format="txt", path="x.txt"), tokens, max_tokens=8)


@PROFILE
@given(texts)
def test_offsets_hold_for_markdown_with_headings(tokens, raw):
    _, read_md = _READERS[".md"]
    try:
        text, headings = read_md(raw.encode("utf-8"), "x.md")
    except ReportragError:  # control characters or binary-looking text: refused with a message, which is fine
        return
    for start, end, level in headings:
        assert 0 <= start < end <= len(text) and 1 <= level <= 6
        assert text[start:end].strip() == text[start:end]
    check_offsets(SourceText(text=text, source_format="md", path="x.md", headings=headings), tokens, max_tokens=200)


@settings(max_examples=300, deadline=None)
@given(st.one_of(words, texts))
def test_query_tokenizer_never_fails(query):
    out = tokenize(query)
    assert isinstance(out, list) and all(isinstance(t, str) and t for t in out)
    assert tokenize(query) == out  # deterministic


@settings(max_examples=300, deadline=None)
@given(st.one_of(words, texts, st.text(min_size=MAX_QUERY_CHARS - 5, max_size=MAX_QUERY_CHARS + 5)))
def test_clean_query_never_fails_but_with_bad_query(query):
    try:
        cleaned = clean_query(query)
    except BadQuery as e:
        assert "\n" not in str(e) and str(e).startswith("query: ")
        return
    assert cleaned and cleaned == cleaned.strip() and len(cleaned) <= MAX_QUERY_CHARS
    assert all(c.isprintable() for c in cleaned) and "  " not in cleaned
    assert clean_query(cleaned) == cleaned  # idempotent: what is searched can be searched again
    assert isinstance(tokenize(cleaned), list)


@pytest.mark.parametrize("query", [None, 42, b"bytes", ["list"]])
def test_clean_query_refuses_non_text(query):
    with pytest.raises(BadQuery, match="^query: must be text$"):
        clean_query(query)


# Folding quotes, dashes and spacing around a needle's words gives what folding the whole text gives (citation lookup
# finds a text in reports it never folds whole): whitespace runs, "…" and curly quotes at every distance.
FOLDING = st.text(alphabet=st.sampled_from(list("ab1 \n\t.,…’“—- ")), max_size=300)


@settings(max_examples=300, deadline=None)
@given(text=FOLDING, data=st.data())
@example(text="ab  \n\n ab…ab", data=None)
def test_a_text_stands_where_folding_the_whole_text_finds_it(text, data):
    from reportrag.answers.citations.spans import fold_and_find, spans_in
    from reportrag.answers.quotes import normalize

    folded = normalize(text)[0]
    if data is None:
        needle = "ab ab"
    else:
        lo = data.draw(st.integers(0, len(folded)))
        needle = folded[lo:data.draw(st.integers(lo, len(folded)))].strip(" ")
    if needle:
        assert spans_in(text, needle) == fold_and_find(text, needle)
