"""Issue 16, sharded serving on a real local Ray cluster (a head and two worker nodes, separate processes): Ray Serve
replicas hold the shards, the router merges; results equal the single machine's (top-10 ids, scores to 1e-5,
answers and citations); a replica killed under load loses no request and changes no answer; `reportrag serve
--cluster` runs the unchanged HTTP API in front of it. The bundled reports, the real all-MiniLM-L6-v2 model."""

from __future__ import annotations

import json
import shutil
import threading
import time

import httpx
import numpy as np
import pytest

pytest.importorskip("ray")

import ray  # noqa: E402
from ray import serve  # noqa: E402

from reportrag.answers import extractive  # noqa: E402
from reportrag.cluster import serving  # noqa: E402
from reportrag.core.settings import PROJECT_ROOT, Settings  # noqa: E402
from reportrag.index import search_index as store  # noqa: E402
from reportrag.service import ingesting  # noqa: E402
from tests.cluster_harness import local_cluster  # noqa: E402
from tests.conftest import FAST_MODEL, start_server  # noqa: E402

pytestmark = pytest.mark.cluster

EXTRA = """# Housing report

## Rental housing

The state built 4,000 rental flats for large families in 2022, and the waiting list fell by a third.

Young families may rent a flat for twenty years before they buy it at the price of its construction.
"""


def _questions(n: int) -> list[str]:
    lines = (PROJECT_ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()][:n]


QUESTIONS = _questions(30)


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    yield from local_cluster(tmp_path_factory)


@pytest.fixture(scope="module")
def two_shards(search_settings, searcher, tmp_path_factory):
    """The session's index of the bundled reports, copied, plus one small report: two shards."""
    root = tmp_path_factory.mktemp("served")
    shutil.copytree(search_settings.index.index_dir, root / "index")
    shutil.copytree(search_settings.index.cache_dir, root / "cache")
    settings = Settings(index_dir=root / "index", cache_dir=root / "cache", model=FAST_MODEL)
    (root / "housing.md").write_text(EXTRA, encoding="utf-8")
    assert ingesting.ingest_reports(settings, [root / "housing.md"]).added == ["housing"]
    manifest = store.read_manifest(settings.index.index_dir, model=ingesting.embedding_model_name(settings))
    assert len(manifest["shards"]) == 2
    return settings


@pytest.fixture(scope="module")
def routed(ray_cluster, two_shards, searcher):
    """(single-machine searcher, cluster searcher) over the same index; Serve applications removed afterwards."""
    ray.init(address=ray_cluster.address, logging_level="ERROR", log_to_driver=False)
    try:
        cluster = serving.open_cluster_searcher(two_shards, ray_cluster.address, embedder=searcher.embedder)
        yield ingesting.open_searcher(two_shards, searcher.embedder), cluster
        serving.shutdown(cluster)
    finally:
        serve.shutdown()
        ray.shutdown()


def ranked(searcher, questions=QUESTIONS):
    return [[(h.passage.passage_id, h.score) for h in hits] for hits in searcher.batch(questions, k=10)]


def assert_same(got, want):
    for question, g, w in zip(QUESTIONS, got, want):
        assert [pid for pid, _ in g] == [pid for pid, _ in w], question
        np.testing.assert_allclose([s for _, s in g], [s for _, s in w], rtol=0, atol=1e-5)


def test_served_shards_answer_as_one_machine(routed):
    one, cluster = routed
    assert len(cluster.groups) == 2
    assert_same(ranked(cluster), ranked(one))
    for question in QUESTIONS[:8]:
        a, b = extractive.answer(one, question), extractive.answer(cluster, question)
        assert a.text == b.text
        assert [(c.quote, c.place, c.relevance) for c in a.citations] == [(c.quote, c.place, c.relevance) for c in b.citations]


def test_a_replica_killed_under_load_loses_no_request(routed):
    one, cluster = routed
    want = ranked(one)
    errors, rounds = [], []

    def load():
        try:
            while len(rounds) < 6:
                rounds.append(ranked(cluster))
        except Exception as e:  # noqa: BLE001 — any failure is the finding
            errors.append(e)

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(2)
    replicas = [a for a in ray.util.list_named_actors(all_namespaces=True)
                if "SERVE_REPLICA" in a["name"] and cluster.groups[0].app in a["name"]]
    assert len(replicas) == 2, replicas
    ray.kill(ray.get_actor(replicas[0]["name"], namespace=replicas[0]["namespace"]))
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    for got in rounds:
        assert_same(got, want)
    # Serve brings the group back to two replicas
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        alive = [a for a in ray.util.list_named_actors(all_namespaces=True)
                 if "SERVE_REPLICA" in a["name"] and cluster.groups[0].app in a["name"]]
        if len(alive) == 2 and replicas[0]["name"] not in {a["name"] for a in alive}:
            break
        time.sleep(1)
    else:
        pytest.fail("the killed replica was not replaced")


def test_reportrag_serve_cluster_runs_the_http_api_in_front(ray_cluster, two_shards, routed, tmp_path):
    one, cluster = routed
    env = {"REPORTRAG_INDEX_DIR": str(two_shards.index.index_dir), "REPORTRAG_CACHE_DIR": str(two_shards.index.cache_dir),
           "REPORTRAG_WORK_DIR": str(tmp_path / "work")}
    with start_server(tmp_path, env, "--cluster", ray_cluster.address) as (url, _):
        for question in QUESTIONS[:5]:
            hits = httpx.get(f"{url}/api/search", params={"q": question}, timeout=60).json()
            want = one.search(question, k=10)
            assert [h["passage_id"] for h in hits] == [h.passage.passage_id for h in want]
            assert [h["score"] for h in hits] == pytest.approx([h.score for h in want], abs=1e-3)  # JSON rounds
        answer = httpx.post(f"{url}/api/ask", json={"question": QUESTIONS[0]}, timeout=60).json()
        assert answer["citations"] and answer["citations"][0]["quote"] == extractive.answer(one, QUESTIONS[0]).citations[0].quote
        served = [name for name in serve.status().applications if name.startswith(serving.APP_PREFIX)]
        assert len(served) == 2 * len(cluster.groups)  # the server's own applications beside the module's router's
    # the server took its applications down with it; the router's are untouched
    assert sorted(name for name in serve.status().applications if name.startswith(serving.APP_PREFIX)) == \
           sorted(g.app for g in cluster.groups)
