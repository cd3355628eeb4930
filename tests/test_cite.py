"""Citation lookup on the real reports and the real index: anchors, passage ids, pasted quotes, references, CLI."""

from __future__ import annotations

import json
import random
import re

import pytest

from reportrag.answers import citations as cite
from reportrag.answers.citations.places import source_place
from reportrag.answers.quotes import anchor, find_exact, normalized
from reportrag.core.errors import BadQuery
from tests.conftest import run_cli

FIGURE = re.compile(r"\b\d,\d{3}\b")  # "1,788"


def _sentences(searcher, doc_id):
    document = searcher.documents[doc_id]
    passages = [p for p in searcher.passages if p.doc_id == doc_id]
    return [(p, s, document.text[s.start : s.end]) for p in passages for s in p.sentences]


def _paragraph_of(document, offset):
    return next(p.number for p in document.paragraphs if p.start <= offset < p.end)


def _passage_holding(searcher, doc_id, number):
    return next(p for p in searcher.passages if p.doc_id == doc_id and number in p.paragraphs)


@pytest.fixture(scope="module")
def citations(searcher):
    return cite.Citations(searcher.corpus)


# ---------------------------------------------------------------- anchors and passage ids


@pytest.mark.parametrize("doc_id", ["review", "cedaw"])
def test_anchors_of_sampled_sentences_resolve_to_their_span(searcher, doc_id, citations):
    document = searcher.documents[doc_id]
    for _, span, text in random.Random(20240601).sample(_sentences(searcher, doc_id), 100):
        paragraph = _paragraph_of(document, span.start)
        found = citations.lookup(anchor(doc_id, paragraph, text))
        assert found.kind == "anchor" and found.verified and found.text == text
        assert found.anchor == anchor(doc_id, paragraph, text)
        assert (found.place.doc_id, found.place.paragraph) == (doc_id, paragraph)
        if (found.place.start, found.place.end) != (span.start, span.end):  # only a word-for-word repeat in the same ¶
            assert len(find_exact(text, document.paragraphs[paragraph - 1].text)) > 1
        assert not found.note


def test_anchor_survives_renumbering_by_content(searcher, citations):
    document = searcher.documents["cedaw"]
    whole = normalized(document.text)  # once: normalizing the report per sentence would take minutes
    unique = [(s, t) for _, s, t in _sentences(searcher, "cedaw") if whole.count(normalized(t)) == 1]
    for span, text in random.Random(7).sample(unique, 25):
        paragraph = _paragraph_of(document, span.start)
        for wrong in (paragraph + 3, max(1, paragraph - 4), 9999):
            found = citations.lookup(anchor("cedaw", wrong, text))
            assert (found.place.start, found.place.end, found.place.paragraph) == (span.start, span.end, paragraph)
            assert f"¶{wrong}" in found.note and f"¶{paragraph}" in found.note


@pytest.mark.parametrize("doc_id", ["review", "cedaw"])
def test_cached_normalization_agrees_with_quotes_module(searcher, doc_id, citations):
    """Anchors hash slices of the report's cached normalization: they must equal ``normalized`` of the slice, and
    exact finding must equal ``quotes.find_exact``."""
    document = searcher.documents[doc_id]
    report = citations.reports[doc_id]
    for start, end, _, _ in report.units:
        assert report.normalized_slice(start, end) == normalized(document.text[start:end])
    for _, span, text in random.Random(3).sample(_sentences(searcher, doc_id), 3):
        assert report.find(normalized(text)) == find_exact(text, document.text)


def test_unknown_anchor_and_report_are_clear_errors(citations):
    with pytest.raises(cite.UnknownCitation, match="matches no sentence"):
        citations.lookup("cedaw-p296-0000000000")
    with pytest.raises(cite.UnknownCitation, match="'nope'.*not in the index"):
        citations.lookup("nope-p3-0123456789")


def test_every_passage_id_resolves_to_its_passage(searcher, citations):
    for passage in searcher.passages:
        found = citations.lookup(passage.passage_id)
        assert found.kind == "passage" and found.verified and found.text == passage.text
        place = found.place
        assert (place.passage_id, place.start, place.end) == (passage.passage_id, passage.start, passage.end)
        assert found.place.paragraph == passage.paragraph and found.place.section_label == passage.section_label


