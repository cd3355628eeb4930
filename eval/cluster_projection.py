"""The cluster section of BENCHMARKS.md: the measured runs (eval/cluster_bench.py), then the projection for the
treaty-body record from the per-worker rates, and what a deployment looks like."""

from __future__ import annotations

import math

PASSAGES, SENTENCES = 10_000_000, 24_000_000  # the treaty-body record, as issue 16 sizes it
TEXTS = PASSAGES + SENTENCES
CORES_PER_NODE = 16
LENT_16_CORES = 667  # texts/s, all-MiniLM-L6-v2, one process on the lent machine's 16 cores (section: Embedding on a GPU)
H100 = (4_671, 6_000)  # texts/s, one H100, fp16: measured by reportrag's Embedder; with length-sorted batches
MPNET_COST = 5  # all-mpnet-base-v2 costs about 5× all-MiniLM-L6-v2 (the README's model table)
START, END = "<!-- cluster:start -->", "<!-- cluster:end -->"


def render(result: dict) -> str:
    runs = {(r["path"], r["workers"]): r for r in result["runs"]}
    single, one, two = runs[("single process", 1)], runs[("Ray cluster", 1)], runs[("Ray cluster", 2)]
    over = two["overhead"]
    rows = [("| path | worker processes | texts embedded | ingest wall (s) | texts/s, end to end | embedding texts/s, "
            "model loaded |"), "|---|---|---|---|---|---|"]
    for r, who in ((single, f"1 (torch on all {result['cpus']} cores)"), (one, "1 (one core)"), (two, "2 (one core each)")):
        rows.append(f"| {r['path']} | {who} | {r['texts']:,} | {r['wall_s']:.1f} | {r['texts'] / r['wall_s']:.1f} "
                    f"| {_rate(r['embed_rate'])} |")
    per_worker = one["embed_rate"]
    batch_s = result["batch"] / per_worker
    lines = [
        START, "## Beyond one machine: distributed ingest (`eval/cluster_bench.py`)", "",
        (f"Measured {result['date']} on this machine ({result['cpus']} CPU cores, shared with other jobs), in one run, "
        f"on {result['corpus']}, with all-MiniLM-L6-v2, each run from an empty index and embedding cache. The cluster "
        "is local (reportrag/cluster/local.py): a head without CPUs and one-CPU worker nodes, each a separate "
        "`ray start` process; one embedding actor per worker, torch on one thread (Ray's default for a one-CPU "
        f"actor), batches of {result['batch']} texts. The single process is `reportrag ingest` as it runs alone."),
        "", *rows, "",
        (f"- The cluster's wall time counts connecting, the reading tasks ({one['read_s']:.1f} s and "
        f"{two['read_s']:.1f} s), starting the actors and loading a model in each (the first batch arrived "
        f"{one['first_batch_s']:.1f} s and {two['first_batch_s']:.1f} s after they were asked for) and writing the "
        f"shard; not the cluster's own start ({one['cluster_start_s']:.0f} s and {two['cluster_start_s']:.0f} s "
        f"here). The single process: reading {single['read_s']:.1f} s, loading the model {single['model_s']:.1f} s, "
        f"embedding {single['embed_s']:.1f} s."),
        (f"- Two workers embed {two['embed_rate'] / one['embed_rate']:.2f}× one worker's rate (2× is the ceiling on "
        f"{result['cpus']} cores); the single process, whose torch uses every core, embeds "
        f"{single['embed_rate'] / one['embed_rate']:.2f}× one worker's rate."),
        (f"- Ray's overhead per task: a no-op task's round trip (submit, run on a worker, fetch the result), one at a "
        f"time, median {over['task_ms']:.2f} ms (p95 {over['task_p95_ms']:.2f} ms); an actor call "
        f"{over['actor_call_ms']:.2f} ms; 1,000 no-op tasks sent at once complete at {over['tasks_per_s']:.0f}/s. "
        f"A batch of {result['batch']} texts takes one worker about {batch_s:.1f} s: the overhead is "
        f"{over['actor_call_ms'] / 10 / batch_s:.2f}% of it."),
        "", *projection(per_worker, single), "", *deployment(), "", END,
    ]
    return "\n".join(lines)


def _rate(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.1f}"


def _hours(rate: float) -> str:
    hours = TEXTS / rate / 3600
    return f"{hours:,.0f} h" if hours >= 10 else f"{hours:.1f} h"


