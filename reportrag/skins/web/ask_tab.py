"""The Ask tab: a question in, an answer of verbatim cited quotes out, every citation shown in its report beside
the chat, the answer downloadable as Markdown and DOCX, the reports it cites as CSL-JSON and BibTeX (as
``reportrag ask --export`` writes them). A shared ``?cite=`` link opens this tab at its citation.

Handlers carry no docstrings: Gradio would publish them as the API's endpoint descriptions.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import gradio as gr

from reportrag.answers import export
from reportrag.core.errors import ReportragError
from reportrag.core.records import Answer
from reportrag.retrieval.search import MAX_QUERY_CHARS
from reportrag.service import Service
from reportrag.skins.web.html import answer_html, citation_choices, error_html, esc
from reportrag.skins.web.shared import ALL_REPORTS, citation_html, search_filters

EXAMPLES = [
    "What does Kazakhstan say about shelters for victims of domestic violence?",
    "What was the maternal mortality rate in 2020?",
    "What is the maximum prison term for torture?",
    "Which party had the most gender-balanced group of deputies after the 2023 elections?",
    "What legislative change responds to paragraph 26 (a) of the concluding observations on domestic violence?",
]


@dataclass(frozen=True)
class AskTab:
    """What other parts of the app reach into."""

    doc_filter: gr.Dropdown  # its choices change when a report is added
    evidence: gr.HTML  # a shared link's citation is shown here


def build_ask_tab(service: Service, report_choices: list) -> AskTab:
    with gr.Tab("Ask", id="ask"):
        with gr.Row():
            with gr.Column(scale=3):
                # autoscroll off: a long answer shows from its top (the page script brings that top into view)
                chat = gr.Chatbot(label="Answers", height=520, elem_id="rr-chat", latex_delimiters=[],
                                  feedback_options=None, sanitize_html=True, buttons=[], autoscroll=False,
                                  placeholder="Ask about the reports. Every answer quotes them verbatim.")
                question = gr.Textbox(label="Question", placeholder="e.g. " + EXAMPLES[0], max_length=MAX_QUERY_CHARS,
                                      elem_id="rr-question", submit_btn="Ask")
                gr.Examples(EXAMPLES, inputs=question, label="Examples")
                with gr.Accordion("Filters", open=False):
                    with gr.Row():
                        doc_filter = gr.Dropdown(report_choices, value=ALL_REPORTS, label="Report")
                        section_filter = gr.Textbox(label="Section or article", placeholder="Article 11, VII.C …")
                downloads = _download_buttons()
                with gr.Accordion("Copy as Markdown (citations as footnotes)", open=False):
                    markdown = gr.Code(language="markdown", label="Answer as Markdown", interactive=False)
            with gr.Column(scale=2):
                cites = gr.Radio([], label="Citations: pick one to see it in its report", elem_id="rr-citations")
                evidence = gr.HTML(elem_id="rr-evidence")
        answers = gr.State([])  # this session's answers, in order, for the conversation's export

    handlers = _AskHandlers(service)
    outputs = [chat, cites, evidence, *downloads, markdown, question, answers]
    question.submit(handlers.respond, [question, chat, doc_filter, section_filter, answers], outputs,
                    api_name="ask_stream")
    cites.change(handlers.show, cites, evidence, api_name=False)
    clear = gr.Button("Clear filters", size="sm", elem_id="rr-clear-filters", visible="hidden")
    clear.click(lambda: (ALL_REPORTS, ""), None, [doc_filter, section_filter], api_name=False)
    return AskTab(doc_filter=doc_filter, evidence=evidence)


# the answer's exports (button label, element id suffix, file suffix), then the conversation's two
ANSWER_EXPORTS = (("Download Markdown", "md", ".md"), ("Download DOCX", "docx", ".docx"),
                  ("Cited reports as CSL-JSON", "csl", ".csl.json"), ("Cited reports as BibTeX", "bib", ".bib"))


def _download_buttons() -> list[gr.DownloadButton]:
    """The answer's and the conversation's exports; greyed out until there is an answer to download."""
    buttons = [(label, ident) for label, ident, _ in ANSWER_EXPORTS] + [
        ("Conversation as Markdown", "conversation-md"), ("Conversation as DOCX", "conversation-docx")]
    with gr.Row():
        return [gr.DownloadButton(label, size="sm", interactive=False, elem_id=f"rr-download-{ident}")
                for label, ident in buttons]


def open_shared_links(app: gr.Blocks, service: Service, ask: AskTab, tabs: gr.Tabs) -> None:
    """A page opened at ``?cite=<anchor>`` shows that citation in the Ask tab's evidence panel."""
    app.load(_AskHandlers(service).on_load, None, [ask.evidence, tabs], api_name=False)


