"""Generated answers over the real reports, with LangChain's fake chat models standing in for a real one (none can run
in CI). The fake outputs are built from the real passage text, so honest quotes are truly verbatim and invented ones
truly are not."""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage

from reportrag.answers import quotes
from reportrag.answers.generate import (
    NO_ANSWER,
    build_messages,
    chat_model_from_env,
    check_answer,
    generate_answer,
    split_answer_sentences,
    stream_answer,
)
from reportrag.core.errors import ReportragError
from reportrag.core.records import Answer

DEATH = "When was the death penalty abolished?"
SHELTERS = "What does Kazakhstan do about shelters for victims of domestic violence?"


@pytest.fixture(scope="module")
def death(searcher):
    return searcher.search(DEATH, k=5)


@pytest.fixture(scope="module")
def shelters(searcher):
    return searcher.search(SHELTERS, k=5)


def number(hits, needle: str) -> int:
    """The [n] of the passage holding ``needle``: robust to small changes in ranking."""
    return next(i for i, h in enumerate(hits, 1) if needle in h.passage.text)


def sentence(searcher, hits, needle: str) -> str:
    """The report's sentence holding ``needle``, exactly as the canonical text has it."""
    for h in hits:
        text = searcher.documents[h.passage.doc_id].text
        for s in h.passage.sentences:
            if needle in text[s.start:s.end]:
                return text[s.start:s.end]
    raise AssertionError(needle)


def ask(searcher, question, hits, output, **kw):
    return generate_answer(question, hits, searcher.documents, FakeListChatModel(responses=[output]), **kw)


def assert_exact(searcher, hits, answer):
    """Every citation is the report's exact text at its place, inside the passage it came from and its ¶."""
    by_id = {h.passage.passage_id: h.passage for h in hits}
    for c in answer.citations:
        document = searcher.documents[c.place.doc_id]
        assert c.verified and document.text[c.place.start:c.place.end] == c.quote
        passage = by_id[c.place.passage_id]
        assert passage.start <= c.place.start < c.place.end <= passage.end
        paragraph = next(p for p in document.paragraphs if p.number == c.place.paragraph)
        assert paragraph.start <= c.place.start < paragraph.end and c.place.paragraph in passage.paragraphs
        assert c.anchor == quotes.anchor(c.place.doc_id, c.place.paragraph, c.quote)
        assert c.place.doc_title == document.info.short_title


def test_prompt_numbers_the_passages_with_their_place(searcher, death):
    system, human = build_messages(DEATH, death, searcher.documents)
    assert "verbatim" in system.content and NO_ANSWER in system.content
    first = death[0].passage
    assert f"[1] {death[0].doc_title}, {first.section_label}, ¶{first.paragraph}" in human.content
    assert all(f"[{i}] " in human.content and h.passage.text in human.content for i, h in enumerate(death, 1))
    assert human.content.rstrip().endswith(DEATH)


def test_honest_answer_quoting_two_passages_is_verified(searcher, death):
    law = sentence(searcher, death, "On December 29, 2021, a law was adopted")
    cedaw = sentence(searcher, death, "On 8 June 2022, the death penalty was removed")
    a, b = number(death, law), number(death, cedaw)
    # cite the later passage first: citations are numbered in order of use, not by passage number
    first, second = (b, a) if a < b else (a, b)
    first_text = cedaw if first == b else law
    second_text = law if first == b else cedaw
    output = (f'The reports say: "{first_text}" [{first}] '
              f'They also state that “{second_text.rstrip(".")}.” [{second}]\n{first_text} [{first}]')
    answer = ask(searcher, DEATH, death, output)
    assert answer.answered and answer.method == "generated:fake-list-chat-model"
    assert [s.verified for s in answer.statements] == [True, True, True], [s.note for s in answer.statements]
    assert [s.citations for s in answer.statements] == [(1,), (2,), (1,)]  # the repeated quote reuses citation 1
    assert [c.n for c in answer.citations] == [1, 2]
    assert [c.quote for c in answer.citations] == [first_text, second_text]
    assert answer.citations[0].place.passage_id == death[first - 1].passage.passage_id
    assert {s.doc_id for s in answer.statements} == {"review", "cedaw"}
    assert "[" not in answer.statements[0].text  # passage markers give way to the citation numbers
    assert answer.closest == tuple(death)
    assert_exact(searcher, death, answer)


