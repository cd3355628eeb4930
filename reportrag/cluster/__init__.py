"""Past one machine: distributed ingest and sharded serving on a Ray cluster (the [cluster] extra)."""