def test_rechunked_passage_id_falls_back_to_the_passage_holding_its_paragraph(searcher, citations):
    holder = _passage_holding(searcher, "cedaw", 296)
    found = citations.lookup("cedaw-0296-0123456789")  # same ¶, a hash no chunking made
    assert found.place.passage_id == holder.passage_id and found.text == holder.text
    assert "no longer exists" in found.note and holder.passage_id in found.note
    with pytest.raises(cite.UnknownCitation, match="reportrag search"):
        citations.lookup("cedaw-9999-0123456789")


def test_lookup_gives_label_breadcrumb_and_neighbouring_paragraphs(searcher, citations):
    passage = _passage_holding(searcher, "cedaw", 296)
    found = citations.lookup(passage.passage_id)
    assert found.place.label == f"CEDAW 6th periodic report, {passage.section_label}, ¶{passage.paragraph}"
    assert found.breadcrumb == ("CEDAW 6th periodic report", *passage.section)
    numbers = [c.number for c in found.context]
    assert numbers == list(range(passage.paragraphs[0] - 1, passage.paragraphs[-1] + 2))
    assert [c.quoted for c in found.context] == [False] + [True] * len(passage.paragraphs) + [False]
    document = searcher.documents["cedaw"]
    assert all(document.text[c.start : c.end] == c.text for c in found.context)
    first = citations.lookup(_passage_holding(searcher, "cedaw", 1).passage_id)
    assert first.context[0].number == 1 and first.context[0].quoted  # nothing before ¶1
    data = json.loads(json.dumps(found.to_json(), ensure_ascii=False))
    assert data["label"] == found.place.label and data["context"][0]["number"] == numbers[0]


@pytest.mark.parametrize("doc_id", ["review", "cedaw"])
def test_source_place_maps_back_to_the_original_file(searcher, doc_id, citations):
    """Cleaning only drops characters (marks, markup) and inserts whitespace separators, so the source spans of a
    passage, joined, are its text up to whitespace; most sentences are one contiguous slice of the file."""
    document = searcher.documents[doc_id]
    lines = document.source_text.split("\n")
    for passage in (p for p in searcher.passages if p.doc_id == doc_id):
        source = citations.lookup(passage.passage_id).source
        assert source.file == document.info.original_file
        joined = "".join(document.source_text[a:b] for a, b in source.spans)
        assert re.sub(r"\s+", "", joined) == re.sub(r"\s+", "", passage.text)
        assert passage.text.split()[0] in lines[source.line - 1]
        assert source.line <= source.end_line
    contiguous = [document.source_text[src.start : src.end] == text
                  for _, s, text in _sentences(searcher, doc_id)
                  for src in [source_place(document, s.start, s.end)]]
    assert sum(contiguous) / len(contiguous) > 0.9


# ---------------------------------------------------------------- find_quote


def test_verbatim_sentence_is_exact_with_its_place(searcher, citations):
    passage = _passage_holding(searcher, "cedaw", 296)
    span = passage.sentences[0]
    text = searcher.documents["cedaw"].text[span.start : span.end]
    match = citations.find_quote(text)
    assert match.found and match.exact and match.similarity == 100.0 and not match.diff
    assert [(p.place.start, p.place.end) for p in match.places] == [(span.start, span.end)]
    assert match.text == text and match.places[0].verified and match.places[0].place.passage_id == passage.passage_id


def test_sidebar_sentence_lists_every_place(searcher, citations):
    document = searcher.documents["review"]
    copies = [p for p in document.paragraphs if p.duplicate_of]
    repeated = next(
        (copy, sentence)
        for copy in copies
        for sentence in re.split(r"(?<=\.) ", copy.text)
        if len(sentence) > 60 and find_exact(sentence, document.paragraphs[copy.duplicate_of - 1].text)
    )
    copy, sentence = repeated
    match = citations.find_quote(sentence)
    assert match.exact
    assert {copy.number, copy.duplicate_of} <= {p.place.paragraph for p in match.places}
    assert all(document.text[p.place.start : p.place.end] == p.text for p in match.places)
    # a lookup of either place names the other
    found = citations.lookup(match.places[0].anchor)
    assert {p.paragraph for p in found.also_at} & {copy.number, copy.duplicate_of}


