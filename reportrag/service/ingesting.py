"""The library calls the CLI, the HTTP API and the app share: ingest reports, list them, read one."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from reportrag.core.errors import IndexMismatch, IndexNotFound, ReportragError
from reportrag.core.records import ReportInfo
from reportrag.core.settings import Settings
from reportrag.index import document_store as documents
from reportrag.index import search_index as store
from reportrag.index.build import build as build_index
from reportrag.index import mpnet
from reportrag.index.embed import Embedder, EmbeddingCache, folder_dimension
from reportrag.index.model_path import bundled_model_name, bundled_model_path, minilm_path, model_name
from reportrag.ingest.pipeline import (
    PIPELINE_VERSION,
    build_document,
    build_passages,
    expand,
    info_for_file,
    read_manifest,
)
from reportrag.ingest.tokens import TokenCounter
from reportrag.retrieval.rerank import CrossEncoderReranker, ReferenceReranker, Reranker
from reportrag.retrieval.scoring import weights_for
from reportrag.retrieval.search import Searcher


def model_dir(settings: Settings, progress: Callable[[str], None] = lambda _: None) -> Path:
    """The folder of the model in force: ``model_path`` when set, else the bundled model ``model`` names (mpnet is
    assembled from its parts and verified on first use; later calls check its stamp, a few ``stat`` calls)."""
    if settings.index.model_path:
        return settings.index.model_path
    return bundled_model_path(settings.index.model, settings.index.models_dir, progress=progress)


def embedding_model_name(settings: Settings) -> str:
    """The name the index records for the model in force, read from the settings alone (nothing assembled)."""
    if settings.index.model_path:
        return model_name(settings.index.model_path)
    return bundled_model_name(settings.index.model, settings.index.models_dir)


def tokenizer_dir(settings: Settings) -> Path:
    """The tokenizer that cuts passages: a user's model's own, else all-MiniLM-L6-v2's for both bundled models, so
    switching between them re-embeds but never re-cuts the reports (mpnet reads 384 word pieces, minilm 256; the
    two tokenizers count English text alike)."""
    return settings.index.model_path or minilm_path()


def prepare_model(settings: Settings, *, verify: bool = False,
                  progress: Callable[[str], None] = lambda _: None) -> dict:
    """Make the model in force ready without loading it (mpnet: assembled and verified; ``verify``: every file
    hashed again, not only its stamp checked) and say what it is."""
    if verify and not settings.index.model_path and settings.index.model == "mpnet":
        folder = mpnet.ensure(settings.index.models_dir, verify=True, progress=progress)
    else:
        folder = model_dir(settings, progress)
    return {"model": embedding_model_name(settings), "setting": "model_path" if settings.index.model_path else
            settings.index.model, "path": str(folder), "dimension": folder_dimension(folder)}


def ingest_reports(
    settings: Settings, paths: list[Path] | None = None, progress: Callable[[str], None] = lambda _: None
) -> IngestResult:
    """Ingest the bundled reports (no paths) or the given files and folders."""
    if paths:
        taken = set(documents.doc_ids(settings.index.index_dir))
        known = _known_files(settings)
        items = []
        for path in expand(paths):
            info = known.get(Path(path).resolve()) or info_for_file(path, taken)
            taken.add(info.doc_id)
            items.append((info, path))
    else:
        items = read_manifest(settings.ingest.reports_manifest)
    tokens = TokenCounter(tokenizer_dir(settings))
    result = ingest(
        settings.index.index_dir,
        items,
        tokens,
        max_bytes=settings.ingest.max_file_bytes,
        max_tokens=settings.ingest.max_passage_tokens,
        progress=progress,
    )
    stored = documents.doc_ids(settings.index.index_dir)
    if stored and (result.added or not _search_index_current(settings)):
        refresh_search_index(settings, progress=progress)
    return result


def remove_report(settings: Settings, doc_id: str, progress: Callable[[str], None] = lambda _: None) -> None:
    """Take one report out of the index; the others' vectors come from the cache, nothing is re-embedded."""
    stored = documents.doc_ids(settings.index.index_dir)
    if doc_id not in stored:
        raise ReportragError(f"remove: no report {doc_id!r} in the index; known: {', '.join(stored) or 'none'}")
    documents.remove(settings.index.index_dir, doc_id)
    if documents.doc_ids(settings.index.index_dir):
        refresh_search_index(settings, progress=progress)
    else:
        store.remove(settings.index.index_dir)


