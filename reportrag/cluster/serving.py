"""Sharded serving on a Ray cluster: Ray Serve replicas hold the index's shards and answer the scatter step; the
router (``ScatterSearcher``, reportrag/retrieval/scatter.py) runs in the web app's process, merges with corpus-wide
keyword statistics and runs re-ranking and answers, so the HTTP API and the Gradio app run unchanged in front of it.

Each group of shards is one Serve deployment with ``replicas`` replicas (two by default): a replica killed under load
is restarted by Serve while the other answers, and a call that lands on a dying replica is retried, so no request
fails and no answer changes. The index folder is shared storage (every node reads the same path). Imported only by
``reportrag serve --cluster``: nothing on the single-machine path imports Ray.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import numpy as np
import ray
from ray import serve

from reportrag.core.errors import ReportragError
from reportrag.core.settings import Settings
from reportrag.index import search_index as store
from reportrag.retrieval.scatter import ScatterSearcher, ShardGroup
from reportrag.retrieval.scoring import weights_for
from reportrag.service import ingesting

APP_PREFIX = "reportrag-shards"
RETRIES = 20  # calls on a dying replica: Serve routes the retry to a live one or to the restarted one
RETRY_WAIT = 0.25  # seconds, doubled up to 2 s: a replica restarts in a few seconds on a loaded machine


@serve.deployment(ray_actor_options={"num_cpus": 0.25}, max_ongoing_requests=32, health_check_period_s=2,
                  health_check_timeout_s=10, graceful_shutdown_timeout_s=2)
class ShardReplica:
    """One replica of a group of shards: ``ShardGroup``'s calls, over Ray."""

    def __init__(self, index_dir: str, model: str, names: list[str]) -> None:
        self.group = ShardGroup(Path(index_dir), model, names)

    def passage_ids(self) -> list[str]:
        return self.group.passage_ids()

    def stats(self) -> tuple[int, int]:
        return self.group.stats()

    def document_frequencies(self, terms: list[str]) -> list[int]:
        return self.group.document_frequencies(terms)

    def score(self, *args):
        return self.group.score(*args)

    def sentence_vectors(self, passage_id: str) -> np.ndarray:
        return self.group.sentence_vectors(passage_id)


class RemoteGroup:
    """``ShardGroup``'s interface in the router, each call through a deployment handle, retried while Serve
    replaces a replica that died."""

    def __init__(self, handle, app: str) -> None:
        self.handle = handle
        self.app = app  # its Serve application's name

    def _call(self, method: str, *args):
        wait = RETRY_WAIT
        for attempt in range(RETRIES):
            try:
                return getattr(self.handle, method).remote(*args).result(timeout_s=60)
            except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError,
                    ray.exceptions.RayTaskError, TimeoutError) as e:
                if attempt == RETRIES - 1 or (isinstance(e, ray.exceptions.RayTaskError)
                                              and not _replica_died(e)):
                    raise
                time.sleep(wait)
                wait = min(2 * wait, 2.0)
        raise AssertionError("unreachable")

    def passage_ids(self) -> list[str]:
        return self._call("passage_ids")

    def stats(self) -> tuple[int, int]:
        return tuple(self._call("stats"))

    def document_frequencies(self, terms: list[str]) -> list[int]:
        return self._call("document_frequencies", terms)

    def score(self, *args):
        return self._call("score", *args)

    def sentence_vectors(self, passage_id: str) -> np.ndarray:
        return self._call("sentence_vectors", passage_id)


def _replica_died(error: Exception) -> bool:
    """A task error caused by its actor's death (retry), not by our code (raise)."""
    return isinstance(getattr(error, "cause", None), (ray.exceptions.RayActorError, ray.exceptions.ActorDiedError))


def split_shards(entries: list[dict], groups: int) -> list[list[str]]:
    """Shards into at most ``groups`` groups of about equal live passages (largest first, each to the lightest)."""
    loads: list[tuple[int, list[str]]] = [(0, []) for _ in range(max(1, min(groups, len(entries))))]
    for entry in sorted(entries, key=store.live_passages, reverse=True):
        i = min(range(len(loads)), key=lambda j: loads[j][0])
        loads[i] = (loads[i][0] + store.live_passages(entry), loads[i][1] + [entry["name"]])
    return [names for _, names in loads if names]


def deploy(settings: Settings, address: str, *, groups: int = 2, replicas: int = 2,
           model: str | None = None) -> list[RemoteGroup]:
    """Connect to the cluster at ``address``, run one Serve application per group of shards, and return the
    router's view of them. ``model``: the embedder name the index was built with, when not the settings' model."""
    model = model or ingesting.embedding_model_name(settings)
    manifest = store.read_manifest(settings.index.index_dir, model=model)
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False)
    serve.start(proxy_location="Disabled")  # the router calls replicas through handles; no Serve HTTP proxy
    tag = uuid.uuid4().hex[:8]  # this server's applications: another server on the same cluster keeps its own
    handles = []
    for i, names in enumerate(split_shards(manifest["shards"], groups)):
        app = ShardReplica.options(name=f"shards-{i}", num_replicas=replicas).bind(
            str(Path(settings.index.index_dir).resolve()), model, names)
        name = f"{APP_PREFIX}-{tag}-{i}"
        handle = serve.run(app, name=name, route_prefix=None,
                           logging_config={"log_level": "WARNING", "enable_access_log": False})
        handles.append(RemoteGroup(handle, name))
    return handles


def open_cluster_searcher(settings: Settings, address: str, *, groups: int = 2, replicas: int = 2,
                          embedder=None) -> ScatterSearcher:
    """The searcher a ``Service`` serves from: reports here, shards on the cluster."""
    ingesting.require_index(settings)
    try:
        remote = deploy(settings, address, groups=groups, replicas=replicas,
                        model=embedder.name if embedder is not None else None)
    except ConnectionError as e:
        raise ReportragError(f"--cluster {address}: no Ray cluster answers there ({e}); start one with "
                             "'ray start --head' or check the address") from e
    r = settings.retrieval
    model = ingesting.embedding_model_name(settings)
    weights = weights_for(model, passage=r.passage_weight, sentence=r.sentence_weight, keyword=r.keyword_weight,
                          keyword_identifiers=r.keyword_identifiers_weight)
    return ScatterSearcher(settings.index.index_dir, embedder or ingesting.make_embedder(settings), remote,
                           weights=weights, reranker=ingesting.make_reranker(settings), rerank_depth=r.rerank_depth)


def shutdown(searcher: ScatterSearcher) -> None:
    """Take this searcher's shard applications down (the cluster itself stays up)."""
    if ray.is_initialized():
        for group in searcher.groups:
            if isinstance(group, RemoteGroup):
                serve.delete(group.app)
