"""Embedding on a pool of Ray actors: one model per actor, loaded once; on GPUs where the cluster has them.

The driver hands out batches of texts, one at a time per actor, and takes the vectors back as they arrive. Lost
work is never lost text: a batch whose actor dies with its node (or whose vectors die with it before the driver
fetched them) goes back to the queue and the next free actor embeds it. Ray restarts a dead actor
(``max_restarts``) where the cluster has room; the driver probes it and takes it back once it answers. Calls are not
retried by Ray on the same actor (``max_task_retries=0``): its restart may wait for a node that never comes back,
while another actor is free now. The pool gives up only when no actor has answered for ``wait_s`` seconds.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from collections.abc import Callable

import numpy as np

from reportrag.cluster.connect import cluster_cpus, cluster_gpus
from reportrag.core.errors import ReportragError
from reportrag.core.settings import Settings

ACTOR_RESTARTS = 3
BATCH_TRIES = 5  # a batch lost with this many actors in a row is an error (a text that crashes the model)


class EmbeddingWorker:
    """In a Ray actor: the embedding model in force (``settings``), loaded once, at start (a model that cannot load
    fails the actor's creation, which the driver reports as it is)."""

    def __init__(self, settings: Settings) -> None:
        from reportrag.service.ingesting import make_embedder

        self.embedder = make_embedder(settings)
        self.embedder.model  # noqa: B018 — load now: a batch never waits for it

    def ready(self) -> dict:
        import ray

        return {"node": ray.get_runtime_context().get_node_id(), "pid": os.getpid(), "name": self.embedder.name,
                "dimension": self.embedder.dimension}

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.embedder.encode(texts)


class EmbeddingPool:
    """Up to ``size`` actors (default: one per GPU of the cluster, else one per CPU), started on first use."""

    def __init__(self, ray, settings: Settings, *, batch: int, size: int | None = None, wait_s: float = 600,
                 progress: Callable[[str], None] = lambda _: None) -> None:
        self.ray, self.settings, self.batch, self.wait_s, self.progress = ray, settings, batch, wait_s, progress
        gpus = cluster_gpus(ray)
        self.size = size or gpus or max(1, cluster_cpus(ray))
        resources = {"num_gpus": 1, "num_cpus": 1} if gpus else {"num_cpus": 1}
        self.kind = "GPU" if gpus else "CPU"
        self._class = ray.remote(max_restarts=ACTOR_RESTARTS, max_task_retries=0, **resources)(EmbeddingWorker)
        self.actors: list = []
        self._probes: dict = {}  # probe → actor: actors starting, or restarting after a loss
        self._idle: list = []
        self.embedded = self.batches = self.retried = self.started = 0
        self.nodes: set[str] = set()  # nodes an actor answered from
        self.located: dict = {}  # actor → its ready() answer (node, pid): where it runs
        self.answered_by: dict = {}  # the ready() answer of the actor whose batch arrived last

    def run(self, texts: list[str], on_batch: Callable[[int, list[str], np.ndarray], None]) -> None:
        """Embed ``texts``; ``on_batch(start, texts[start:start+n], vectors)`` for each batch as it arrives."""
        queue = deque((start, 0) for start in range(0, len(texts), self.batch))
        self._start(min(self.size, len(queue)) - len(self.actors))
        running: dict = {}  # call → (actor, start, tries)
        last_answer = time.monotonic()
        while queue or running:
            while queue and self._idle:
                actor, (start, tries) = self._idle.pop(), queue.popleft()
                running[actor.encode.remote(texts[start : start + self.batch])] = (actor, start, tries)
            if not running and not self._probes:
                raise ReportragError(f"every embedding actor died, each restarted {ACTOR_RESTARTS} times; what was "
                                     "embedded is cached: see the cluster's logs, then run the ingest again")
            done, _ = self.ray.wait([*running, *self._probes], num_returns=1, timeout=5)
            if not done:
                if time.monotonic() - last_answer > self.wait_s:
                    raise ReportragError(f"no embedding actor answered for {self.wait_s:.0f}s ({len(self._probes)} "
                                         "starting or lost): the cluster has no room for one; what was embedded is "
                                         "cached, run the ingest again when its nodes are back")
                continue
            last_answer = time.monotonic()
            [ref] = done
            if ref in self._probes:
                self._probed(ref)
                continue
            actor, start, tries = running.pop(ref)
            try:
                vectors = self.ray.get(ref)
            except self.ray.exceptions.RayTaskError:
                raise  # the model itself failed on this batch: a bug or a resource limit, not a lost node
            except self.ray.exceptions.RayError as e:
                if tries + 1 >= BATCH_TRIES:
                    raise ReportragError(f"an embedding batch was lost with {BATCH_TRIES} actors in a row "
                                         f"({type(e).__name__}); see the cluster's logs") from None
                self.retried += 1
                queue.appendleft((start, tries + 1))
                self.progress(f"cluster: an embedding actor was lost ({type(e).__name__}); its batch goes to another")
                self._probe(actor)
                continue
            self._idle.append(actor)
            self.embedded += len(vectors)
            self.batches += 1
            self.answered_by = self.located.get(actor, {})
            on_batch(start, texts[start : start + self.batch], vectors)

    def describe(self, texts: int) -> str:
        """How ``texts`` texts will be embedded: so many actors, on what."""
        return f"{min(self.size, max(1, math.ceil(texts / self.batch)))} {self.kind} actor(s)"

    def close(self) -> None:
        """Every actor stopped (those still starting or restarting too): their resources are the cluster's again."""
        for actor in self.actors:
            self.ray.kill(actor, no_restart=True)
        self.actors, self._idle, self._probes = [], [], {}

    def _start(self, n: int) -> None:
        for _ in range(max(0, n)):
            actor = self._class.remote(self.settings)
            self.actors.append(actor)
            self.started += 1
            self._probe(actor)

    def _probe(self, actor) -> None:
        self._probes[actor.ready.remote()] = actor

    def _probed(self, ref) -> None:
        """An actor answered its probe (it is ready), or the probe failed: its model cannot load (an error), it is
        restarting (probed again shortly) or it is dead for good (dropped)."""
        actor = self._probes.pop(ref)
        try:
            self.located[actor] = self.ray.get(ref)
            self.nodes.add(self.located[actor]["node"])
            self._idle.append(actor)
        except self.ray.exceptions.RayActorError as e:
            if getattr(e, "actor_init_failed", False):
                raise ReportragError(f"the embedding model did not load on the cluster: {_first_line(e)}") from None
            if isinstance(e, self.ray.exceptions.ActorUnavailableError):
                time.sleep(1)
                self._probe(actor)
            # ActorDiedError: out of restarts; the other actors go on
        except self.ray.exceptions.RayError:
            self._probe(actor)  # its answer was lost with its node: ask again


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return next((line for line in reversed(lines) if "Error" in line), lines[-1] if lines else type(error).__name__)