def make_embedder(settings: Settings, progress: Callable[[str], None] = lambda _: None) -> Embedder:
    return Embedder(model_dir(settings, progress), device=settings.index.device)


def _search_index_current(settings: Settings) -> bool:
    """Is there a loadable search index built by this model over exactly the stored reports?"""
    try:
        manifest = store.load(settings.index.index_dir, model=embedding_model_name(settings)).manifest
    except ReportragError:
        return False
    stored = {d: (documents.build_info(settings.index.index_dir, d) or {}).get("sha256") for d in documents.doc_ids(settings.index.index_dir)}
    return manifest["corpus"] == stored and manifest.get("settings_sha256") == store.settings_hash(index_shaping(settings))


def index_shaping(settings: Settings) -> dict:
    """The settings that change what the search index holds (hashed into its manifest). Passage size shapes the
    stored reports instead, and is recorded in each report's build info."""
    return {"model": embedding_model_name(settings), "exact_up_to": settings.index.exact_search_up_to,
            "embedding_text": store.EMBEDDING_TEXT_VERSION}


def refresh_search_index(settings: Settings, embedder: Embedder | None = None, progress=lambda _: None) -> None:
    """Rebuild vectors and keyword index over the stored reports; only new or changed texts are embedded."""
    corpus = [documents.load(settings.index.index_dir, d) for d in documents.doc_ids(settings.index.index_dir)]
    embedder = embedder or make_embedder(settings, progress)
    cache = EmbeddingCache(settings.index.cache_dir / "embeddings", embedder.name, embedder.dimension)
    progress(f"search index: embedding {sum(len(ps) for _, ps in corpus)} passages and their sentences (cached ones skipped)")
    index, embedded = build_index(corpus, embedder, cache, exact_up_to=settings.index.exact_search_up_to,
                                   shaped_by=index_shaping(settings))
    store.save(settings.index.index_dir, index)
    progress(f"search index: {len(index.passage_ids)} passages, {index.manifest['sentences']} sentences, {embedded} newly embedded")


def _known_files(settings: Settings) -> dict[Path, ReportInfo]:
    """The files already in the index, by resolved path, with their metadata: re-adding a file keeps the id it
    already has (bundled reports keep theirs), so an edited report replaces its old version instead of standing
    beside it under a new id. Read once per ingest, not once per file added."""
    known: dict[Path, ReportInfo] = {}
    for doc_id in documents.doc_ids(settings.index.index_dir):
        try:
            info = documents.load(settings.index.index_dir, doc_id)[0].info
        except ReportragError:
            continue  # a damaged record is rebuilt under its own id by the ingest that follows
        if info.file:
            known.setdefault(Path(info.file).resolve(), info)
    bundled: dict[Path, ReportInfo] = {}
    for info, path in read_manifest(settings.ingest.reports_manifest):
        bundled.setdefault(path.resolve(), info)
    return {**known, **bundled}  # a bundled report's manifest entry has the last word


def open_searcher(settings: Settings, embedder: Embedder | None = None) -> Searcher:
    """The searcher over the index. Reading never ingests: a missing or stale index is an error that names the
    way out (``reportrag ingest`` builds it, from the embedding cache where it can)."""
    require_index(settings)
    if not _search_index_current(settings):
        store.load(settings.index.index_dir, model=embedding_model_name(settings))  # missing or damaged: its own message
        raise IndexMismatch(
            f"the search index in {settings.index.index_dir} does not match the stored reports or the settings that shape "
            "it (model, index type); run 'reportrag ingest' to rebuild it (cached vectors are reused)"
        )
    r = settings.retrieval
    weights = weights_for(embedding_model_name(settings), passage=r.passage_weight, sentence=r.sentence_weight,
                          keyword=r.keyword_weight, keyword_identifiers=r.keyword_identifiers_weight)
    return Searcher(settings.index.index_dir, embedder or make_embedder(settings), weights=weights,
                    reranker=make_reranker(settings), rerank_depth=r.rerank_depth)


