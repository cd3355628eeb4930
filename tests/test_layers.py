"""The architecture, checked: imports only point down the layers, folders form no cycle, nothing grows huge.

    skins     reportrag/skins/   CLI, HTTP API, web app, LangChain adapters (and app.py, reportrag/__main__.py)
    eval      eval/              metrics, question-set runner, BEIR, benchmarks, load test
    service   reportrag/service/ the front door every skin calls; ingesting into the index folder
    cluster   reportrag/cluster/ Ray (optional extra): distributed ingest (tasks, an actor pool), shard replicas for serving
    answers   reportrag/answers/ extractive answers, evidence, generation, citation lookup, quotes, export
    retrieval reportrag/retrieval/ corpus in memory, scorer, filters, re-ranking
    index     index/             document store, embeddings, vectors, keyword index, the search index on disk
    ingest    ingest/            load → clean → structure → chunk
    core      reportrag/core/    data types, errors, settings, atomic writes
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from reportrag.core.settings import PROJECT_ROOT

LAYERS = ("core", "ingest", "index", "retrieval", "answers", "service", "cluster", "eval", "skins")
FOLDERS = {"reportrag/core": "core", "ingest": "ingest", "index": "index", "reportrag/retrieval": "retrieval",
           "reportrag/answers": "answers", "reportrag/service": "service", "reportrag/cluster": "cluster", "eval": "eval",
           "reportrag/skins": "skins"}
TOP_FILES = {"app.py": "skins", "reportrag/__main__.py": "skins", "reportrag/__init__.py": "core"}
GENERIC_NAMES = {"ingest", "index", "eval", "app"}  # must never be imported as top-level packages
MAX_MODULE_LINES = 420
MAX_FUNCTION_LINES = 65


def layer_of_file(path: Path) -> str | None:
    rel = path.relative_to(PROJECT_ROOT).as_posix()
    if rel in TOP_FILES:
        return TOP_FILES[rel]
    return next((layer for folder, layer in FOLDERS.items() if rel.startswith(folder + "/")), None)


def layer_of_module(name: str) -> str | None:
    """``reportrag.retrieval.search`` → retrieval; ``reportrag.ingest.chunk`` → ingest; None: not ours."""
    parts = name.split(".")
    if parts[0] != "reportrag":
        return None
    if len(parts) == 1:
        return "core"
    return parts[1] if parts[1] in LAYERS else None


def imported_modules(source: str) -> list[tuple[int, str]]:
    """Every module an import names (in functions and TYPE_CHECKING blocks too), with its line."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "reportrag":  # `from reportrag import retrieval` names the layer itself
                out += [(node.lineno, f"reportrag.{alias.name}") for alias in node.names]
            else:
                out.append((node.lineno, node.module))
    return out


def violations(source: str, layer: str, where: str) -> list[str]:
    found = []
    for line, module in imported_modules(source):
        top = module.split(".")[0]
        if top in GENERIC_NAMES:
            found.append(f"{where}:{line} imports {module!r}: use reportrag.{module}")
            continue
        target = layer_of_module(module)
        if target is None and top == "reportrag":
            found.append(f"{where}:{line} imports {module!r}, which is in no layer")
        elif target is not None and LAYERS.index(target) > LAYERS.index(layer):
            found.append(f"{where}:{line} ({layer}) imports {module} ({target}): an arrow back up")
    return found


def our_files() -> list[Path]:
    files = [PROJECT_ROOT / f for f in TOP_FILES]
    for folder in FOLDERS:
        files += sorted((PROJECT_ROOT / folder).rglob("*.py"))
    return files


def test_every_file_has_a_layer():
    stray = sorted(p.relative_to(PROJECT_ROOT).as_posix() for p in (PROJECT_ROOT / "reportrag").rglob("*.py")
                   if layer_of_file(p) is None)
    assert not stray, f"modules in no layer folder: {stray}"


def test_imports_only_point_down():
    found = []
    for path in our_files():
        found += violations(path.read_text(encoding="utf-8"), layer_of_file(path), path.relative_to(PROJECT_ROOT))
    assert not found, "\n".join(found)


def test_no_cycle_between_folders():
    edges: dict[str, set[str]] = {layer: set() for layer in LAYERS}
    for path in our_files():
        source_layer = layer_of_file(path)
        for _, module in imported_modules(path.read_text(encoding="utf-8")):
            target = layer_of_module(module)
            if target and target != source_layer:
                edges[source_layer].add(target)
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == 1:
            pytest.fail(f"import cycle between folders: {' → '.join(trail + [node])}")
        if state.get(node) == 2:
            return
        state[node] = 1
        for nxt in sorted(edges[node]):
            visit(nxt, trail + [node])
        state[node] = 2

    for layer in LAYERS:
        visit(layer, [])


@pytest.mark.parametrize(("source", "layer", "expected"), [
    ("from reportrag.service import Service", "retrieval", "an arrow back up"),
    ("def f():\n    from reportrag.skins import cli", "answers", "an arrow back up"),
    ("from index.embed import Embedder", "retrieval", "use reportrag.index.embed"),
    ("from reportrag import answers", "ingest", "an arrow back up"),
    ("from reportrag.utils import x", "core", "in no layer"),
])
def test_the_checker_catches_a_wrong_import(source, layer, expected):
    assert expected in " ".join(violations(source, layer, "x.py"))


def test_the_checker_allows_imports_downward():
    assert violations("from reportrag.core.records import Passage\nimport numpy", "skins", "x.py") == []


def test_no_god_modules_or_functions():
    """About 400 lines a module and 60 a function at most (tests aside): a reader finds the room for a change."""
    big = []
    for path in our_files():
        source = path.read_text(encoding="utf-8")
        rel = path.relative_to(PROJECT_ROOT)
        if source.count("\n") > MAX_MODULE_LINES:
            big.append(f"{rel}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    big.append(f"{rel}:{node.lineno} {node.name}: {length} lines")
    assert not big, "\n".join(big)


def test_generic_names_are_not_installed_top_level():
    """``index``, ``app``, ``eval`` and ``ingest`` are this checkout's folders, not importable packages."""
    import importlib.util
    import subprocess
    import sys

    code = "import importlib.util, sys; print([n for n in sys.argv[1:] if importlib.util.find_spec(n)])"
    out = subprocess.run([sys.executable, "-c", code, *sorted(GENERIC_NAMES)], capture_output=True, text=True,
                         cwd="/", check=True).stdout.strip()
    assert out == "[]", out
    assert importlib.util.find_spec("reportrag.index.embed") is not None


def test_readme_settings_table_is_generated_from_the_settings_object():
    from reportrag.core.settings import settings_table

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- settings:start -->\n")[1].split("<!-- settings:end -->")[0]
    assert table == settings_table(), "run `reportrag settings --table` and paste it into README.md"