def test_typed_quotes_dashes_and_spaces_still_match_exactly(searcher, citations):
    document = searcher.documents["cedaw"]
    span, text = next((s, t) for _, s, t in _sentences(searcher, "cedaw") if "’" in t and len(t) < 400)
    typed = text.replace("’", "'").replace("–", "-").replace("“", '"').replace("”", '"')
    typed = "  " + typed.replace(" ", "  \n ", 3) + "\n"
    assert typed != text
    match = citations.find_quote(typed)
    assert match.exact and (match.places[0].place.start, match.places[0].place.end) == (span.start, span.end)
    assert match.text == text == document.text[span.start : span.end]


def test_quote_pasted_inside_quotation_marks_matches_exactly(searcher, citations):
    span, text = next((s, t) for _, s, t in _sentences(searcher, "review") if not t.startswith(('"', "“")) and len(t) < 300)
    for pasted in (f"“{text}”", f'"{text}"', f"  « {text} »  "):
        match = citations.find_quote(pasted)
        assert match.exact and match.text == text, pasted
        assert (match.places[0].place.start, match.places[0].place.end) == (span.start, span.end)


def test_changed_figure_is_fuzzy_and_the_diff_shows_it(searcher, citations):
    document = searcher.documents["cedaw"]
    span, text = next((s, t) for _, s, t in _sentences(searcher, "cedaw") if FIGURE.search(t) and len(t) < 300)
    figure = FIGURE.search(text).group()
    changed = figure[:-1] + str((int(figure[-1]) + 1) % 10)
    match = citations.find_quote(text.replace(figure, changed, 1))
    assert match.found and not match.exact and 90 <= match.similarity < 100
    assert (match.places[0].place.start, match.places[0].place.end) == (span.start, span.end)
    assert match.text == document.text[span.start : span.end] == text
    differing = [d for d in match.diff if d.op != "equal"]
    trimmed = [(d.op, d.quote.strip(".,;()"), d.report.strip(".,;()")) for d in differing]
    assert trimmed == [("replace", changed, figure)]
    assert f"[-{changed}" in match.diff_text and f"{{+{figure}" in match.diff_text
    assert match.to_json()["similarity_scale"] == "0-100"


def test_quote_from_neither_report_is_not_found_with_closest(searcher, citations):
    tern = "The migratory patterns of arctic terns span both poles and cover seventy thousand kilometres each year."
    match = citations.find_quote(tern)
    assert not match.found and not match.places and match.similarity < cite.FLOOR
    assert match.closest and all(c.similarity < cite.FLOOR for c in match.closest)
    for c in match.closest:
        assert searcher.documents[c.place.doc_id].text[c.place.start : c.place.end] == c.text


def test_a_sentence_pasted_where_a_citation_goes_is_found_as_a_quote(searcher, citations):
    """"46 crisis centres providing special social services" in the citation box was "no section"; a pasted
    sentence is found where it stands, saying it was read as a quote. A short unknown reference, or prose that
    stands nowhere, stays an error."""
    match = citations.resolve(ident="46 crisis centres providing special social services")
    assert isinstance(match, cite.QuoteMatch) and match.exact and match.note.startswith("read as a quote")
    place = match.places[0]
    assert searcher.documents[place.place.doc_id].text[place.place.start : place.place.end] == match.text
    assert "46 crisis centres providing special social services" in match.text
    close = citations.resolve(ident="Kazakhstan signed the Second Optional Protocol to the ICCPR on 23 September 2020")
    assert close.found and not close.exact and close.places[0].place.doc_id == "review"
    with pytest.raises(cite.UnknownCitation, match="no section"):
        citations.resolve(ident="Annual Review 2022, p. 12")
    with pytest.raises(cite.UnknownCitation, match="Nor does it stand in a report as a quote"):
        citations.resolve(ident="The migratory patterns of arctic terns span both poles each year.")


