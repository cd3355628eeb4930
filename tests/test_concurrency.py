"""Many users at once: concurrent requests get what the same requests get one at a time, their embeddings batched."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from reportrag.eval.runner import load_questions
from reportrag.core.settings import PROJECT_ROOT
from reportrag.service import Service
from reportrag.service.batching import BatchingEmbedder
from tests.api_workers import api_workers

QUESTIONS = [q["question"] for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")][:48]


class CountingEmbedder:
    """A real embedder behind the protocol, counting forward passes."""

    def __init__(self, embedder) -> None:
        self.embedder, self.calls = embedder, 0
        self.name, self.dimension = embedder.name, embedder.dimension

    def encode(self, texts):
        self.calls += 1
        return self.embedder.encode(texts)


def test_batching_returns_each_request_its_own_vectors(searcher):
    counting = CountingEmbedder(searcher.embedder)
    batching = BatchingEmbedder(counting, max_wait=0.05)
    alone = [searcher.embedder.encode([q])[0] for q in QUESTIONS[:16]]
    barrier = threading.Barrier(16)

    def encode(q):
        barrier.wait()
        return batching.encode([q])[0]

    with ThreadPoolExecutor(16) as pool:
        together = list(pool.map(encode, QUESTIONS[:16]))
    assert counting.calls < 16  # requests that arrived together shared forward passes
    for a, b in zip(alone, together):
        assert np.allclose(a, b, atol=1e-5)  # padding in a shared batch moves the last float bits only


def test_an_error_reaches_every_waiting_request():
    class Broken:
        name, dimension = "broken", 3

        def encode(self, texts):
            raise RuntimeError("model gone")

    batching = BatchingEmbedder(Broken())
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(batching.encode, ["x"]) for _ in range(4)]
    for f in futures:
        with pytest.raises(RuntimeError, match="model gone"):
            f.result(timeout=10)


def test_concurrent_requests_equal_sequential_ones(search_settings, searcher):
    service = Service(search_settings)
    sequential = [service.search(q, k=10) for q in QUESTIONS]
    answers_sequential = [service.ask(q).to_json() for q in QUESTIONS[:12]]
    passes_before = service.searcher.embedder.batches
    with ThreadPoolExecutor(16) as pool:
        concurrent = list(pool.map(lambda q: service.search(q, k=10), QUESTIONS))
        passes = service.searcher.embedder.batches - passes_before
        answers_concurrent = list(pool.map(lambda q: service.ask(q).to_json(), QUESTIONS[:12]))
    for one, many in zip(sequential, concurrent):
        assert [h.passage.passage_id for h in one] == [h.passage.passage_id for h in many]
        assert np.allclose([h.score for h in one], [h.score for h in many], atol=1e-5)
    for one, many in zip(answers_sequential, answers_concurrent):
        assert [c["anchor"] for c in one["citations"]] == [c["anchor"] for c in many["citations"]]
        assert one["abstained"] == many["abstained"]
    assert passes < len(QUESTIONS)  # requests that arrived together shared forward passes


def test_bfloat16_questions_stay_beside_their_float32_vectors(searcher):
    """query_precision "bfloat16": the served questions' vectors move by rounding only (on any CPU: where bf16
    is not native it is slower, not different)."""
    exact = searcher.embedder.encode(QUESTIONS[:16])
    if str(getattr(searcher.embedder.model, "device", "cpu")).startswith("cuda"):
        pytest.skip("bfloat16 questions are for a model on the CPU; a CUDA model keeps its fp16")
    batching = BatchingEmbedder(searcher.embedder, bfloat16=True)
    rounded = np.stack([batching.encode([q])[0] for q in QUESTIONS[:16]])
    assert rounded.dtype == np.float32 and not np.array_equal(rounded, exact)  # bf16 did run
    assert float(np.min(np.sum(rounded * exact, axis=1))) > 0.999


def test_the_server_embeds_questions_in_the_precision_set(search_settings):
    from reportrag.service import ingesting

    assert ingesting.make_query_embedder(search_settings).bfloat16 is False  # the default: float32
    assert ingesting.make_query_embedder(search_settings.but(query_precision="bfloat16")).bfloat16 is True


def test_a_model_that_fails_in_bfloat16_falls_back_to_float32():
    """Seen on torch 2.11: autocast to bfloat16 on the CPU raised "mixed dtype (CPU)" in LayerNorm. The server
    goes on in float32 instead of failing every question."""
    import torch

    class FailsUnderAutocast:
        name, dimension = "fake", 2

        def encode(self, texts):
            if torch.is_autocast_enabled("cpu"):
                raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
            return np.ones((len(texts), 2), dtype=np.float32)

    batching = BatchingEmbedder(FailsUnderAutocast(), bfloat16=True)
    assert batching.encode(["a", "b"]).shape == (2, 2)
    assert batching.bfloat16 is False and batching.encode(["c"]).shape == (1, 2)


def test_on_a_cpu_a_lone_question_does_not_wait_for_company(search_settings):
    """The server's batcher decides at the first question: 4 ms for company on a GPU, none on a CPU."""
    from reportrag.service import ingesting
    from reportrag.service.batching import GPU_WAIT

    embedder = ingesting.make_query_embedder(search_settings)
    assert embedder.max_wait is None  # undecided: opening a searcher must not load torch to find the device
    embedder.encode([QUESTIONS[0]])
    assert embedder.max_wait == (GPU_WAIT if embedder.embedder.on_gpu else 0.0)


def test_the_api_in_two_worker_processes_answers_as_one_process_and_stops_with_them(search_settings, searcher):
    """One server process answers at most about 176 requests/s whatever the cores (BENCHMARKS.md, on 16 cores):
    ``reportrag api --workers N`` runs N processes on one port. Concurrent requests get what the library gives one
    at a time, the workers are really there, and stopping the command stops every one of them (``api_workers``)."""
    with api_workers(search_settings) as api:
        assert len(api.children) >= 2, api.children  # uvicorn's supervisor and its two workers
        with ThreadPoolExecutor(16) as pool:
            together = list(pool.map(lambda q: [h["passage_id"] for h in api.get("search", q=q, k=5)], QUESTIONS[:32]))
        assert together == [[h.passage.passage_id for h in searcher.search(q, k=5)] for q in QUESTIONS[:32]]
