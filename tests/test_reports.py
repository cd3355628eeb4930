"""Ingestion of the two real reports: offsets, cleaning, structure, duplicates, passages."""

from __future__ import annotations

import re

from reportrag.ingest.chunk import MAX_TOKENS
from reportrag.ingest.textmap import to_source

from reportrag.core.settings import Settings

MARKUP = re.compile(r"\[bookmark|\[footnoteRef|\[\d+:\s|\^\{|\*|\ufffd")


def test_every_passage_and_sentence_is_a_slice_of_the_canonical_text(reports):
    for document, passages in reports.values():
        assert passages
        for p in passages:
            assert document.text[p.start : p.end] == p.text
            assert p.sentences[0].start == p.start and p.sentences[-1].end == p.end
            for s in p.sentences:
                assert p.start <= s.start < s.end <= p.end
                assert document.text[s.start : s.end].strip() == document.text[s.start : s.end]


def test_every_paragraph_is_a_slice_and_maps_back_to_the_untouched_source(reports):
    for document, _ in reports.values():
        for seg in document.segments:
            assert document.text[seg.start : seg.start + seg.length] == document.source_text[
                seg.source_start : seg.source_start + seg.length
            ]
        for p in document.paragraphs:
            assert document.text[p.start : p.end] == p.text
            spans = to_source(list(document.segments), p.start, p.end)
            pieces = "".join(document.source_text[s:e] for s, e in spans)
            assert "".join(pieces.split()) == "".join(p.text.split())


def test_the_paragraph_holding_any_offset_is_found_by_bisection_as_by_walking_every_paragraph(reports):
    """Paragraphs stand in text order and never overlap, so ``Document.paragraph_at`` may bisect: for every sentence
    start, every paragraph boundary and the gaps between paragraphs, it finds what a walk over them all finds."""
    for document, passages in reports.values():
        paragraphs = document.paragraphs
        assert all(a.end <= b.start for a, b in zip(paragraphs, paragraphs[1:]))
        offsets = {s.start for p in passages for s in p.sentences}
        offsets |= {o for p in paragraphs for o in (p.start - 1, p.start, p.end - 1, p.end)}
        assert any(not any(p.start <= o < p.end for p in paragraphs) for o in offsets)  # gaps are tried too
        for offset in sorted(offsets | {-1, len(document.text)}):
            walked = next((p for p in paragraphs if p.start <= offset < p.end), None)
            assert document.paragraph_at(offset) is walked, (document.doc_id, offset)


def test_source_file_is_the_bundled_copy_byte_for_byte(reports):
    from reportrag.ingest.pipeline import read_manifest

    from tests.conftest import MANIFEST

    for info, path in read_manifest(MANIFEST):
        assert reports[info.doc_id][0].source_text == path.read_text(encoding="utf-8")


def test_no_markup_or_endnote_marks_left(reports):
    for document, _ in reports.values():
        assert not MARKUP.search(document.text), MARKUP.search(document.text)
    review = reports["review"][0].text
    for glued in ("country.xix", 'penalty". xii', "activity.x\n", "approved.* The", "ivOfficial"):
        assert glued not in review


def test_table_of_contents_is_not_text(review):
    document, passages = review
    assert "CONTENTS" not in document.text
    assert 'Ombudsman"11' not in document.text
    # the headings themselves stand once, in the body
    assert document.text.count("VIII. Sources of additional information") == 1


def test_broken_paragraphs_are_joined(review):
    document, _ = review
    texts = [p.text for p in document.paragraphs]
    # a page break between "sentenced to" and "death, for which …"
    assert any("persons sentenced to death, for which an exceptional measure" in t for t in texts)
    # a column break with a sidebar box in between: "…ratifying the Second" … "Optional Protocol, …"
    assert any(t.startswith("In her statement") and "ratifying the Second Optional Protocol" in t for t in texts)
    # a sidebar printed one phrase per line is one paragraph
    assert any(t.startswith("In the Transparency International Corruption Perception Index for 2021") for t in texts)


def test_cedaw_footnotes_are_records_linked_to_their_paragraphs(cedaw):
    document, _ = cedaw
    by_label = {f.label: f for f in document.footnotes}
    assert sorted(by_label) == ["1", "2", "3"]
    expected = {
        "1": ("In the Global Gender Gap Index, Kazakhstan was ranked 62nd", "economy.kz"),
        "2": ("According to the research,", "Kazakhstan Institute for Social Development"),
        "3": ("The core values that Kazakh families", "Kazakhstan families"),
    }
    for label, (paragraph_start, body) in expected.items():
        note = by_label[label]
        paragraph = document.paragraphs[note.paragraph - 1]
        assert paragraph.text.startswith(paragraph_start)
        assert label in paragraph.footnotes
        assert body in note.text
        assert paragraph.start <= note.offset <= paragraph.end
        assert body in document.source_text[note.source_start : note.source_end]
    assert document.text[by_label["2"].offset - 1] == ","  # the mark stood right after "research,"


def test_all_sections_of_both_reports_are_found(review, cedaw):
    labels = {s.label for s in cedaw[0].sections}
    assert {f"Article {n}" for n in range(1, 17)} <= labels
    assert {"Introduction", "Part I", "Part II", "Conclusion", "Part I.1", "Part I.2", "Article 11, paragraph 1 (d)"} <= labels
    labels = {s.label for s in review[0].sections}
    assert {"I", "II", "III", "IV", "V", "VI", "VII", "VIII"} <= labels
    assert {f"VII.{c}" for c in "ABCDEFGHIJKLMN"} <= labels