def test_doc_filter_and_bad_quotes(searcher, citations):
    _, _, text = _sentences(searcher, "cedaw")[10]
    assert not citations.find_quote(text, doc="review").exact
    assert citations.find_quote(text, doc="cedaw").exact
    for bad in ["", "  \n\t ", "x" * 5001, None]:
        with pytest.raises(BadQuery):
            citations.find_quote(bad)
    with pytest.raises(cite.UnknownCitation, match="nope"):
        citations.find_quote(text, doc="nope")


# ---------------------------------------------------------------- references


def test_article_paragraph_item(citations):
    ref = citations.resolve_reference("CEDAW Article 11, paragraph 1 (d)")
    assert (ref.kind, ref.doc_id, ref.label) == ("section", "cedaw", "Article 11, paragraph 1 (d)")
    assert ref.passages and all(p.section_label == "Article 11, paragraph 1 (d)" for p in ref.passages)
    assert ref.paragraph_range == (min(ref.paragraphs), max(ref.paragraphs))
    assert citations.resolve_reference("article 11 para 1(d)").label == ref.label
    assert citations.resolve_reference("Article 14 (b)").label == "Article 14, paragraph 2 (b)"  # only one (b)
    with pytest.raises(cite.UnknownCitation, match=r"paragraph 1 \(d\).*paragraph 2 \(d\)"):
        citations.resolve_reference("Article 11 (d)")  # paragraphs 1 and 2 both have a (d)


def test_article_covers_its_subsections(citations):
    ref = citations.resolve_reference("Article 11")
    assert "Article 11, paragraph 1 (d)" in ref.subsections
    assert {p.section_label for p in ref.passages} >= {"Article 11, paragraph 1 (d)"}
    part = citations.resolve_reference("Part I")
    assert (part.doc_id, part.label) == ("cedaw", "Part I") and "Part I.1" in part.subsections


@pytest.mark.parametrize("text", ["concluding observations 36 (e)", "paragraph 36 (e) of the concluding observations"])
def test_concluding_observations(searcher, text, citations):
    ref = citations.resolve_reference(text)
    expected = [p.passage_id for p in searcher.passages if "36(e)" in p.concluding_observations]
    assert (ref.kind, ref.label, ref.doc_id) == ("concluding_observations", "36(e)", "cedaw")
    assert sorted(p.passage_id for p in ref.passages) == sorted(expected) and expected
    with pytest.raises(cite.UnknownCitation, match="nearest answered"):
        citations.resolve_reference("concluding observations 99 (z)")


@pytest.mark.parametrize("text", ["review VII.C", "review section VII.C", "Annual Review VII.C", "VII.C"])
def test_review_sections(text, citations):
    ref = citations.resolve_reference(text)
    assert (ref.doc_id, ref.label) == ("review", "VII.C") and ref.title.startswith("C. Gender equality")
    assert ref.passages and all(p.section_label == "VII.C" for p in ref.passages)


def test_nonsense_reference_is_a_clear_error(citations):
    with pytest.raises(cite.UnknownCitation, match="no section 'Article 99'; nearest: cedaw Article 9"):
        citations.resolve_reference("Article 99")
    with pytest.raises(cite.UnknownCitation, match="no section 'review VII.Q'; nearest: review VII"):
        citations.resolve_reference("review VII.Q")
    with pytest.raises(BadQuery):
        citations.resolve_reference("  ")



# ---------------------------------------------------------------- paragraph numbers


@pytest.mark.parametrize("doc_id", ["review", "cedaw"])
def test_the_citations_an_answer_prints_resolve_back_to_their_paragraph(searcher, citations, doc_id):
    """"CEDAW/C/KAZ/6, Part I.1, para. 21 (counted)", an answer's own citation, was "no section" when pasted back."""
    document = searcher.documents[doc_id]
    for paragraph in random.Random(11).sample(list(document.paragraphs), 40):
        place = citations.place(doc_id, paragraph.start, paragraph.end)
        for typed in (place.print_label, place.label):
            found = citations.resolve(typed)
            assert found.kind == "paragraph" and found.place.doc_id == doc_id, typed
            assert found.place.paragraph == paragraph.number and not found.note, (typed, found.note)
            assert found.verified and document.text[found.place.start:found.place.end] == paragraph.text


