"""``reportrag api --workers N`` as a user runs it, over a given index, for the tests that need its processes:
started on 127.0.0.1 and a free port, waited for, and stopped with every worker (none may outlive it)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from reportrag.eval.loadtest import free_port

from reportrag.core.settings import PROJECT_ROOT, Settings


@dataclass
class ApiWorkers:
    url: str  # .../api
    children: list[str]  # the supervisor's children: the worker processes

    def get(self, path: str, **params) -> object:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/{path}{query}", timeout=60) as r:
            return json.load(r)


@contextmanager
def api_workers(settings: Settings, workers: int = 2) -> Iterator[ApiWorkers]:
    env = {**os.environ, "REPORTRAG_CACHE_DIR": str(settings.index.cache_dir), "REPORTRAG_MODEL": "minilm"}
    port = free_port()
    command = [sys.executable, "-m", "reportrag.skins.cli", "--index-dir", str(settings.index.index_dir),
               "api", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    children: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.5)
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        yield ApiWorkers(url, children)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        deadline = time.monotonic() + 30  # workers finish their shutdown after the supervisor returns
        while time.monotonic() < deadline and any(_running(pid) for pid in children):
            time.sleep(0.2)
        left = {pid: Path(f"/proc/{pid}/cmdline").read_bytes()[:200] for pid in children if _running(pid)}
        assert not left, f"outlived the command: {left}"


def _running(pid: str) -> bool:
    """A live process (a zombie waiting to be reaped counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