def test_marker_forms_and_an_unquoted_verbatim_sentence(searcher, shelters):
    centres = sentence(searcher, shelters, "46 crisis centres")
    forty_nine = sentence(searcher, shelters, "49 crisis centers operate")
    a, b = number(shelters, centres), number(shelters, forty_nine)
    output = (f'There are "{centres[:60]}" and "{forty_nine[:70]}" [{a}, {b}]. '
              f'Elsewhere "{forty_nine[20:80]}" [{b}][{a}]?\n\n{centres} [{a}]')
    answer = ask(searcher, SHELTERS, shelters, output)
    assert [s.verified for s in answer.statements] == [True, False, True]
    assert answer.statements[1].note == f"nothing quoted from [{a}]"  # cited, but nothing of it was used
    # the flagged statement keeps the citation of what it did quote verbatim
    assert [s.citations for s in answer.statements] == [(1, 2), (3,), (4,)]
    assert answer.citations[3].quote == centres
    assert_exact(searcher, shelters, answer)


def test_invented_quotes_are_flagged_never_verified(searcher, shelters):
    honest = sentence(searcher, shelters, "49 crisis centers operate")
    n = number(shelters, honest)
    invented = "In 2021, Kazakhstan opened 60 new shelters for victims of domestic violence in every region."
    changed = honest.replace("39 of which", "41 of which")
    assert changed != honest
    assert all(quotes.find_exact(q, d.text) == [] for q in (invented, changed) for d in searcher.documents.values())
    output = (f'"{honest}" [{n}] The Government reports that "{invented}" [{n}] '
              f'In fact "{changed}" [{n}] Since 2019, "{honest[:40]}" [{n}]')
    answer = ask(searcher, SHELTERS, shelters, output)
    assert [s.verified for s in answer.statements] == [True, False, False, False]
    notes = [s.note for s in answer.statements[1:]]
    assert notes == [f"quote not found in [{n}]"] * 2 + [f"number 2019 is not in [{n}]"]
    assert answer.answered and len(answer.citations) == 2  # the honest quote, and the real words of the last
    assert_exact(searcher, shelters, answer)

    dropped = ask(searcher, SHELTERS, shelters, output, unverified="drop")
    assert [s.text for s in dropped.statements] == [f'"{honest}"']
    assert [c.n for c in dropped.citations] == [1] and dropped.statements[0].citations == (1,)


def test_a_real_quote_from_another_passage_does_not_verify(searcher, shelters):
    honest = sentence(searcher, shelters, "49 crisis centers operate")
    wrong = next(i for i in range(1, len(shelters) + 1) if i != number(shelters, honest))
    answer = ask(searcher, SHELTERS, shelters, f'"{honest}" [{wrong}]')
    assert not answer.answered and not answer.statements[0].verified
    assert answer.statements[0].note == f"quote not found in [{wrong}]"


def test_a_quote_from_a_sidebar_copy_lists_every_place(searcher):
    hits = searcher.search("Navi Pillay ratifying the Second Optional Protocol region free from the death penalty", k=5)
    n = number(hits, "Navi Pillay")
    assert hits[n - 1].also_at
    quote = "closer to becoming a region free from the death penalty"
    output = f"Navi Pillay said ratifying brought the region “{quote}” [{n}]."
    answer = ask(searcher, "What did Navi Pillay say?", hits, output)
    (citation,) = answer.citations
    assert answer.statements[0].verified and citation.also_at
    assert all(searcher.documents[a.doc_id].text[a.start:a.end] == citation.quote for a in citation.also_at)
    assert {a.passage_id for a in citation.also_at} == {p.passage_id for p in hits[n - 1].also_at}


def test_citing_a_passage_not_given_and_no_citation_are_flagged(searcher, death):
    law = sentence(searcher, death, "On December 29, 2021, a law was adopted")
    n = number(death, law)
    output = f'"{law}" [{n}] "{law}" [7] The death penalty was abolished long ago. "{law}" [{n}][9]'
    answer = ask(searcher, DEATH, death, output)
    assert [(s.verified, s.note) for s in answer.statements] == [
        (True, ""),
        (False, "cites [7], which was not given"),
        (False, "no citation"),
        (False, "cites [9], which was not given"),
    ]
    assert [s.citations for s in answer.statements] == [(1,), (), (), (1,)]
    assert [s.text for s in ask(searcher, DEATH, death, output, unverified="drop").statements] == [f'"{law}"']