@pytest.mark.parametrize("typed", ["CEDAW/C/KAZ/6, para. 21", "cedaw para 21", "paragraph 21 of the CEDAW report",
                                   "Part I.1, para. 21 (counted)", "cedaw ¶21"])
def test_a_paragraph_number_as_people_type_it(searcher, citations, typed):
    found = citations.resolve(typed)
    assert (found.kind, found.place.doc_id, found.place.paragraph) == ("paragraph", "cedaw", 21)
    # a number that may come from the published document says that ours is a count
    assert ("does not number its paragraphs" in found.note) == ("¶" not in typed and "counted" not in typed)


def test_a_paragraph_range_and_a_wrong_section_or_number(searcher, citations):
    both = citations.resolve("review paras. 166-167")
    document = searcher.documents["review"]
    assert both.note.startswith("paragraphs 166–167, cited from the first; ")
    assert both.kind == "paragraphs"
    assert both.text == document.text[document.paragraphs[165].start:document.paragraphs[166].end]
    assert citations.resolve("review VII.B, ¶167").note == "the citation says VII.B; ¶167 stands in VII.C"
    assert citations.resolve("cedaw Article 5, ¶180").place.paragraph == 180  # "¶": no article's paragraph
    assert citations.resolve("CEDAW Article 4, paragraph 1").kind == "section"
    with pytest.raises(cite.UnknownCitation, match=r"names no report, and ¶21 stands in several: cedaw \(Part I.1\); "
                                                   r"review \(I\); name one"):
        citations.resolve("para. 21")
    with pytest.raises(cite.UnknownCitation, match=r"no ¶9999 in review \(review: ¶1–402\)"):
        citations.resolve("review ¶9999")


def test_cli_cite_an_answer_s_citation(search_settings, searcher):
    proc = run_cli("cite", "Annual Review 2022, sec. VII.C, para. 167 (counted)", "--json",
                   index_dir=search_settings.index.index_dir, check=True)
    data = json.loads(proc.stdout)
    assert (data["kind"], data["doc_id"], data["paragraph"]) == ("paragraph", "review", 167) and data["verified"]
    assert "Representation in the Mazhilis" in data["text"]

def test_dispatcher_and_text_form(searcher, citations):
    passage = _passage_holding(searcher, "cedaw", 296)
    located = citations.resolve(passage.passage_id)
    assert isinstance(citations.resolve(located.anchor), cite.Located)
    assert isinstance(citations.resolve("review VII.C"), cite.Reference)
    assert isinstance(citations.resolve(quote=passage.text), cite.QuoteMatch)
    with pytest.raises(BadQuery):
        citations.resolve(passage.passage_id, quote="x")
    text = cite.format_text(located)
    assert located.place.label in text and "»" in text and "«" in text
    assert f"original file: {located.source.file}, line {located.source.line}" in text


# ---------------------------------------------------------------- CLI


def test_cli_cite_passage_json(searcher, search_settings):
    passage = _passage_holding(searcher, "cedaw", 296)
    proc = run_cli("cite", passage.passage_id, "--json", index_dir=search_settings.index.index_dir, check=True)
    data = json.loads(proc.stdout)
    assert (data["kind"], data["passage_id"], data["text"]) == ("passage", passage.passage_id, passage.text)
    assert data["verified"] and data["source"]["file"] == searcher.documents["cedaw"].info.original_file


def test_cli_cite_quote_json(searcher, search_settings):
    passage = _passage_holding(searcher, "cedaw", 296)
    quote = searcher.documents["cedaw"].text[passage.sentences[0].start : passage.sentences[0].end]
    typed = quote.replace("’", "'")
    proc = run_cli("cite", "--quote", typed, "--json", index_dir=search_settings.index.index_dir, check=True)
    data = json.loads(proc.stdout)
    assert data["found"] and data["exact"] and data["places"][0]["start"] == passage.sentences[0].start


