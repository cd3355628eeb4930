"""Past one machine: ingest and serving on a Ray cluster (the optional ``.[cluster]`` extra).

    connect.py   ray imported only here and below, only when asked for; joining a cluster by its address
    local.py     a local cluster (head and worker nodes as `ray start` processes): tests, benchmarks
    reading.py   read → clean → structure → chunk each report as a Ray task (retried on a lost node)
    pool.py      an actor pool embedding batches (one model per actor, GPUs where the cluster has them)
    ingest.py    the driver: reading tasks, then the texts the embedding cache lacks, then the single-machine index
    serving.py   Ray Serve replicas holding the shards; the router's handles (``reportrag serve --cluster``)

Nothing on the default path imports this package: ``reportrag ingest --cluster ADDRESS`` (or the
``cluster_address`` setting) and ``reportrag serve --cluster ADDRESS`` are the ways in.
"""