def test_paragraphs_know_their_section_path(review, cedaw):
    document, _ = cedaw
    equal_pay = next(p for p in document.paragraphs if p.text.startswith("Article 11, paragraph 1 (d) Equal pay"))
    assert equal_pay.section_label == "Article 11, paragraph 1 (d)"
    assert equal_pay.section[0].startswith("Part II") and equal_pay.section[1] == "Article 11. Employment"
    # "Article 151 (Surgical sterilization) of Code …" is body text, not an Article 5 sub-item
    sterilization = next(p for p in document.paragraphs if p.text.startswith("Article 151"))
    assert sterilization.section_label.startswith("Article 5")
    document, _ = review
    assembly = next(p for p in document.paragraphs if "213 peaceful assemblies" in p.text)
    assert assembly.section_label == "VII.I"  # lettered section I, not Part I
    numbers = [p.number for p in document.paragraphs]
    assert numbers == list(range(1, len(numbers) + 1))


def test_concluding_observation_references_are_extracted(cedaw):
    document, passages = cedaw
    refs = {r for p in document.paragraphs for r in p.concluding_observations}
    assert {"10", "36(e)", "30(c)", "14(a)", "26(d)", "26(f)", "40(e)", "28(f)", "46(b)", "46(c)"} <= refs
    assert len(refs) >= 60
    thus = next(p for p in document.paragraphs if p.text.startswith("Thus, paragraph 36 (e)"))
    assert thus.concluding_observations == ("36(e)",)
    several = next(p for p in document.paragraphs if "paragraphs 42 (c), (d) and (e)" in p.text)
    assert {"42(c)", "42(d)", "42(e)"} <= set(several.concluding_observations)
    assert any("36(e)" in p.concluding_observations for p in passages)


def test_paragraphs_know_which_concluding_observations_they_address(cedaw):
    document, passages = cedaw
    by_number = {p.number: p for p in document.paragraphs}
    # "Thus, paragraphs 30 (d) and (e) … are being fulfilled" sums up the paragraph before it
    thus = next(p for p in document.paragraphs if p.text.startswith("Thus, paragraphs 30 (d) and (e)"))
    before = by_number[thus.number - 1]
    assert not before.concluding_observations and {"30(d)", "30(e)"} <= set(before.addresses)
    # "Given the above, the recommendations in paragraphs 40 (a) … are being fulfilled" sums up the paragraphs before it
    given = next(p for p in document.paragraphs if p.text.startswith("Given the above, the recommendations in paragraphs 40"))
    assert {"40(a)", "40(e)"} <= set(by_number[given.number - 1].addresses)
    assert "40(a)" not in by_number[given.number + 1].addresses
    # "With regard to the recommendation in paragraph 26 (a) …" opens a block the next paragraph belongs to
    opener = next(p for p in document.paragraphs if "With regard to the recommendation in paragraph 26 (a)" in p.text)
    after = by_number[opener.number + 1]
    assert after.section[:2] == opener.section[:2] and not after.concluding_observations and "26(a)" in after.addresses
    # … but not across an article: 18 (b) is the last paragraph of Article 3
    last = next(p for p in document.paragraphs if "With regard to the recommendation in paragraph 18 (b)" in p.text)
    assert "18(b)" not in by_number[last.number + 1].addresses
    # a block never reaches past the next reference or into another article
    for p in document.paragraphs:
        assert set(p.concluding_observations) <= set(p.addresses)
    stats = next(p for p in passages if "Bureau of National Statistics" in p.text and "30(d)" in p.concluding_observations)
    assert stats.doc_id == "cedaw"


def test_sidebar_repeats_are_marked_as_duplicates_of_their_original(review):
    document, passages = review
    quote = next(p for p in document.paragraphs if p.text.startswith("The President of the International Commission"))
    assert quote.duplicate_of is not None
    original = document.paragraphs[quote.duplicate_of - 1]
    assert original.text.startswith("In her statement, the President of the International Commission")
    assert original.duplicate_of is None
    copy = next(p for p in passages if quote.number in p.paragraphs)
    assert copy.duplicate_of is not None
    assert original.number in next(p for p in passages if p.passage_id == copy.duplicate_of).paragraphs
    assert 20 <= sum(1 for p in document.paragraphs if p.duplicate_of) <= 80


def test_no_passage_exceeds_the_model_window(reports, tokens):
    header_budget = 256 - 2 - MAX_TOKENS
    assert header_budget >= 48
    for _, passages in reports.values():
        for p in passages:
            assert tokens.count(p.text) <= Settings().ingest.max_passage_tokens


def test_ingest_twice_gives_identical_passages_and_ids(reports, tokens):
    from reportrag.ingest.pipeline import build_document, build_passages, read_manifest

    from tests.conftest import MANIFEST

    for info, path in read_manifest(MANIFEST):
        again = build_passages(build_document(path, info, max_bytes=10**8), tokens, max_tokens=MAX_TOKENS)
        assert again == reports[info.doc_id][1]


def test_passage_ids_are_unique_and_survive_other_reports_changing(reports):
    ids = [p.passage_id for _, passages in reports.values() for p in passages]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"(review|cedaw)-\d{4}-[0-9a-f]{10}", i) for i in ids)