def test_cli_unknown_id_is_one_line(search_settings):
    proc = run_cli("cite", "cedaw-9999-0123456789", index_dir=search_settings.index.index_dir)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "cedaw-9999-0123456789" in proc.stderr and "reportrag search" in proc.stderr


def test_first_sentence_of_every_paragraph_of_both_reports_is_found_exactly(searcher, citations):
    from reportrag.ingest.sentences import split_sentences

    checked = 0
    for document in searcher.documents.values():
        for paragraph in document.paragraphs:
            first = split_sentences(document.text, paragraph.start, paragraph.end)[0]
            match = citations.find_quote(document.text[first.start : first.end], doc=document.doc_id)
            assert match.exact, (document.doc_id, paragraph.number)
            assert first.start in {p.place.start for p in match.places}, (document.doc_id, paragraph.number)
            checked += 1
    assert checked == sum(len(d.paragraphs) for d in searcher.documents.values()) > 900


@pytest.mark.parametrize("doc_id", ["review", "cedaw"])
def test_a_text_is_found_around_its_words_as_folding_the_report_finds_it(reports, doc_id):
    """``spans_in`` folds only the text around each place holding a needle's words in order: every sentence, every
    paragraph and stretches across paragraph breaks of the real reports stand exactly where folding the whole
    report finds them (every copy of a repeated sentence, each repeat of a sidebar)."""
    from reportrag.answers.citations.places import ReportView
    from reportrag.answers.citations.spans import spans_in

    document, passages = reports[doc_id]
    report = ReportView.build(document, passages)
    spans = [(s.start, s.end) for p in passages for s in p.sentences] + [(p.start, p.end) for p in document.paragraphs]
    spans += [(a.end - 30, b.start + 30) for a, b in zip(document.paragraphs, document.paragraphs[1:])]
    spans += [(p.start, p.start + 12) for p in document.paragraphs]  # short: standing so often the text is folded whole
    repeated = 0
    for start, end in spans:
        needle = normalized(document.text[start:end])
        found = spans_in(document.text, needle)
        assert found == report.find(needle) and any(start <= a < b <= end for a, b in found), (start, end)
        repeated += len(found) > 1
    assert len(spans) > 2000 and repeated > 100  # sidebars and repeated sentences were among them
    for needle in ("a", "the", "of the", "2", ".", "-"):  # so frequent, or without a word: the text is folded whole
        assert spans_in(document.text, needle) == report.find(needle) != []