def _chat_only(history: list) -> tuple:
    """The respond outputs while an answer is on its way: the chat changes, the rest stays, the question clears."""
    return history, gr.skip(), gr.skip(), *(gr.skip() for _ in range(len(ANSWER_EXPORTS) + 2)), gr.skip(), "", gr.skip()


def _download(path: str | None):
    """A download button with its file, usable only when there is one."""
    return gr.DownloadButton(value=path, interactive=path is not None)


class _AskHandlers:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.exports = service.settings.server.work_dir / "exports"

    def show(self, ident: str | None, request: gr.Request) -> str:
        return citation_html(self.service, ident, request)

    def respond(self, question: str, history: list, doc: str, section: str, answers: list, request: gr.Request):
        question = (question or "").strip()
        if not question:
            yield _chat_only(history)
            return
        history = [*history, {"role": "user", "content": esc(question)},
                   {"role": "assistant", "content": "<em>Searching the reports…</em>"}]
        yield _chat_only(history)
        answer, streamed = None, ""
        try:
            previous = (answers[-1].read_as or answers[-1].question) if answers else ""  # "And the review?"
            for item in self.service.stream(question, filters=search_filters(doc, section), previous=previous):
                if isinstance(item, Answer):
                    answer = item
                else:  # a chat model's words as they come; checked and cited once complete
                    streamed += item
                    history[-1] = {"role": "assistant", "content": f"<p>{esc(streamed)}</p>"}
                    yield _chat_only(history)
        except ReportragError as e:
            history[-1] = {"role": "assistant", "content": error_html(e)}
            yield (history, gr.update(choices=[], value=None), "", *(_download(None) for _ in ANSWER_EXPORTS),
                   *self.conversation_downloads(answers), "", "", answers)
            return
        history[-1] = {"role": "assistant", "content": answer_html(answer)}
        choices = citation_choices(answer)
        first = choices[0][1] if choices else None
        answers = [*answers, answer]
        files = self.write_exports(answer)
        yield (history, gr.update(choices=choices, value=first), self.show(first, request),
               *(_download(f) for f in files), *self.conversation_downloads(answers), export.to_markdown(answer), "",
               answers)

    def write_exports(self, answer: Answer) -> list[str]:
        self.exports.mkdir(parents=True, exist_ok=True)
        # the file name comes from the question's hash, never from user text: nothing can escape the folder
        stem = "answer-" + hashlib.sha1(answer.question.encode("utf-8")).hexdigest()[:12]
        # the reports as the CLI's --export describes them: what the index says of each (the manifest's fields)
        reports = {doc_id: document.info for doc_id, document in self.service.searcher.documents.items()}
        return [str(export.export(answer, self.exports / f"{stem}{suffix}", reports))
                for _, _, suffix in ANSWER_EXPORTS]

    def conversation_downloads(self, answers: list[Answer]) -> tuple:
        """The conversation's two download buttons: its files, or greyed out before a first answer."""
        if not answers:
            return _download(None), _download(None)
        self.exports.mkdir(parents=True, exist_ok=True)
        key = "\n".join(f"{a.question}\t{a.scope}" for a in answers)  # the same conversation, the same files
        stem = "conversation-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]
        return (_download(str(export.export_conversation(answers, self.exports / f"{stem}.md"))),
                _download(str(export.export_conversation(answers, self.exports / f"{stem}.docx"))))

    def on_load(self, request: gr.Request):
        ident = request.query_params.get("cite") if request is not None else None
        if not ident:
            return gr.skip(), gr.skip()
        return self.show(ident, request), gr.Tabs(selected="ask")
