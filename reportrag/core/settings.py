"""One settings object, nested by stage and passed in; never read from globals deep inside.

Every field can be set from the environment as ``REPORTRAG_<FIELD>`` (field names are unique across sections,
so ``REPORTRAG_INDEX_DIR`` sets ``index.index_dir``) or on the command line as ``--set FIELD=VALUE``. The
README's settings table is generated from this module (``settings_table``), and a test keeps the two equal.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reportrag.core.errors import ReportragError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENV_PREFIX = "REPORTRAG_"
_DATA = PROJECT_ROOT / "data"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IngestSettings(_Section):
    """Reading reports and cutting them into passages."""

    reports_manifest: Path = Field(_DATA / "reports" / "manifest.json", description="the bundled reports' manifest")
    max_file_bytes: int = Field(50 * 1024 * 1024, ge=1, description="largest report file accepted")
    max_passage_tokens: int = Field(200, ge=32, le=254,
                                    description="word pieces per passage (minilm reads 256, mpnet 384)")


class IndexSettings(_Section):
    """Where the index lives and what shapes it (a change rebuilds it from the embedding cache)."""

    index_dir: Path = Field(_DATA / "index", description="the index folder: stored reports and search index")
    cache_dir: Path = Field(_DATA / "cache", description="embeddings by content hash, shared by rebuilds")
    model: Literal["mpnet", "minilm"] = Field(
        "mpnet", description='the bundled embedding model: "mpnet" (all-mpnet-base-v2, 768-d, the stronger) or '
                             '"minilm" (all-MiniLM-L6-v2, 384-d, 4-7× faster on a CPU)')
    model_path: Path | None = Field(None, description="your own sentence-transformers folder; set, it replaces `model`")
    models_dir: Path = Field(_DATA / "models", description="where mpnet is joined from its PyPI parts, verified, once")
    exact_search_up_to: int = Field(20_000, ge=1, description="vectors; above this an IVF index answers")
    max_shards: int = Field(8, ge=1, description="shards the index may hold; one more and the smallest are merged")
    device: str = Field("auto", pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$",
                        description='where the model runs: "auto" (CUDA in fp16 when there is a GPU), "cpu", "cuda[:N]"')
    query_precision: Literal["float32", "bfloat16"] = Field(
        "float32", description='how served questions are embedded on a CPU: "float32", or "bfloat16", 1.3-1.9× faster '
                               "where the CPU has native bf16 (AVX512-BF16, AMX), slower elsewhere; rankings can move "
                               "on near-ties (BENCHMARKS.md)")
    query_runtime: Literal["onnx", "torch"] = Field(
        "onnx", description='what runs the model for questions on a CPU in the app, `ask`/`search --batch` and `eval`: '
                            '"onnx" (ONNX Runtime; exported from the model once into the cache folder, checked against '
                            'torch; one question 2.2-2.4× faster) or "torch"; bfloat16 questions and a GPU use torch')


class RetrievalSettings(_Section):
    """Hybrid scoring and re-ranking."""

    passage_weight: float | None = Field(None, ge=0, description="fused score: weight of the passage cosine; none: tuned for the model")
    sentence_weight: float | None = Field(None, ge=0, description="fused score: weight of the best sentence's cosine; none: tuned for the model")
    keyword_weight: float | None = Field(None, ge=0, description="fused score: weight of max-normalised BM25; none: tuned for the model")
    keyword_identifiers_weight: float | None = Field(None, ge=0, description="BM25's weight when the query carries numbers or (e)-items; none: tuned for the model")
    rerank_depth: int = Field(50, ge=1, description="fused candidates the rerank stage re-scores")
    reranker_path: Path | None = Field(None, description="a CrossEncoder folder; none: re-scoring by named references")


class AnswerSettings(_Section):
    """Extractive answers and abstention. The quote-choice settings left unset (the margins, min_relevance,
    min_answer_relevance) take the values chosen with the embedding model's relevance model, on the training split
    only (``python -m reportrag.eval.train_quotes``)."""

    search_depth: int = Field(8, ge=1, description="passages whose sentences may be quoted")
    max_quotes: int = Field(3, ge=1, description="quotes per answer at most")
    max_per_passage: int = Field(2, ge=1, description="quotes from one passage at most")
    quote_margin: float | None = Field(None, ge=0, le=1, description="a sentence is quoted when its relevance is within this of the best one's; none: tuned for the model")
    other_report_margin: float | None = Field(None, ge=0, le=1, description="… or, for the other report's best sentence, within this; none: tuned for the model")
    min_relevance: float | None = Field(None, ge=0, le=1, description="below this relevance only the best sentence is quoted; none: tuned for the model")
    min_answer_relevance: float | None = Field(None, ge=0, le=1, description="below this relevance of the best sentence, abstain; none: tuned for the model")
    relevance_model: Path | None = Field(None, description="the quote-relevance model (JSON); none: the one bundled for the model")
    min_cosine: float = Field(0.30, description="below this no sentence is close enough to quote")
    year_topic_share: float = Field(0.7, ge=0, le=1, description="a year must stand with this share of the topic")


class GenerationSettings(_Section):
    """Optional generated answers (a chat model over the retrieved passages)."""

    chat_model: str | None = Field(None, description='"openai-compatible:MODEL@URL" or "ollama:MODEL"; none: extractive')
    unverified: Literal["flag", "drop"] = Field("flag", description="claims whose quotes are not in the cited passage")


class ServerSettings(_Section):
    """The web app and HTTP API."""

    host: str = Field("127.0.0.1", description="interface to bind (this machine only by default)")
    port: int = Field(7860, ge=1, le=65535, description="port (GRADIO_SERVER_PORT is read too)")
    work_dir: Path = Field(_DATA / "work", description="what the web app writes: exports, uploads, temporary files")
    allow_uploads: bool = Field(False, description="let web users add reports")
    follow_index: bool = Field(True, description="serve the index as other processes change it (an ingest, a removal, "
                               "a compaction): reopened in the background, the one open served meanwhile")
    public_url: str | None = Field(None, description="the app's address as readers reach it (https://host/path), "
                                   "for shared links; none: from the request (Host, X-Forwarded-Host/-Proto)")


class ClusterSettings(_Section):
    """Distributed ingest on a Ray cluster (the optional ``.[cluster]`` extra; README: Beyond one machine)."""

    cluster_address: str | None = Field(None, description='a Ray cluster ("HOST:PORT") that `reportrag ingest` runs '
                                        "on (as --cluster does); none: this process alone")
    cluster_batch: int = Field(256, ge=1, description="texts per batch sent to an embedding actor; batches reach the "
                                                      "embedding cache as they arrive (a rerun embeds only the rest)")


SECTIONS: dict[str, type[_Section]] = {
    "ingest": IngestSettings, "index": IndexSettings, "retrieval": RetrievalSettings,
    "answers": AnswerSettings, "generation": GenerationSettings, "server": ServerSettings, "cluster": ClusterSettings,
}
# field name → its section: names are unique, so a flat name (environment, --set, keyword) is never ambiguous
SECTION_OF = {name: section for section, cls in SECTIONS.items() for name in cls.model_fields}


class Settings(_Section):
    ingest: IngestSettings = IngestSettings()
    index: IndexSettings = IndexSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    answers: AnswerSettings = AnswerSettings()
    generation: GenerationSettings = GenerationSettings()
    server: ServerSettings = ServerSettings()
    cluster: ClusterSettings = ClusterSettings()

    @model_validator(mode="before")
    @classmethod
    def _nest_flat_names(cls, data: Any) -> Any:
        """``Settings(index_dir=…, max_quotes=3)`` means ``Settings(index={"index_dir": …}, answers={…})``."""
        if not isinstance(data, Mapping):
            return data
        nested: dict[str, Any] = {k: v for k, v in data.items() if k in SECTIONS}
        for key, value in data.items():
            if key in SECTIONS:
                continue
            section = SECTION_OF.get(key)
            if section is None:
                nested[key] = value  # extra="forbid" names it
                continue
            current = nested.get(section, {})
            current = current.model_dump() if isinstance(current, BaseModel) else dict(current)
            nested[section] = {**current, key: value}
        return nested

    def but(self, **changes: Any) -> Settings:
        """A copy with some fields changed, by flat name (validated: ``model_copy`` would not look at them)."""
        return Settings(**{name: getattr(self, name).model_dump() for name in SECTIONS}, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``REPORTRAG_<FIELD>`` variables, then ``overrides`` (None values are ignored)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in SECTION_OF:
            raw = environ.get(ENV_PREFIX + name.upper())
            if raw:
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return build(values, source="settings")


def build(values: Mapping[str, Any], *, source: str = "settings") -> Settings:
    """Settings from flat names; a bad value is one line naming the setting, its variable and what is wrong."""
    try:
        return Settings(**values)
    except ValidationError as e:
        error = e.errors()[0]
        name = str(error["loc"][-1]) if error["loc"] else "?"
        value = str(values.get(name, ""))[:60]
        raise ReportragError(
            f"{source}: {name}={value!r} ({ENV_PREFIX}{name.upper()}): {error['msg']}; fix or unset it"
        ) from None


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """``--set FIELD=VALUE`` flags as flat names; an unknown field names the known ones."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().split(".")[-1]  # "answers.max_quotes" or "max_quotes"
        if not sep or name not in SECTION_OF:
            raise ReportragError(f"--set {pair}: expected FIELD=VALUE with FIELD one of {', '.join(SECTION_OF)}")
        out[name] = value
    return out


def settings_table() -> str:
    """The README's settings table, from the fields themselves."""
    lines = ["| section | setting | environment | default | what |", "|---|---|---|---|---|"]
    for section, cls in SECTIONS.items():
        for name, field in cls.model_fields.items():
            default = field.default
            if isinstance(default, Path):
                default = default.relative_to(PROJECT_ROOT).as_posix() if default.is_relative_to(PROJECT_ROOT) else default
            shown = "none" if default is None else f"`{default}`"
            lines.append(f"| {section} | `{name}` | `{ENV_PREFIX}{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(lines) + "\n"
