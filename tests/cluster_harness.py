"""The local Ray cluster the cluster tests run on (``reportrag.cluster.local.LocalCluster``: a head and worker nodes
as separate ``ray start`` processes on this machine; ``kill_worker``, ``add_worker``, ``stop``, ``leftovers``), as a
fixture body any test module can use:

    @pytest.fixture(scope="module")
    def ray_cluster(tmp_path_factory):
        yield from local_cluster(tmp_path_factory)

Tests that use it are marked ``cluster`` (and ``slow``): ``pytest -m cluster`` runs them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reportrag.cluster.local import LocalCluster

__all__ = ["LocalCluster", "local_cluster"]


def local_cluster(tmp_path_factory, *, workers: int = 2) -> Iterator[LocalCluster]:
    """A head and ``workers`` one-CPU worker nodes for a module's tests; afterwards, no process of it is left
    (asserted). Skips when Ray (the .[cluster] extra) is not installed."""
    pytest.importorskip("ray")
    cluster = LocalCluster(tmp_path_factory.mktemp("ray"), workers=workers)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        left = cluster.leftovers()
        assert not left, f"Ray processes left behind: {left}"
