"""Issues 7 and 15, crash safety: `reportrag ingest` and `reportrag compact` killed with SIGKILL mid-way.

A small index (one short report) gets one more report (a new shard). The ingest is killed:

- at the steps that change the index folder or the embedding cache: a child process wraps the file-system calls
  that replace or delete (os.replace, os.rename, os.unlink, shutil.rmtree) and SIGKILLs itself just before the
  n-th one (a first, unkilled run lists them and gives the reference result; KILL_BEFORE picks seven);
- from outside, as a user would: the real `reportrag ingest` is SIGKILLed when a temporary build folder appears,
  and after a delay.

After each kill, the index that loads answers exactly as before (or, once the switch to the new manifest happened,
exactly as the unkilled run), nothing the loader reads is partial, and `reportrag ingest` completes the job.
A compaction of two shards (after a report's removal) killed before each of its steps leaves an index that answers
exactly as before, and `reportrag compact` completes it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reportrag.index import document_store as documents
from reportrag.index import search_index as store

from reportrag.core.settings import PROJECT_ROOT, Settings
from reportrag.retrieval.search import Searcher
from reportrag.service import ingesting as corpus
from tests.conftest import FAST_MODEL
from tests.test_bad_input import cli_env, make_small_corpus, results

EXTRA = """# Extra report

## Housing

The state built 4,000 rental flats for large families in 2022, and the waiting list fell by a third.

Young families may rent a flat for twenty years before they buy it at the price of its construction.
"""

# Runs `reportrag ingest` and SIGKILLs itself before the KILL_AT-th replace/rename/unlink/rmtree (0: never);
# prints each such call to stderr so an unkilled run lists the steps.
CHILD = r"""
import os, shutil, signal, sys
kill_at = int(os.environ["KILL_AT"])
count = 0
def hooked(name, real):
    def call(*args, **kwargs):
        global count
        count += 1
        print(f"step {count}: {name} {os.path.basename(str(args[-1] if name in ('replace', 'rename') else args[0]))}",
              file=sys.stderr, flush=True)
        if count == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return call
