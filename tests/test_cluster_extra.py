"""The Ray extra stays optional: nothing on the default path imports ``ray``, and ``--cluster`` without it is a
one-line error naming the extra. Fast tier: no cluster is started."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from reportrag.core.settings import PROJECT_ROOT, Settings


def test_the_default_path_never_imports_ray():
    code = ("import sys, runpy\n"
            "import reportrag.service, reportrag.skins.cli, reportrag.skins.api, reportrag.skins.web\n"
            "runpy.run_path('app.py', run_name='app')\n"  # the app module as `python app.py` loads it, not started
            "from reportrag.skins.cli import main\n"
            "assert main(['settings']) == 0\n"
            "assert 'ray' not in sys.modules, sorted(m for m in sys.modules if m.startswith('ray'))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_cluster_without_ray_is_a_one_line_error(tmp_path):
    """As on a machine without the extra: ``import ray`` fails, and the CLI says what to install."""
    code = ("import sys\n"
            "sys.modules['ray'] = None  # import ray → ImportError\n"
            "from reportrag.skins.cli import main\n"
            "sys.exit(main(['ingest', '--cluster', '127.0.0.1:6379']))\n")
    env = {"REPORTRAG_INDEX_DIR": str(tmp_path / "index"), "REPORTRAG_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, check=False)
    assert proc.returncode == 1
    install = "pip install -e '.[cluster]' -c requirements.lock -c requirements-cluster.lock"
    assert proc.stderr.strip().splitlines() == [f"error: --cluster needs Ray, an optional extra: {install}"]
    assert not (tmp_path / "index" / "documents").exists()  # nothing read


def test_the_cluster_address_setting_defaults_to_none():
    assert Settings().cluster.cluster_address is None
    assert Settings(cluster_address="10.0.0.1:6379").cluster.cluster_address == "10.0.0.1:6379"


def test_an_address_nobody_answers_is_a_one_line_error(tmp_path):
    """At once, not after Ray's minutes of retries; nothing is read or written."""
    pytest.importorskip("ray")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nobody listens there
    env = {**os.environ, "REPORTRAG_INDEX_DIR": str(tmp_path / "index"), "REPORTRAG_CACHE_DIR": str(tmp_path / "c")}
    proc = subprocess.run([sys.executable, "-m", "reportrag.skins.cli", "ingest", "--cluster", f"127.0.0.1:{port}"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        (f"error: --cluster 127.0.0.1:{port}: no Ray cluster answers there (Connection refused); start one with "
        "'ray start --head' (README: Beyond one machine)")]
    assert not (tmp_path / "index").exists()