def projection(per_worker: float, single: dict) -> list[str]:
    node = per_worker * CORES_PER_NODE
    read_rate = single["passages"] / single["read_s"]
    rows = ["| embedding on | texts/s (minilm) | 34M texts, minilm | 34M texts, mpnet (≈5×) |", "|---|---|---|---|"]
    for label, rate in [("1 one-core worker (measured here)", per_worker),
                        (f"1 node: {CORES_PER_NODE} one-core workers at this rate", node),
                        (f"1 node: the lent machine's {CORES_PER_NODE} cores in one process (measured)", LENT_16_CORES),
                        *[(f"{n} such nodes ({n} × {CORES_PER_NODE} workers)", node * n) for n in (4, 16, 64)],
                        (f"1 H100 (fp16, measured: {H100[0]:,}; sorted batches ≈{H100[1]:,})", H100[0]),
                        *[(f"{n} H100s, one actor each", H100[0] * n) for n in (4, 16)]]:
        rows.append(f"| {label} | {rate:,.0f} | {_hours(rate)} | {_hours(rate / MPNET_COST)} |")
    gpu_equal = math.ceil(H100[0] / node)
    return [
        "### Projection: the treaty-body record",
        "",
        (f"Say {PASSAGES // 10**6} million passages and {SENTENCES // 10**6} million sentences: {TEXTS / 1e6:.0f} "
        f"million texts to embed once (afterwards the embedding cache holds them: re-ingesting costs only what "
        f"changed). Embedding is the whole cost; it scales with the actors, since each batch is independent and the "
        f"driver only hashes texts and appends vectors to the cache. From the measured per-worker rate "
        f"({per_worker:.0f} texts/s on one of this machine's cores):"),
        "",
        *rows,
        "",
        (f"- One H100 does the work of about {gpu_equal} sixteen-core nodes at this machine's per-core rate. For "
        f"this corpus: about {_hours(H100[0] * 4)} on 4 GPUs with minilm, {_hours(H100[0] * 4 / MPNET_COST)} with "
        f"mpnet; on CPUs, {_hours(node * 16)} on 16 nodes with minilm, {_hours(node * 16 / MPNET_COST)} with mpnet."),
        (f"- Reading, cleaning, structuring and chunking ran at {read_rate:,.0f} passages/s in one process here: "
         f"{PASSAGES / read_rate / 3600:,.1f} core-hours for 10 million passages against "
         f"{TEXTS / per_worker / 3600:,.0f} core-hours of embedding at this rate, run as tasks on the same workers; "
         "on a GPU cluster, give the nodes enough CPUs (or add CPU-only nodes) that reading keeps pace."),
        ("- The index itself is written by the driver with the single-machine code (faiss, postings, one shard per "
        "ingest): ingest such a corpus in slices (a committee, a year: each `reportrag ingest --cluster` adds one "
        "shard) so that the driver holds one slice's vectors at a time (34M × 384 floats is 52 GB in all)."),
        ("- These are projections from two cores shared with other jobs, not measurements on a cluster: the per-core "
        "rate of a dedicated node is higher (the lent machine's 16 cores: "
        f"{LENT_16_CORES / CORES_PER_NODE:.0f} texts/s a core in one process)."),
    ]


def deployment() -> list[str]:
    return [
        "### What a deployment looks like",
        "",
        ("- **Cluster.** On Kubernetes, KubeRay: a `RayCluster` with a head pod (no work scheduled on it: "
        "`num-cpus: 0`) and a worker group of GPU pods (`nvidia.com/gpu: 1` each; the pool starts one actor per "
        "GPU, `num_gpus=1`) or of CPU pods (one actor per CPU), with the autoscaler between a minimum and a maximum "
        "replica count. On plain VMs, Ray's cluster launcher (`ray up cluster.yaml`) does the same. Every node runs "
        "one image: Python 3.11, this checkout installed with "
        "`pip install -e '.[cluster]' -c requirements.lock -c requirements-cluster.lock` (on GPU nodes, torch's "
        "CUDA build of the pinned version) and the model."),
        ("- **Shared storage, named by a path.** One ReadWriteMany volume (NFS, CephFS, a cloud file store) mounted "
        "at the same path on every pod, holding the reports, the index folder, the embedding cache and the models "
        "(`REPORTRAG_INDEX_DIR`, `REPORTRAG_CACHE_DIR`, `REPORTRAG_MODELS_DIR`). Reading tasks write the stored "
        "reports there, the driver the cache segments and the shards; the driver holds the index folder's lock."),
        ("- **Running an ingest.** As a Ray job on the cluster (a KubeRay `RayJob`, or `ray job submit`) whose "
        "entrypoint is `reportrag ingest --cluster auto /shared/reports/…`; or from any machine that reaches the "
        "head's port: `reportrag ingest --cluster HEAD:6379 …`. A node lost mid-run costs its work in flight, "
        "which Ray and the pool run again elsewhere; a driver lost mid-run costs nothing cached: run it again."),
        ("- **Replicas for a query rate.** One two-core replica of the app answers about 38 requests/s under 32 "
        "clients with the default all-mpnet-base-v2 (p95 1.0 s; its question embedding, 20 ms a question in "
        "batches, is nearly all of the work) and about 164 with all-MiniLM-L6-v2 (p95 0.26 s; section: Many users "
        "at once); one user waits about 30 and 9 ms. Size replicas as the rate wanted divided by about 70% of a "
        "replica's measured rate (100 requests/s: four mpnet replicas, or one minilm one), measured again on the large index, whose approximate (IVF) search costs a few milliseconds "
        "a query (section 6) where exact search over 34 million vectors would not serve. With `reportrag serve "
        "--cluster`, the shards live in Ray Serve replicas (two per group of shards; add groups as the index "
        "grows, replicas as the rate does) and each app replica routes and answers (README: Beyond one machine)."),
    ]
