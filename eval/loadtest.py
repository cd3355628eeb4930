"""The app as a server, for the tests and the benchmarks: start ``python app.py`` on 127.0.0.1 and wait until it
answers; then many users at once: N clients, each sending its share of requests to /api/ask and /api/search, every
response checked. Used by the tests (tests/conftest.py, tests/test_load.py) and by ``eval/serve_bench.py``, which
writes the figures into BENCHMARKS.md."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx

from reportrag.core.settings import PROJECT_ROOT


def question_set() -> list[str]:
    """What the load clients ask: the training split's questions."""
    from reportrag.eval.runner import load_questions

    return [q["question"] for q in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(env: dict[str, str], *args: str, log=subprocess.DEVNULL, timeout_s: float = 300.0,
              tree: Path = PROJECT_ROOT) -> tuple[subprocess.Popen, str, float]:
    """``python app.py`` (with ``args``) on 127.0.0.1 and a free port, the environment overridden by ``env``:
    (process, base URL, seconds from spawn until ``/api/health`` answers). Raises RuntimeError, the process
    stopped, when it exits or does not answer in time; its output went to ``log``. ``tree``: the checkout whose
    ``app.py`` runs (another commit's, to measure against it), with that checkout's own ``.venv``: this venv's
    editable install would import this checkout's modules into the other's app."""
    port = free_port()
    started = time.perf_counter()
    python = sys.executable if tree.resolve() == PROJECT_ROOT.resolve() else str(tree / ".venv" / "bin" / "python")
    if not Path(python).exists():
        raise RuntimeError(f"{tree}: no .venv/bin/python there; make one (python3 -m venv .venv, then pip install -e .)")
    proc = subprocess.Popen([python, "app.py", "--port", str(port), *args], cwd=tree,
                            env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    while proc.poll() is None and time.perf_counter() - started < timeout_s:
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return proc, url, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    stop_app(proc)
    raise RuntimeError(f"the app did not start (exit status {proc.returncode})")


def stop_app(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class LoadResult:
    clients: int
    requests: int
    seconds: float
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)  # per endpoint
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        every = [x for xs in self.latencies_ms.values() for x in xs]
        out = {"clients": self.clients, "requests": self.requests, "errors": len(self.errors),
               "seconds": round(self.seconds, 1), "requests_per_s": round(self.requests / self.seconds, 1),
               "all": percentiles(every)}
        out.update({name: percentiles(xs) for name, xs in self.latencies_ms.items()})
        if self.errors:
            out["first_errors"] = self.errors[:5]
        return out


def percentiles(ms: list[float]) -> dict:
    """Count, p50, p95 and max of latencies in ms ({} for none)."""
    if not ms:
        return {}
    ordered = sorted(ms)
    return {"n": len(ms), "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
            "max_ms": round(ordered[-1], 1)}


def run_load(base_url: str, questions: list[str], *, clients: int = 32, per_client: int = 25,
             timeout_s: float = 300.0) -> LoadResult:
    """Every client alternates ask and search over ``questions`` on its own keep-alive connection; a response
    counts as an error unless it is a 200 with the JSON the endpoint promises. The clients speak HTTP through
    the standard library's ``http.client``: on loopback they share the server's cores, and httpx spent 2.1 ms
    of CPU a request (a quarter of a core under 32 clients) taken from the server measured."""
    lock = threading.Lock()
    result = LoadResult(clients, clients * per_client, 0.0, {"ask": [], "search": []})
    address = urlsplit(base_url)

    def client(n: int) -> None:
        http = HTTPConnection(address.hostname, address.port, timeout=timeout_s)
        try:
            for i in range(per_client):
                question = questions[(n * per_client + i) % len(questions)]
                kind = "ask" if i % 2 == 0 else "search"
                started = time.perf_counter()
                try:
                    if kind == "ask":
                        status, body = request(http, "POST", "/api/ask", json.dumps({"question": question}))
                        ok = status == 200 and "citations" in json.loads(body)
                    else:
                        status, body = request(http, "GET", "/api/search?" + urlencode({"q": question, "k": 10}))
                        ok = status == 200 and isinstance(json.loads(body), list)
                    problem = None if ok else f"{kind} {question!r}: HTTP {status} {body[:200]!r}"
                except (OSError, HTTPException, ValueError) as e:
                    problem = f"{kind} {question!r}: {type(e).__name__}: {e}"
                    http.close()  # a fresh connection for the next request
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    result.latencies_ms[kind].append(elapsed)
                    if problem:
                        result.errors.append(problem)
        finally:
            http.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for future in [pool.submit(client, n) for n in range(clients)]:
            future.result()
    result.seconds = time.perf_counter() - started
    return result


def request(http: HTTPConnection, method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    http.request(method, path, body=body, headers=headers)
    response = http.getresponse()
    return response.status, response.read()


def rss_mib(pid: int) -> float:
    """Resident memory of a process (Linux), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")
