"""The library calls the CLI, the HTTP API and the app share: ingest reports, list them, read one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from reportrag.core.errors import IndexMismatch, IndexNotFound, ReportragError
from reportrag.core.records import ReportInfo
from reportrag.core.files import writer_lock
from reportrag.core.settings import Settings
from reportrag.index import document_store as documents
from reportrag.index import search_index as store
from reportrag.index.build import build as build_shard
from reportrag.index.build import sentence_term_counts
from reportrag.index import shards as shard_files
from reportrag.index.shards import Shard
from reportrag.index.shards import merge as merge_shards
from reportrag.index import mpnet
from reportrag.index.embed import Embedder, EmbeddingCache, folder_dimension
from reportrag.index.model_path import bundled_model_name, bundled_model_path, minilm_path, model_name
from reportrag.ingest.pipeline import (
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
from reportrag.service.batching import BatchingEmbedder
from reportrag.service.triage import known_builds, triage


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
    with writer_lock(settings.index.index_dir):
        return _ingest_reports(settings, paths, progress)


def _ingest_reports(settings: Settings, paths: list[Path] | None, progress: Callable[[str], None]) -> IngestResult:
    items = ingest_items(settings, paths)
    tokens = TokenCounter(tokenizer_dir(settings))
    result = ingest(
        settings.index.index_dir,
        items,
        tokens,
        max_bytes=settings.ingest.max_file_bytes,
        max_tokens=settings.ingest.max_passage_tokens,
        progress=progress,
    )
    update_search_index(settings, bool(result.added), progress=progress)
    return result


def ingest_items(settings: Settings, paths: list[Path] | None) -> list[tuple[ReportInfo, Path]]:
    """What an ingest reads: the bundled reports (no paths), or the given files and folders, each with its metadata
    (a file already in the index keeps its id)."""
    if not paths:
        return read_manifest(settings.ingest.reports_manifest)
    taken = set(documents.doc_ids(settings.index.index_dir))
    known = _known_files(settings)
    items = []
    for path in expand(paths):
        info = known.get(Path(path).resolve()) or info_for_file(path, taken)
        taken.add(info.doc_id)
        items.append((info, path))
    return items


def update_search_index(settings: Settings, added: bool, embedder: Embedder | None = None,
                        progress: Callable[[str], None] = lambda _: None) -> None:
    """After the stored reports were brought up to date: index what was added, at a cost in proportion to it (other
    shards are checked for presence only); with nothing added, mend the index if it is stale or damaged."""
    stored = documents.doc_ids(settings.index.index_dir)
    if added:
        refresh_search_index(settings, embedder, progress=progress, thorough=False)
    elif stored and not _search_index_current(settings, thorough=True):
        # nothing new, yet the index is stale or damaged (the searcher said so): check every shard, mend it
        refresh_search_index(settings, embedder, progress=progress)


def reports_to_index(settings: Settings, model: str) -> list[str]:
    """The stored reports whose current record the search index does not hold (every one when there is no index
    for ``model`` and these settings): those the next refresh embeds, unless their texts are cached. Reads the
    manifest and the catalog only."""
    stored = _stored_records(settings.index.index_dir)
    manifest = _current_manifest(settings, model)
    if manifest is None:
        return list(stored)
    return [d for d in stored if manifest["records"].get(d) != stored[d]]


def remove_report(settings: Settings, doc_id: str, progress: Callable[[str], None] = lambda _: None) -> None:
    """Take one report out of the index: its passages are listed as removed in the manifest (a tombstone); nothing
    is re-embedded or rewritten, and the model is not loaded."""
    with writer_lock(settings.index.index_dir):
        stored = documents.doc_ids(settings.index.index_dir)
        if doc_id not in stored:
            raise ReportragError(f"remove: no report {doc_id!r} in the index; known: {', '.join(stored) or 'none'}")
        documents.remove(settings.index.index_dir, doc_id)
        if documents.doc_ids(settings.index.index_dir):
            refresh_search_index(settings, progress=progress, thorough=False)
        else:
            store.remove(settings.index.index_dir)


def compact(settings: Settings, progress: Callable[[str], None] = lambda _: None, *, model: str | None = None) -> dict:
    """Merge every shard into one (removed reports' passages dropped; nothing re-embedded) and drop the embedding
    cache's vectors no live passage or sentence uses. ``model``: the embedder name the index was built with, when
    not the settings' model (a stand-in embedder in tests)."""
    with writer_lock(settings.index.index_dir):
        manifest = store.read_manifest(settings.index.index_dir, model=model or embedding_model_name(settings))
        before = len(manifest["shards"])
        shards_dir = store.path(settings.index.index_dir) / "shards"
        # a shard written before shards kept sentence term counts is merged, and so gains them
        older = not all(shard_files.keeps_sentence_terms(shards_dir, e["name"]) for e in manifest["shards"])
        if before > 1 or older or any(e["removed"] for e in manifest["shards"]):
            manifest = _merge_shards(settings, manifest, manifest["shards"], progress)
        shards = [store.read_shard(settings.index.index_dir, e["name"], model=manifest["model"]) for e in manifest["shards"]]
        cache = EmbeddingCache(settings.index.cache_dir / "embeddings", manifest["model"], int(manifest["dimension"]))
        live = {k.decode() for shard in shards for k in np.asarray(shard.text_keys)}
        cache.collect(live)
        progress(f"compacted: {before} shard(s) → {len(manifest['shards'])}; {manifest['passages']} passages")
        return {"shards_before": before, "shards": len(manifest["shards"]), "passages": manifest["passages"],
                "sentences": manifest["sentences"], "cached_vectors": len(live)}


def make_embedder(settings: Settings, progress: Callable[[str], None] = lambda _: None, **options) -> Embedder:
    """The configured model, not loaded yet; ``options``: the ``Embedder``'s own (``batch_size``)."""
    return Embedder(model_dir(settings, progress), device=settings.index.device, **options)


def make_query_embedder(settings: Settings) -> BatchingEmbedder:
    """The model as a server uses it: questions that arrive together embedded in one pass (a lone one waits for
    company only on a GPU), in the precision and runtime set."""
    bfloat16 = settings.index.query_precision == "bfloat16"  # torch's autocast: ONNX Runtime runs float32 only
    # chunks of 16: the model sorts a batch's questions by length and pads each chunk only to its own longest
    # (32 questions: 3.4 ms each against 4.0 in one chunk, on two cores)
    return BatchingEmbedder(make_embedder(settings, batch_size=16, onnx_dir=settings.index.cache_dir / "onnx",
                                          runtime="torch" if bfloat16 else settings.index.query_runtime),
                            bfloat16=bfloat16, max_wait=None)


def _search_index_current(settings: Settings, *, thorough: bool = False) -> bool:
    """Is there a search index built by this model and these settings over exactly the stored reports, as stored?
    Reads the manifest and the small catalog entries only (no shard, no full report); ``thorough``: and every shard's
    files are whole (hashed)."""
    model = embedding_model_name(settings)
    manifest = _current_manifest(settings, model)
    return bool(manifest is not None and manifest["records"] == _stored_records(settings.index.index_dir)
                and (not thorough or all(store.shard_intact(settings.index.index_dir, e, model=model, thorough=True)
                                         for e in manifest["shards"])))


def _current_manifest(settings: Settings, model: str) -> dict | None:
    """The live manifest when it was built by ``model`` with these settings; None when there is none, it is
    damaged, or it was shaped otherwise (then everything is indexed again, from the cache)."""
    try:
        manifest = store.read_manifest(settings.index.index_dir, model=model)
    except ReportragError:
        return None
    return manifest if manifest.get("settings_sha256") == store.settings_hash(index_shaping(settings)) else None


def _stored_records(index_dir: Path) -> dict[str, str | None]:
    """Each stored report's record hash: what built it (source hash, pipeline, passage size, metadata)."""
    return {d: documents.build_hash(documents.build_info(index_dir, d)) for d in documents.doc_ids(index_dir)}


def index_shaping(settings: Settings) -> dict:
    """The settings that change what the search index holds (hashed into its manifest). Passage size shapes the
    stored reports instead, and is recorded in each report's build info."""
    return {"model": embedding_model_name(settings), "exact_up_to": settings.index.exact_search_up_to,
            "embedding_text": store.EMBEDDING_TEXT_VERSION}


def refresh_search_index(settings: Settings, embedder: Embedder | None = None, progress=lambda _: None, *,
                         thorough: bool = True) -> None:
    """Bring the search index up to the stored reports: a new shard for the reports added or changed (only their
    texts not in the embedding cache are embedded), tombstones for those removed or replaced, nothing else
    rewritten; then merge the smallest shards if there are more than ``max_shards``. A changed model or index
    setting rebuilds everything into one shard, from the cache. A shard found damaged or missing (every file hashed
    when ``thorough``, else only its presence checked) is dropped and its reports indexed again, from the cache."""
    index_dir = settings.index.index_dir
    stored = _stored_records(index_dir)
    model = embedder.name if embedder else embedding_model_name(settings)  # a stand-in embedder (tests) names its own
    shaping = index_shaping(settings)
    manifest = _current_manifest(settings, model)
    entries = [dict(e) for e in manifest["shards"]] if manifest else []
    records = dict(manifest["records"]) if manifest else {}
    for e in [e for e in entries if not store.shard_intact(index_dir, e, model=model, thorough=thorough)]:
        progress(f"search index: shard {e['name']} is damaged or missing; its reports are indexed again")
        entries.remove(e)
        records = {d: h for d, h in records.items() if d not in e["reports"]}
    stale = {d for d in records if stored.get(d) != records[d]}  # removed, or replaced by a new version
    for e in entries:
        e["removed"] = sorted(set(e["removed"]) | (stale & set(e["reports"])))
    entries = [e for e in entries if set(e["reports"]) - set(e["removed"])]  # a shard with nothing live goes
    fresh = [d for d in stored if records.get(d) != stored[d]]
    records = {d: h for d, h in records.items() if d not in stale}
    embedded = 0
    dimension = int(manifest["dimension"]) if manifest else None
    if fresh:
        corpus = [documents.load(index_dir, d) for d in fresh]
        embedder = embedder or make_embedder(settings, progress)
        cache = EmbeddingCache(settings.index.cache_dir / "embeddings", embedder.name, embedder.dimension)
        progress(f"search index: embedding {sum(len(ps) for _, ps in corpus)} passages of {len(fresh)} report(s) "
                 "and their sentences (cached ones skipped)")
        shard, embedded = build_shard(corpus, embedder, cache, exact_up_to=settings.index.exact_search_up_to)
        store.write_shard(index_dir, shard)
        entries.append(store.entry(shard))
        records.update((d, stored[d]) for d in fresh)
        dimension = embedder.dimension
    if dimension is None:  # nothing stored to index (every report failed to load before): leave things as they are
        return
    new = store.manifest_for(model, dimension, entries, records, shaping)
    store.commit(index_dir, new)
    if len(new["shards"]) > settings.index.max_shards:
        new = _merge_shards(settings, new, _to_merge(new["shards"], settings.index.max_shards), progress)
    progress(f"search index: {new['passages']} passages, {new['sentences']} sentences in {len(new['shards'])} "
             f"shard(s), {embedded} newly embedded")


def _to_merge(entries: list[dict], max_shards: int) -> list[dict]:
    """The shards a policy compaction merges: the smallest, enough to leave about half the allowed number (so the
    next compaction is max_shards / 2 additions away), and any shard that is mostly removed passages."""
    by_size = sorted(entries, key=store.live_passages)
    chosen = by_size[: len(entries) - max_shards // 2 + 1]
    mostly_removed = [e for e in entries if store.live_passages(e) * 2 < sum(r["passages"] for r in e["reports"].values())]
    return [e for e in entries if e in chosen or e in mostly_removed]


def _merge_shards(settings: Settings, manifest: dict, chosen: list[dict], progress) -> dict:
    """Replace the ``chosen`` shards of ``manifest`` by one merged shard and commit: vectors and postings are copied,
    faiss indexes rebuilt, nothing embedded."""
    index_dir, model = settings.index.index_dir, manifest["model"]
    names = {e["name"] for e in chosen}
    parts = [(store.read_shard(index_dir, e["name"], model=model), set(e["removed"])) for e in chosen]
    parts = [(_with_sentence_terms(index_dir, shard, removed), removed) for shard, removed in parts]
    progress(f"search index: merging {len(parts)} shard(s)")
    merged = merge_shards(parts, exact_up_to=settings.index.exact_search_up_to)
    store.write_shard(index_dir, merged)
    entries = [e for e in manifest["shards"] if e["name"] not in names]
    if merged.passage_ids:
        entries.append(store.entry(merged))
    new = store.manifest_for(model, int(manifest["dimension"]), entries, manifest["records"], manifest["settings"])
    store.commit(index_dir, new)
    return new


def _with_sentence_terms(index_dir: Path, shard: Shard, removed: set[str]) -> Shard:
    """A shard written before shards kept sentence term counts, given them from its live reports' stored records
    (the removed ones count nowhere): a merge, and so ``reportrag compact``, brings an older index up to them."""
    if shard.sentence_terms is not None:
        return shard
    live = [None if doc_id in removed else documents.load(index_dir, doc_id) for doc_id in shard.reports]
    return replace(shard, sentence_terms=sentence_term_counts(live))


def _known_files(settings: Settings) -> dict[Path, ReportInfo]:
    """The files already in the index, by resolved path, with their metadata: re-adding a file keeps the id it
    already has (bundled reports keep theirs), so an edited report replaces its old version instead of standing
    beside it under a new id. Read once per ingest, not once per file added."""
    known: dict[Path, ReportInfo] = {}
    for doc_id in documents.doc_ids(settings.index.index_dir):
        try:
            info = ReportInfo(**documents.catalog_entry(settings.index.index_dir, doc_id)["info"])
        except (TypeError, ValueError):  # no entry (None), or fields of another version
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
        store.read_manifest(settings.index.index_dir, model=embedding_model_name(settings))  # missing or damaged: its own message
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
    known = known_builds(index_dir)
    for i, (info, path) in enumerate(items, 1):
        step = triage(index_dir, known, info, path, max_tokens=max_tokens)
        if step.failed:
            result.failed.append(step.failed)
            continue
        if step.unchanged:
            result.unchanged.append(step.unchanged)
            progress(f"[{i}/{len(items)}] {step.unchanged}: unchanged")
            continue
        build, sha = step.build, step.sha256
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