os.replace = hooked("replace", os.replace)
os.rename = hooked("rename", os.rename)
os.unlink = hooked("unlink", os.unlink)
shutil.rmtree = hooked("rmtree", shutil.rmtree)
from reportrag.skins.cli import main
sys.exit(main(sys.argv[1:]))
"""


def ingest_cmd(extra: Path) -> list[str]:
    return [sys.executable, "-c", CHILD, "ingest", str(extra)]


def env_for(settings: Settings, kill_at: int = 0) -> dict[str, str]:
    return {**os.environ, **cli_env(settings), "REPORTRAG_INDEX_DIR": str(settings.index.index_dir), "KILL_AT": str(kill_at)}


def copy_of(base: Settings, dest: Path) -> Settings:
    shutil.copytree(base.index.index_dir.parent, dest)
    return Settings(index_dir=dest / "index", cache_dir=dest / "cache",
                    reports_manifest=dest / "reports" / "manifest.json", model=FAST_MODEL)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The small index before; the steps and result of an unkilled `ingest extra.md`; one embedder."""
    root = tmp_path_factory.mktemp("crash")
    base = make_small_corpus(root / "base")
    corpus.ingest_reports(base)
    extra = root / "extra.md"
    extra.write_text(EXTRA, encoding="utf-8")
    embedder = corpus.make_embedder(base)
    before = results(Searcher(base.index.index_dir, embedder))

    reference = copy_of(base, root / "reference")
    proc = subprocess.run(ingest_cmd(extra), env=env_for(reference), cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    steps = [line for line in proc.stderr.splitlines() if line.startswith("step ")]
    after = results(Searcher(reference.index.index_dir, embedder))
    assert after != before and any(pid.startswith("extra") for hits in after for pid, _ in hits)
    return {"base": base, "extra": extra, "embedder": embedder, "before": before, "after": after, "steps": steps}


def live_manifest(settings: Settings) -> dict:
    return json.loads((settings.index.index_dir / "search" / "manifest.json").read_text(encoding="utf-8"))


def check_after_kill(settings: Settings, world) -> str:
    """The index loads and answers as before (or as the finished run); nothing it reads is partial."""
    base = settings.index.index_dir / "search"
    manifest = live_manifest(settings)  # whole, never half written
    for doc_id in documents.doc_ids(settings.index.index_dir):  # every report file the loader lists is whole
        documents.load(settings.index.index_dir, doc_id)
    assert all(p.name.startswith(".") and p.name.endswith(".tmp")
               for p in (settings.index.index_dir / "documents").iterdir() if p.suffix != ".json")  # leftovers are hidden temp files
    for shard in manifest["shards"]:  # every shard the manifest names is whole
        assert not any(p.name.endswith(".tmp") for p in (base / "shards" / shard["name"]).rglob("*"))
    got = results(Searcher(settings.index.index_dir, world["embedder"]))
    if manifest["shards"] == live_manifest(world["base"])["shards"]:
        assert got == world["before"]  # exactly as before: same passages, same scores
        return "old"
    assert [[pid for pid, _ in hits] for hits in got] == [[pid for pid, _ in hits] for hits in world["after"]]
    return "new"


def repair(settings: Settings, world) -> None:
    """`reportrag ingest` again finishes the job: the index is the unkilled run's, no temp files left."""
    result = corpus.ingest_reports(settings, [world["extra"]])
    assert not result.failed
    got = results(Searcher(settings.index.index_dir, world["embedder"]))
    assert [[pid for pid, _ in hits] for hits in got] == [[pid for pid, _ in hits] for hits in world["after"]]
    flat = lambda rs: [s for hits in rs for _, s in hits]  # noqa: E731
    assert flat(got) == pytest.approx(flat(world["after"]), abs=1e-4)  # re-embedded texts may differ in float noise
    search = settings.index.index_dir / "search"
    assert sorted(p.name for p in search.iterdir()) == ["manifest.json", "shards"]
    # a shard whose write was cut short may stay (hidden, unnamed) until the next commit: harmless, no manifest names it
    named = {s["name"] for s in live_manifest(settings)["shards"]}
    assert {p.name for p in (search / "shards").iterdir() if not p.name.startswith(".")} == named


def test_the_steps_cover_the_whole_addition(world):
    steps = "\n".join(world["steps"])
    # the report file, its catalog entry, the embedding cache's new segment, the new shard's files and folder, the manifest
    for expected in ("extra.json", "seg-", "shard.json", "rename shard-", "replace manifest.json"):
        assert expected in steps, steps
    assert steps.index("extra.json") < steps.index("seg-") < steps.index("rename shard-") < steps.index("replace manifest.json")


KILL_BEFORE = (  # the steps that matter (each run costs a model load, so not all of them)
    "replace extra.json",  # nothing written yet
    "replace seg-",  # the cache's new segment half written, its manifest not yet
    "replace passage_ids.json",  # the new shard half written in its temp folder
    "rename shard-",  # the new shard complete, not yet in place
    "replace manifest.json",  # in place, not yet live
)


def kill_points(steps: list[str]) -> list[int]:
    """1-based step numbers to die before: the first of each KILL_BEFORE, and just after the switch (if any step follows)."""
    points = [next(i for i, step in enumerate(steps, 1) if want in step) for want in KILL_BEFORE]
    return points + ([points[-1] + 1] if points[-1] < len(steps) else [])


def test_sigkill_at_each_step_leaves_a_loadable_index(world, tmp_path):
    seen = []
    for n in kill_points(world["steps"]):
        settings = copy_of(world["base"], tmp_path / f"kill-{n}")
        proc = subprocess.run(ingest_cmd(world["extra"]), env=env_for(settings, n), cwd=PROJECT_ROOT, capture_output=True, text=True)
        assert proc.returncode == -signal.SIGKILL, (n, proc.stderr[-2000:])
        state = check_after_kill(settings, world)
        seen.append((world["steps"][n - 1], state))
        repair(settings, world)
        shutil.rmtree(tmp_path / f"kill-{n}")
    states = [state for _, state in seen]
    # killed before the switch: the old index; never anything in between
    assert states == sorted(states, key=lambda s: s == "new") and "old" in states, seen
    assert all(state == "old" for step, state in seen if "manifest.json" in step)  # dying before the switch: still old


@pytest.fixture(scope="module")
def sharded(world, tmp_path_factory):
    """Two shards, after a report's removal: what a compaction merges; the answers before it; the steps it takes."""
    root = tmp_path_factory.mktemp("sharded")
    settings = copy_of(world["base"], root / "index-copy")
    for name in ("extra", "more"):
        path = root / f"{name}.md"
        path.write_text(EXTRA.replace("Extra report", f"{name.title()} report").replace("4,000", "4,100" if name == "more" else "4,000"),
                        encoding="utf-8")
        assert not corpus.ingest_reports(settings, [path]).failed
    corpus.remove_report(settings, "extra")
    assert len(live_manifest(settings)["shards"]) == 2 and live_manifest(settings)["shards"][0]["removed"] == []
    before = results(Searcher(settings.index.index_dir, world["embedder"]))
    reference = copy_of(settings, root / "reference")
    proc = subprocess.run([sys.executable, "-c", CHILD, "compact"], env=env_for(reference), cwd=PROJECT_ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert len(live_manifest(reference)["shards"]) == 1
    assert results(Searcher(reference.index.index_dir, world["embedder"])) == before
    steps = [line for line in proc.stderr.splitlines() if line.startswith("step ")]
    return {"settings": settings, "before": before, "steps": steps}


def test_sigkill_at_each_step_of_a_compaction_leaves_the_index_answering_as_before(world, sharded, tmp_path):
    steps = sharded["steps"]
    assert any("rename shard-" in s for s in steps) and any("manifest.json" in s for s in steps)
    assert any("rmtree shard-" in s for s in steps) and any("seg-" in s for s in steps)  # old shards, cache GC
    for n in range(1, len(steps) + 1):
        settings = copy_of(sharded["settings"], tmp_path / f"kill-{n}")
        proc = subprocess.run([sys.executable, "-c", CHILD, "compact"], env=env_for(settings, n), cwd=PROJECT_ROOT,
                              capture_output=True, text=True)
        assert proc.returncode == -signal.SIGKILL, (n, steps[n - 1], proc.stderr[-2000:])
        # merging changes no answer: before the switch or after it, exactly what was answered before
        assert results(Searcher(settings.index.index_dir, world["embedder"])) == sharded["before"], steps[n - 1]
        assert corpus.compact(settings)["shards"] == 1
        assert results(Searcher(settings.index.index_dir, world["embedder"])) == sharded["before"], steps[n - 1]
        shutil.rmtree(tmp_path / f"kill-{n}")


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if predicate():
            return True
        time.sleep(0.0005)
    return False


@pytest.mark.parametrize("when", ["temporary build folder appears", "report file written", "after 3 s"])
def test_user_sigkill_of_the_real_command(world, tmp_path, when):
    settings = copy_of(world["base"], tmp_path / "index-copy")
    search = settings.index.index_dir / "search"
    proc = subprocess.Popen([sys.executable, "-m", "reportrag.skins.cli", "ingest", str(world["extra"])],
                            env=env_for(settings), cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if when == "temporary build folder appears":
            hit = _wait_for(lambda: any((search / "shards").glob(".shard-*.tmp")), proc)
        elif when == "report file written":
            hit = _wait_for(lambda: (settings.index.index_dir / "documents" / "extra.json").exists(), proc)
        else:
            hit = not _wait_for(lambda: False, proc, timeout=3.0)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    if not hit:
        pytest.skip(f"the ingest finished before '{when}' could be caught: {proc.stderr.read()[-300:]!r}")
    assert proc.returncode == -signal.SIGKILL
    assert check_after_kill(settings, world) in ("old", "new")
    run = subprocess.run([sys.executable, "-m", "reportrag.skins.cli", "ingest", str(world["extra"])],
                         env=env_for(settings), cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(json.dumps(results(Searcher(settings.index.index_dir, world["embedder"]))))[0][0][0] == world["after"][0][0][0]
    repair(settings, world)