def require_index(settings: Settings) -> list[str]:
    """The ids of the stored reports; none is an error pointing at ``reportrag ingest``."""
    stored = documents.doc_ids(settings.index.index_dir)
    if not stored:
        raise IndexNotFound(
            f"no reports in the index at {settings.index.index_dir}; run 'reportrag ingest' (or 'make run') first"
        )
    return stored


def make_reranker(settings: Settings) -> Reranker:
    """The configured cross-encoder, else the built-in re-scoring by the references a question names."""
    if settings.retrieval.reranker_path is None:
        return ReferenceReranker()
    if not (Path(settings.retrieval.reranker_path) / "config.json").is_file():
        raise ReportragError(
            f"reranker: {settings.retrieval.reranker_path} holds no cross-encoder (no config.json); "
            "point REPORTRAG_RERANKER_PATH at a sentence-transformers CrossEncoder folder, or unset it"
        )
    return CrossEncoderReranker(settings.retrieval.reranker_path)


def _same_file(index_dir: Path, doc_id: str, path: Path) -> bool:
    """Was stored report ``doc_id`` read from ``path`` itself (not from a copy of it)?"""
    try:
        stored = json.loads((Path(index_dir) / "documents" / f"{doc_id}.json").read_text(encoding="utf-8"))
        return Path(stored["document"]["info"]["file"]).resolve() == Path(path).resolve()
    except (OSError, ValueError, KeyError, TypeError):
        return False


def info_hash(info: ReportInfo) -> str:
    """What the manifest says of a report, hashed: a corrected symbol or date refreshes the stored report."""
    return hashlib.sha256(json.dumps(asdict(info), sort_keys=True).encode("utf-8")).hexdigest()[:16]


@dataclass
class IngestResult:
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # one line per bad file: file, problem, what to do


def ingest(
    index_dir: Path,
    items: list[tuple[ReportInfo, Path]],
    tokens: TokenCounter,
    *,
    max_bytes: int,
    max_tokens: int,
    progress: Callable[[str], None] = lambda _: None,
) -> IngestResult:
    """Add or refresh reports in the index folder. A bad file costs only itself; stored reports are untouched."""
    result = IngestResult()
    known = {doc_id: documents.build_info(index_dir, doc_id) for doc_id in documents.doc_ids(index_dir)}
    for i, (info, path) in enumerate(items, 1):
        try:
            sha = hashlib.sha256(Path(path).read_bytes()).hexdigest() if Path(path).is_file() else None
        except OSError:
            sha = None
        if not documents.valid_doc_id(info.doc_id):  # "../x" would be written outside the index folder
            result.failed.append(
                f"{Path(path).name}: report id {info.doc_id!r} is not a plain name (letters, digits, '-', '_', '.'); "
                "fix its doc_id in the manifest"
            )
            continue
        build = {"pipeline": PIPELINE_VERSION, "max_tokens": max_tokens, "sha256": sha, "info": info_hash(info)}
        twin = next((d for d, b in known.items() if b and b.get("sha256") == sha and d != info.doc_id), None)
        if sha and twin and _same_file(index_dir, twin, path):
            # the very file already stored (a re-run, e.g. after an interrupted ingest): unchanged, not a failure
            result.unchanged.append(twin)
            progress(f"[{i}/{len(items)}] {twin}: unchanged")
            continue
        if sha and twin:
            result.failed.append(f"{Path(path).name}: the same report is already in the index as '{twin}'; nothing to do")
            continue
        if sha and known.get(info.doc_id) == build:
            result.unchanged.append(info.doc_id)
            progress(f"[{i}/{len(items)}] {info.doc_id}: unchanged")
            continue
        try:
            document = build_document(path, info, max_bytes=max_bytes, sha256=sha)
            passages = build_passages(document, tokens, max_tokens=max_tokens)
            documents.save(index_dir, document, passages, build)  # refuses an id that would leave documents/
        except ReportragError as e:
            result.failed.append(str(e))
            continue
        known[info.doc_id] = build
        result.added.append(info.doc_id)
        progress(f"[{i}/{len(items)}] {info.doc_id}: {len(document.paragraphs)} paragraphs, {len(passages)} passages")
    return result
