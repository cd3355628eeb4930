"""Issue 16, distributed ingest on a real local Ray cluster (a head and two one-CPU worker nodes, separate processes:
tests/cluster_harness.py) with the real all-MiniLM-L6-v2: the result equals a single-machine ingest of the same
reports (passage ids in order, vectors to 1e-5, top-10 on eval questions); a rerun embeds nothing; an interrupted
run resumes, embedding only what is missing; a worker node killed while the actor pool embeds costs nothing; a bad
file costs only itself, with the single-machine one-line failure; no Ray process is left behind.

The corpus: four small Markdown reports cut from the bundled CEDAW report (eval/cluster_corpus.py, 108 texts) and
the bundled annual review (1,199 texts); the interrupted and the killed runs read the small reports alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray")

from reportrag.eval.cluster_corpus import write_reports
from reportrag.index import document_store as documents
from reportrag.index import search_index as store
from reportrag.index.build import embedding_texts
from reportrag.index.embed import Embedder

from reportrag.cluster.ingest import ingest_on_cluster
from reportrag.core.settings import PROJECT_ROOT, Settings
from reportrag.service import ingesting
from tests.cluster_harness import LocalCluster, local_cluster
from tests.conftest import FAST_MODEL, run_cli
from tests.fixtures_files import write_text, write_truncated_pdf

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
REVIEW = PROJECT_ROOT / "data" / "reports" / "annual-review-2022.txt"  # a bundled report, its manifest metadata
EVAL = [json.loads(line) for line in (PROJECT_ROOT / "eval" / "questions.jsonl").open()]
QUESTIONS = [[q["question"] for q in EVAL if q["doc"] == doc][:3] for doc in ("review", "cedaw")]
QUESTIONS = QUESTIONS[0] + QUESTIONS[1]
SMALL_TEXTS = 108  # passages and sentences of the four small reports


def settings_in(folder: Path) -> Settings:
    return Settings(index_dir=folder / "index", cache_dir=folder / "cache", model=FAST_MODEL)


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    yield from local_cluster(tmp_path_factory)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> list[Path]:
    """Four small Markdown reports (108 texts): the runs that are interrupted or lose a node."""
    return write_reports(tmp_path_factory.mktemp("reports"), reports=4, paragraphs=3)


@pytest.fixture(scope="module")
def corpus(small) -> list[Path]:
    """The small reports and a bundled one (1,307 texts in all)."""
    return [*small, REVIEW]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return ingesting.make_embedder(Settings(model=FAST_MODEL))


@pytest.fixture(scope="module")
def single(corpus, tmp_path_factory) -> Settings:
    """The reference: the same reports ingested by this process alone."""
    settings = settings_in(tmp_path_factory.mktemp("single"))
    result = ingesting.ingest_reports(settings, corpus)
    assert result.added == [*(p.stem for p in corpus[:-1]), "review"] and not result.failed
    return settings


@pytest.fixture(scope="module")
def distributed(ray_cluster, corpus, tmp_path_factory):
    settings = settings_in(tmp_path_factory.mktemp("distributed"))
    result = ingest_on_cluster(settings, corpus, address=ray_cluster.address, batch=64)
    return settings, result


def load(settings: Settings):
    return store.load(settings.index.index_dir, model=ingesting.embedding_model_name(settings))


def distinct_texts(settings: Settings) -> int:
    """The distinct texts (passages with their headers, sentences) of the stored reports: what an empty cache embeds."""
    index_dir = settings.index.index_dir
    corpus = [documents.load(index_dir, d) for d in documents.doc_ids(index_dir)]
    passages, sentences, _ = embedding_texts(corpus)
    return len(set(passages + sentences))


def assert_same_vectors(settings: Settings, reference: Settings) -> None:
    """Every passage of ``settings``' index stands in ``reference``'s, in the same order, with the same sentences;
    passage and sentence vectors within 1e-5 (the reference may hold more reports)."""
    ours, theirs = load(settings), load(reference)
    where = {pid: row for row, pid in enumerate(theirs.passage_ids)}
    rows = np.array([where[pid] for pid in ours.passage_ids])
    assert np.all(np.diff(rows) > 0)  # the same order
    assert np.abs(np.asarray(ours.passage_vectors) - np.asarray(theirs.passage_vectors)[rows]).max() < 1e-5
    mine = np.isin(np.asarray(theirs.sentence_owner), rows)
    assert np.array_equal(rows[np.asarray(ours.sentence_owner)], np.asarray(theirs.sentence_owner)[mine])
    assert np.abs(np.asarray(ours.sentence_vectors) - np.asarray(theirs.sentence_vectors)[mine]).max() < 1e-5


def test_distributed_ingest_equals_single_machine(distributed, single, small, embedder):
    settings, result = distributed
    assert result.added == [*(p.stem for p in small), "review"] and not result.failed
    assert result.embedded == distinct_texts(single) and result.late == 0
    assert result.nodes == 2  # both worker nodes embedded
    assert load(settings).passage_ids == load(single).passage_ids
    assert_same_vectors(settings, single)
    ranked = [ingesting.open_searcher(s, embedder).batch(QUESTIONS, k=10) for s in (settings, single)]
    for question, ours, theirs in zip(QUESTIONS, *ranked):
        assert [h.passage.passage_id for h in ours] == [h.passage.passage_id for h in theirs], question
        assert [h.score for h in ours] == pytest.approx([h.score for h in theirs], abs=1e-5), question


def test_rerun_embeds_nothing(distributed, ray_cluster, corpus):
    settings, first = distributed
    manifest = (settings.index.index_dir / "search" / "manifest.json").read_bytes()
    again = ingest_on_cluster(settings, corpus, address=ray_cluster.address, batch=64)
    assert again.unchanged == first.added and not again.added and again.embedded == 0 and again.batches == 0
    assert (settings.index.index_dir / "search" / "manifest.json").read_bytes() == manifest


class Interrupted(Exception):
    pass


def test_an_interrupted_run_resumes_embedding_only_what_is_missing(ray_cluster, small, single, tmp_path):
    settings = settings_in(tmp_path)

    def crash(batches: int, _worker: dict) -> None:
        if batches == 3:
            raise Interrupted  # the driver dies after three batches reached the cache

    with pytest.raises(Interrupted):
        ingest_on_cluster(settings, small, address=ray_cluster.address, batch=8, save_every=1, on_batch=crash)
    assert not (settings.index.index_dir / "search" / "manifest.json").exists()  # no index yet
    resumed = ingest_on_cluster(settings, small, address=ray_cluster.address, batch=8)
    assert resumed.unchanged == [p.stem for p in small]  # stored by the first run's tasks
    assert 0 < resumed.embedded <= SMALL_TEXTS - 3 * 8  # the three cached batches are not embedded again
    assert_same_vectors(settings, single)


def test_a_worker_node_killed_mid_run_still_completes(ray_cluster, small, single, tmp_path):
    """The node killed is the one whose actor embedded the first batch: the driver hands that actor the next batch
    at once, so a batch is certainly lost with it (killing a fixed node could hit an actor still loading its model,
    which loses no batch: the race that made this test flaky)."""
    settings = settings_in(tmp_path)
    killed = []

    def kill_after_first_batch(batches: int, worker: dict) -> None:
        if batches == 1:
            killed.append(ray_cluster.kill_worker(ray_cluster.worker_holding(worker["pid"])))

    try:
        result = ingest_on_cluster(settings, small, address=ray_cluster.address, batch=8, save_every=1,
                                   on_batch=kill_after_first_batch)
    finally:
        if killed:
            ray_cluster.add_worker()  # the module's other tests keep two workers
    assert killed and len(result.added) == 4 and not result.failed, result
    assert result.retried >= 1, result  # the lost actor's batch went to the other one
    assert result.embedded >= SMALL_TEXTS, result
    assert_same_vectors(settings, single)


def test_a_bad_file_costs_only_itself(ray_cluster, small, distributed, tmp_path):
    """Through the CLI, as a user runs it: the good report is added, each bad file is the single-machine one-line
    failure, the exit status is 1. The embedding cache is the distributed run's: nothing is embedded."""
    bad = [write_truncated_pdf(tmp_path / "cut-short.pdf", [["Some text."]]),
           write_text(tmp_path / "notes.xyz", "not a report format"),
           write_text(tmp_path / "empty.md", "")]
    files = [str(small[0]), *map(str, bad)]
    runs = {}
    for mode in ("cluster", "single"):
        shutil.copytree(distributed[0].index.cache_dir, tmp_path / mode / "cache")
        args = ["ingest", "--cluster", ray_cluster.address] if mode == "cluster" else ["ingest"]
        runs[mode] = run_cli(*args, *files, index_dir=tmp_path / mode / "index",
                             env={"REPORTRAG_CACHE_DIR": str(tmp_path / mode / "cache")})
    cluster, single = runs["cluster"], runs["single"]
    assert cluster.returncode == single.returncode == 1, cluster.stderr
    assert "ingested 1, unchanged 0, failed 3" in cluster.stdout
    errors = [[line for line in run.stderr.splitlines() if line.startswith("error: ")] for run in (cluster, single)]
    assert errors[0] == errors[1] and len(errors[0]) == 3, cluster.stderr


def test_no_ray_process_is_left_behind(tmp_path_factory):
    """A cluster of its own: started, a node killed, stopped; then no process of it is alive."""
    cluster = LocalCluster(tmp_path_factory.mktemp("own"), workers=1)
    with cluster:
        assert cluster.leftovers()  # the harness sees the processes it started
        cluster.kill_worker(0)
    assert cluster.leftovers() == []