def test_model_saying_the_reports_do_not_address_it(searcher, shelters):
    answer = ask(searcher, "What is the price of bread in Almaty?", shelters, NO_ANSWER)
    assert not answer.answered and answer.statements == () and answer.citations == ()
    assert answer.reason == NO_ANSWER and answer.closest == tuple(shelters)


def test_nothing_verified_is_not_an_answer(searcher, shelters):
    answer = ask(searcher, SHELTERS, shelters, "Shelters are everywhere. They are free [1].")
    assert not answer.answered and "could be verified" in answer.reason
    assert len(answer.statements) == 2 and not any(s.verified for s in answer.statements)
    assert not ask(searcher, SHELTERS, shelters, "Shelters are everywhere [1].", unverified="drop").statements


def test_streaming_yields_chunks_then_the_same_checked_answer(searcher, death):
    law = sentence(searcher, death, "On December 29, 2021, a law was adopted")
    output = f'Abolished by law: "{law}" [{number(death, law)}] It was "{law[:30]}" [8]'
    invoked = ask(searcher, DEATH, death, output)
    models = FakeListChatModel(responses=[output]), GenericFakeChatModel(messages=iter([AIMessage(content=output)]))
    for model in models:
        *chunks, last = stream_answer(DEATH, death, searcher.documents, model)
        assert len(chunks) > 1 and all(isinstance(c, str) for c in chunks) and "".join(chunks) == output
        assert isinstance(last, Answer) and last == replace(invoked, method=last.method)
        assert last.answered and [s.verified for s in last.statements] == [True, False]


def test_list_content_blocks_are_read(searcher, death):
    law = sentence(searcher, death, "On December 29, 2021, a law was adopted")
    output = f'"{law}" [{number(death, law)}]'
    blocks = [{"type": "text", "text": output[:20]}, {"type": "reasoning", "reasoning": "hidden"}, output[20:]]
    model = GenericFakeChatModel(messages=iter([AIMessage(content=blocks)]))
    answer = generate_answer(DEATH, death, searcher.documents, model)
    assert answer == replace(ask(searcher, DEATH, death, output), method="generated:generic-fake-chat-model")
    assert answer.answered and answer.citations[0].quote == law


def test_sentences_and_markers_are_parsed_outside_quotes():
    text = ('It says "Order No. 263. Approved." [1] Then [2][3].\n- Bullet "x [4] y" [1, 3]\n'
            "Per Article No. 5 of the code, e.g. the rules [2].\n[5]\nLast one")
    assert split_answer_sentences(text) == [
        'It says "Order No. 263. Approved." [1]',
        "Then [2][3].",
        'Bullet "x [4] y" [1, 3]',
        "Per Article No. 5 of the code, e.g. the rules [2].\n[5]",
        "Last one",
    ]


def test_no_passages_means_no_model_call(searcher):
    answer = generate_answer(DEATH, [], searcher.documents, FakeListChatModel(responses=[]))
    assert not answer.answered and answer.reason
    with pytest.raises(ReportragError, match="unverified"):
        check_answer(DEATH, "x", [], searcher.documents, unverified="hide")


@pytest.mark.parametrize("value, package", [("openai-compatible:qwen2.5@http://localhost:8000/v1", "langchain-openai"),
                                            ("ollama:llama3.1:8b", "langchain-ollama")])
def test_chat_model_from_env_names_the_missing_package(monkeypatch, value, package):
    monkeypatch.setitem(sys.modules, package.replace("-", "_"), None)  # as if not installed, even where it is
    with pytest.raises(ReportragError) as err:
        chat_model_from_env(value)
    assert f"pip install {package}" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("value", ["anthropic:claude", "openai-compatible:gpt-4o", "ollama:", ""])
def test_chat_model_from_env_lists_the_supported_forms(value):
    with pytest.raises(ReportragError) as err:
        chat_model_from_env(value)
    assert "openai-compatible:<model>@<base_url>" in str(err.value) and "ollama:<model>" in str(err.value)
    assert "\n" not in str(err.value)
