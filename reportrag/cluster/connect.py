"""Ray, imported only when a cluster is asked for, and joining one by its address."""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import socket
from collections.abc import Iterator

from reportrag.core.errors import ReportragError

INSTALL = "pip install -e '.[cluster]' -c requirements.lock -c requirements-cluster.lock"


def import_ray():
    """The ``ray`` module; missing, a one-line error naming the extra that brings it."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise ReportragError(f"--cluster needs Ray, an optional extra: {INSTALL}") from None


@contextlib.contextmanager
def connected(address: str) -> Iterator[object]:
    """This process as a driver of the Ray cluster at ``address`` (``HOST:PORT`` of its head) for the block; an
    address nobody answers at is a one-line error. Workers' own output stays in the cluster's logs."""
    ray = import_ray()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report leaves a user's machine
    if ray.is_initialized():  # already a driver (a caller's own ray.init): use that connection, leave it open
        yield ray
        return
    _reachable(address)
    try:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False, configure_logging=False)
    except (ConnectionError, ValueError, RuntimeError) as e:
        raise ReportragError(f"--cluster {address}: no Ray cluster answers there ({str(e).splitlines()[0]}); "
                             "start one with 'ray start --head' (README: Beyond one machine)") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def cluster_gpus(ray) -> int:
    """How many GPUs the cluster has (0: embedding runs on CPU actors)."""
    return int(ray.cluster_resources().get("GPU", 0))


def cluster_cpus(ray) -> int:
    return int(ray.cluster_resources().get("CPU", 0))


def _reachable(address: str, timeout_s: float = 10) -> None:
    """A ``HOST:PORT`` nobody listens at is an error now (Ray itself would retry for minutes); "auto" and
    ``ray://`` addresses are left to Ray."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "/" in address:
        return
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout_s).close()
    except OSError as e:
        raise ReportragError(f"--cluster {address}: no Ray cluster answers there ({e.strerror or e}); start one "
                             "with 'ray start --head' (README: Beyond one machine)") from None