def test_a_text_shared_by_many_reports_is_found_without_folding_them(reports, monkeypatch):
    """A corpus where every report has copies under other ids (boilerplate at its most): a verbatim quote, a
    passage id and an anchor fold no report but the anchor's own, the closest text to a quote folds one report per
    distinct text, and every answer is the one of the corpus folded whole (every copy listed)."""
    from reportrag.eval.cite_scale_bench import copy_report

    from reportrag.answers.citations import places
    from reportrag.index.keyword import KeywordScorer
    from reportrag.retrieval.corpus import Corpus
    from reportrag.skins.web.html import located_html

    documents, passages = {}, []
    for document, ps in reports.values():
        for k in range(4):
            copy, copied = copy_report(document, ps, k, shared=True)
            documents[copy.doc_id] = copy
            passages += copied
    corpus = Corpus(dict(sorted(documents.items())), passages)
    whole = cite.Citations(corpus)
    assert whole.small and len(whole.reports._kept) == 8
    monkeypatch.setattr(places, "FOLDED_KEPT", 1)
    large = cite.Citations(corpus)
    cedaw = documents["cedaw"]
    sentence = next(cedaw.text[s.start:s.end] for p in passages if p.doc_id == "cedaw" for s in p.sentences
                    if 120 < s.end - s.start < 300 and FIGURE.search(cedaw.text[s.start:s.end]))
    figure = FIGURE.search(sentence).group()
    changed = sentence.replace(figure, figure[:-1] + str((int(figure[-1]) + 1) % 10), 1)
    verbatim = large.find_quote(sentence)
    assert verbatim.to_json() == whole.find_quote(sentence).to_json()
    assert [p.place.doc_id for p in verbatim.places] == ["cedaw", "cedaw-v001", "cedaw-v002", "cedaw-v003"]
    passage = next(p for p in passages if p.doc_id == "review-v002")
    by_id = large.lookup(passage.passage_id)
    assert by_id.to_json() == whole.lookup(passage.passage_id).to_json()
    assert {p.doc_id for p in by_id.also_at} == {"review", "review-v001", "review-v003"}
    # the text forms name the first few other places and count the rest (the JSON lists them all)
    also = next(line for line in cite.format_text(by_id).splitlines() if line.startswith("also at: "))
    assert also.count("; ") == 2 and "more place" not in also
    monkeypatch.setattr(places, "ALSO_SHOWN", 1)
    assert "; and 2 more places in 2 reports (--json lists them all)" in cite.format_text(by_id)
    assert "; and 2 more places in 2 reports</p>" in located_html(by_id)
    monkeypatch.setattr(places, "ALSO_SHOWN", 5)
    assert large.find_quote(sentence, doc="cedaw-v002").places[0].place.doc_id == "cedaw-v002"  # --doc: checked
    assert large.resolve_reference("concluding observations 36 (e)").passages  # every report's id checked
    assert len(large.reports._kept) == 0  # nothing folded so far
    assert large.lookup(verbatim.places[2].anchor).to_json() == whole.lookup(verbatim.places[2].anchor).to_json()
    closest = large.find_quote(changed)
    assert closest.verdict == cite.CLOSE and closest.to_json() == whole.find_quote(changed).to_json()
    assert len(closest.places) == 4
    # where the keyword index chooses the one report to seek the closest text in, its copies are still listed
    keyed = cite.Citations(corpus, keyword=KeywordScorer.over([p.text for p in passages]).scores)
    assert [r.document.doc_id for r in keyed.likely(changed)] == ["cedaw"]
    assert keyed.find_quote(changed).to_json() == closest.to_json()


def test_a_large_corpus_folds_reports_on_demand_and_finds_what_folding_all_finds(searcher, citations, monkeypatch):
    """Past ``FOLDED_KEPT`` reports (forced to 1 here: the two reports count as a large corpus) nothing is folded
    up front, a quote is looked for only in the reports whose text holds its longest word, the closest text only in
    those holding most of its words, and at most ``FOLDED_KEPT`` folded reports are kept: every answer is the one
    of the corpus folded whole."""
    from reportrag.answers.citations import places

    monkeypatch.setattr(places, "FOLDED_KEPT", 1)
    large = cite.Citations(searcher.corpus)
    assert not large.small and len(large.reports._kept) == 0
    review, cedaw = searcher.documents["review"], searcher.documents["cedaw"]
    sidebar = next(p for p in review.paragraphs if p.duplicate_of)
    _, plain = next((s, t) for _, s, t in _sentences(searcher, "cedaw") if len(t) > 120)
    _, figure_text = next((s, t) for _, s, t in _sentences(searcher, "cedaw") if FIGURE.search(t) and len(t) < 300)
    figure = FIGURE.search(figure_text).group()
    words = plain.split()
    quotes = [plain, f"“{plain}”", plain.replace(" ", "  \n "), sidebar.text.split(". ")[0],
              f"{' '.join(words[:5])} … {' '.join(words[-5:])}",  # verbatim in parts
              figure_text.replace(figure, figure[:-1] + str((int(figure[-1]) + 1) % 10), 1),  # the closest text
              "The migratory patterns of arctic terns span both poles and cover seventy thousand kilometres."]
    for quote in quotes:
        assert large.find_quote(quote).to_json() == citations.find_quote(quote).to_json(), quote
    for anchor in (citations.find_quote(sidebar.text.split(". ")[0]).places[0].anchor,
                   citations.find_quote(plain).places[0].anchor):
        assert large.lookup(anchor).to_json() == citations.lookup(anchor).to_json()
    assert len(large.reports._kept) <= 1 and cedaw.doc_id in large.reports
