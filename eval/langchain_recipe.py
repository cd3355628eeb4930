"""The plain LangChain recipe, as a baseline for `reportrag eval` and the benchmark (eval/bench/): split, embed, FAISS, ``similarity_search``.

What the tutorials do, with their defaults, over each report's canonical text (``Document.text``):

- ``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)``;
- ``HuggingFaceEmbeddings(model_name=<the bundled all-MiniLM-L6-v2 folder>)`` (langchain-community's) with the default
  ``encode_kwargs`` (``normalize_embeddings`` is *not* passed). The model's own pipeline ends in a
  ``Normalize`` module, so the vectors are unit-length anyway and L2 ranking equals cosine ranking;
- ``FAISS.from_documents`` (langchain-community; its default ``IndexFlatL2``, exact) and
  ``similarity_search(q, k)``.

Each hit is a dict ``{doc_id, start, end, text, rank}`` with ``text == document.text[start:end]`` (from the
splitter's ``start_index``), so the passage-level metrics score it exactly like our own hits. Nothing is saved
or loaded: the recipe lives in memory (no pickle, no ``allow_dangerous_deserialization``).

Needs the optional packages ``langchain-community`` and ``langchain-text-splitters`` (``pip install -e '.[baseline]'``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from reportrag.core.settings import Settings
from reportrag.service import Service
from reportrag.service import ingesting

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200


@dataclass
class Recipe:
    store: object  # langchain_community.vectorstores.FAISS
    embeddings: object  # langchain_community HuggingFaceEmbeddings
    texts: dict[str, str]  # doc_id -> canonical text
    chunks: int
    seconds: dict[str, float] = field(default_factory=dict)  # what building took: model, split, embed+index


def load_embeddings(settings: Settings):
    """HuggingFaceEmbeddings over the local model folder (never a hub name: nothing is downloaded).

    langchain-community's class, not langchain-huggingface's: the latter pins huggingface-hub below 2, which
    gradio and our transformers have left behind; both wrap the same sentence-transformers call."""
    from langchain_community.embeddings import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=str(ingesting.model_dir(settings)))


def split_reports(settings: Settings) -> tuple[list, dict[str, str]]:
    """LangChain Documents for every stored report, with ``doc_id`` and ``start_index`` metadata."""
    from langchain_core.documents import Document as LCDocument
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True)
    service = Service(settings)
    texts = {doc["doc_id"]: service.document(doc["doc_id"]).text for doc in service.documents()}
    docs = [LCDocument(page_content=text, metadata={"doc_id": doc_id}) for doc_id, text in texts.items()]
    return splitter.split_documents(docs), texts


def build_recipe(settings: Settings, embeddings=None) -> Recipe:
    """Load the model (unless given), split every report, embed every chunk, build the FAISS store."""
    from langchain_community.vectorstores import FAISS

    seconds, started = {}, time.perf_counter()
    embeddings = embeddings or load_embeddings(settings)
    seconds["model"], started = time.perf_counter() - started, time.perf_counter()
    chunks, texts = split_reports(settings)
    seconds["split"], started = time.perf_counter() - started, time.perf_counter()
    store = FAISS.from_documents(chunks, embeddings)
    seconds["embed_and_index"] = time.perf_counter() - started
    return Recipe(store=store, embeddings=embeddings, texts=texts, chunks=len(chunks), seconds=seconds)


def search_recipe(recipe: Recipe, queries: list[str], k: int = 10) -> list[list[dict]]:
    """``similarity_search(q, k)`` for each query, one at a time, as hits with offsets into the report text."""
    out = []
    for query in queries:
        hits = []
        for rank, found in enumerate(recipe.store.similarity_search(query, k=k), start=1):
            doc_id, start = found.metadata["doc_id"], found.metadata["start_index"]
            end = start + len(found.page_content)
            text = recipe.texts[doc_id][start:end]
            if text != found.page_content:  # the splitter's start_index is the contract; say so if it breaks
                raise ValueError(f"{doc_id}: chunk at {start} does not match the report text there")
            hits.append({"doc_id": doc_id, "start": start, "end": end, "text": text, "rank": rank})
        out.append(hits)
    return out


def baseline(settings: Settings, warn=lambda line: None) -> dict:
    """``{"langchain-recipe": search}`` for ``runner.evaluate``'s baselines, when the optional packages are
    installed (pip install -e '.[baseline]'); else ``{}`` (``warn`` says why)."""
    from types import SimpleNamespace

    try:
        recipe = build_recipe(settings)
    except ImportError as e:
        warn(f"note: LangChain baseline skipped ({e.name} not installed: pip install -e '.[baseline]')")
        return {}
    return {"langchain-recipe": lambda texts, k: [[SimpleNamespace(**h) for h in hits]
                                                  for hits in search_recipe(recipe, texts, k)]}
