"""A real local Ray cluster, for tests and benchmarks: a head and worker nodes, each a separate ``ray start --block``
process in a session of its own, on this machine, with this Python's own ``ray`` script.

    with LocalCluster(folder, workers=2) as cluster:  # tests: tests/cluster_harness.py's fixture
        ingest_on_cluster(settings, address=cluster.address)
        cluster.kill_worker(0)                        # a node lost: SIGKILL to its raylet, workers and actors
        cluster.add_worker()                          # and a new one joins

The head holds no CPU by default (``head_cpus=0``): every task and actor runs on a worker node, so killing one
is losing real work. Every port is chosen free; the dashboard is off; Ray's files go under the given folder, which
also names the cluster's processes. ``stop`` ends every process the cluster started: SIGTERM to each node's
``ray start`` (which stops its children), then SIGKILL to whatever is left in the node's session or names the
folder; ``leftovers()`` lists any still alive, and the test fixture fails a run that leaves one. ``ray stop`` is
never called: it stops every Ray process on the machine, other people's clusters included. Ray's folder is
``folder/ray``, or a short temporary one when that path is too long for Ray's socket paths (removed at ``stop``).
Each node gets a home folder of its own, so nothing in the user's ``~/.ray`` (an auth token another cluster made)
reaches it.

Ray gives nodes the machine's network address even when told 127.0.0.1 (it resolves the loopback to an address
other nodes can reach); the cluster is still this machine alone. ``address`` is ``127.0.0.1:PORT``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

RAY = Path(sys.executable).with_name("ray")  # the venv's script: nodes run the driver's Python and Ray
OBJECT_STORE_BYTES = 200 * 1024 * 1024  # per node (Ray's default is 30% of the memory, per node)
START_TIMEOUT_S = 120
MAX_TEMP_DIR = 48  # characters: Ray adds a session folder and a socket name, 107 bytes at most in all
NODE_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_DEDUP_LOGS": "0",
    # a lost node is noticed within a few seconds, not Ray's default half a minute
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
    "RAY_health_check_timeout_ms": "2000",
    "RAY_health_check_initial_delay_ms": "1000",
}


@dataclass
class Node:
    name: str
    proc: subprocess.Popen
    log: Path
    cpus: int
    killed: bool = False

    @property
    def session(self) -> int:
        return self.proc.pid  # started with start_new_session: the ``ray start`` process leads the session


class LocalCluster:
    def __init__(self, root: Path, *, workers: int = 2, worker_cpus: int = 1, head_cpus: int = 0) -> None:
        self.root = Path(root)
        self.temp_dir = self.root / "ray"
        self._own_temp = len(str(self.temp_dir)) > MAX_TEMP_DIR
        if self._own_temp:  # Ray's socket paths under it would pass the 107 bytes a Unix socket's path may have
            self.temp_dir = Path(tempfile.mkdtemp(prefix="ray-"))
        self.workers_wanted, self.worker_cpus, self.head_cpus = workers, worker_cpus, head_cpus
        self.head: Node | None = None
        self.workers: list[Node] = []
        self.port = 0
        # a home of its own: nothing in the user's ~/.ray (an auth token another cluster made) reaches these nodes
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}, **NODE_ENV,
                    "HOME": str(self.root / "home")}

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def nodes(self) -> list[Node]:
        return [n for n in [self.head, *self.workers] if n is not None]

    # --- starting ---------------------------------------------------------------------------------------------------

    def start(self) -> str:
        """The head, then the workers; returns once every worker has joined. A node that fails to start stops
        the cluster and raises with its log."""
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        (self.root / "home").mkdir(exist_ok=True)
        try:
            self.port = _free_port()
            self.head = self._node("head", ["--head", f"--port={self.port}", f"--num-cpus={self.head_cpus}",
                                            "--include-dashboard=false", f"--temp-dir={self.temp_dir}",
                                            f"--ray-client-server-port={_free_port()}",
                                            f"--dashboard-port={_free_port()}"], self.head_cpus)
            for _ in range(self.workers_wanted):
                self.add_worker(wait=False)
            self.wait_for_workers()
        except BaseException:
            self.stop()
            raise
        return self.address

    def add_worker(self, cpus: int | None = None, *, wait: bool = True) -> Node:
        cpus = self.worker_cpus if cpus is None else cpus
        node = self._node(f"worker{len(self.workers)}", [f"--address={self.address}", f"--num-cpus={cpus}"], cpus)
        self.workers.append(node)
        if wait:
            self.wait_for_workers()
        return node

    def _node(self, name: str, args: list[str], cpus: int) -> Node:
        log = self.root / f"{name}.log"
        cmd = [str(RAY), "start", "--block", "--disable-usage-stats", "--node-ip-address=127.0.0.1",
               f"--object-store-memory={OBJECT_STORE_BYTES}", f"--dashboard-agent-listen-port={_free_port()}",
               f"--metrics-export-port={_free_port()}", f"--runtime-env-agent-port={_free_port()}", *args]
        with open(log, "w") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=self.env, cwd=self.root, start_new_session=True)
        node = Node(name, proc, log, cpus)
        deadline = time.monotonic() + START_TIMEOUT_S
        while "Ray runtime started" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ray node {name} did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        return node

    def wait_for_workers(self, timeout: float = START_TIMEOUT_S) -> None:
        """Until the cluster counts every live worker's CPUs (asked by a short driver in a subprocess, so this
        process stays free to be a driver of its own)."""
        cpus = self.head_cpus + sum(n.cpus for n in self.workers if not n.killed)
        code = ("import ray, sys, time\n"
                f"ray.init(address={self.address!r}, logging_level='ERROR', log_to_driver=False)\n"
                f"deadline = time.time() + {timeout}\n"
                f"while ray.cluster_resources().get('CPU', 0) < {cpus} and time.time() < deadline:\n"
                "    time.sleep(0.5)\n"
                f"sys.exit(0 if ray.cluster_resources().get('CPU', 0) >= {cpus} else 1)\n")
        proc = subprocess.run([sys.executable, "-c", code], env=self.env, capture_output=True, text=True,
                              timeout=timeout + 60, check=False)
        if proc.returncode:
            raise RuntimeError(f"the cluster did not reach {cpus} CPUs:\n{proc.stderr[-2000:]}")

    # --- losing and stopping ----------------------------------------------------------------------------------------

    def kill_worker(self, i: int = 0) -> Node:
        """Worker ``i`` lost as a machine is lost: SIGKILL to every process of its node at once."""
        node = self.workers[i]
        for pid in _session_pids(node.session):
            _signal(pid, signal.SIGKILL)
        node.killed = True
        node.proc.wait(timeout=30)
        return node

    def worker_holding(self, pid: int) -> int:
        """The index of the live worker node whose session holds process ``pid`` (an actor's, say)."""
        for i, node in enumerate(self.workers):
            if not node.killed and pid in _session_pids(node.session):
                return i
        raise LookupError(f"no live worker node of this cluster holds process {pid}")

    def stop(self) -> None:
        """Every process this cluster started ended: workers first, then the head."""
        for node in [*reversed(self.workers), self.head]:
            if node is None or node.proc.poll() is not None:
                continue
            node.proc.send_signal(signal.SIGTERM)  # `ray start --block` stops its children, then exits
            try:
                node.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + 20
        while (left := self.leftovers()) and time.monotonic() < deadline:
            for pid, _ in left:
                _signal(pid, signal.SIGKILL)
            time.sleep(0.5)
        for node in self.nodes:
            if node.proc.poll() is None:
                node.proc.kill()
            node.proc.wait(timeout=10)
        if self._own_temp:
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    def leftovers(self) -> list[tuple[int, str]]:
        """Processes of this cluster still alive: in a node's session, or naming its folder (zombies aside)."""
        sessions = {n.session for n in self.nodes}
        found = []
        for pid, sid, state, cmdline in _processes():
            if state == "Z" or pid == os.getpid():
                continue
            if sid in sessions or str(self.temp_dir) in cmdline:
                found.append((pid, cmdline[:200]))
        return found

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes() -> list[tuple[int, int, str, str]]:
    """(pid, session id, state, command line) of every process, from /proc."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state, ppid, pgrp, session, ...
        out.append((int(entry.name), int(fields[3]), fields[0], cmdline))
    return out


def _session_pids(session: int) -> set[int]:
    return {pid for pid, sid, state, _ in _processes() if sid == session and state != "Z"}


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
