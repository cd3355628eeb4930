"""The security review, as checks that fail when the code regresses: nothing loaded from disk can execute code,
and the model comes as safetensors. (Escaping of report text: tests/test_app.py and tests/test_browser.py;
loopback bind and JSON errors: tests/test_api.py; uploads off by default: tests/test_uploads.py.)"""

from __future__ import annotations

import ast

from reportrag.index.model_path import default_model_path

from reportrag.core.settings import PROJECT_ROOT

SOURCES = sorted(p for folder in ("reportrag", "ingest", "index") for p in (PROJECT_ROOT / folder).rglob("*.py"))
SOURCES.append(PROJECT_ROOT / "app.py")
# formats that run code when loaded, and the switches that let them
CODE_LOADERS = {"pickle", "cPickle", "dill", "joblib", "shelve", "marshal", "cloudpickle"}
DANGEROUS_CALLS = {"eval", "exec", "torch.load", "pd.read_pickle", "pandas.read_pickle"}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return ""


def test_no_code_executing_format_is_loaded_anywhere():
    problems = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.relative_to(PROJECT_ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                problems += [f"{where}: imports {m}" for m in modules if m.split(".")[0] in CODE_LOADERS]
            if isinstance(node, ast.Call):
                name = _name(node.func)
                if name in DANGEROUS_CALLS:
                    problems.append(f"{where}: calls {name}")
                keywords = {k.arg: k.value for k in node.keywords}
                if name.endswith("np.load") or name == "numpy.load":
                    flag = keywords.get("allow_pickle")
                    if not (isinstance(flag, ast.Constant) and flag.value is False):
                        problems.append(f"{where}: np.load without allow_pickle=False")
                for switch in ("allow_pickle", "allow_dangerous_deserialization", "trust_remote_code"):
                    value = keywords.get(switch)
                    if isinstance(value, ast.Constant) and value.value is True:
                        problems.append(f"{where}: {switch}=True")
    assert len(SOURCES) > 30 and problems == [], problems


def test_the_model_ships_as_safetensors_only():
    folder = default_model_path()
    assert (folder / "model.safetensors").is_file()
    assert not [p.name for p in folder.rglob("*") if p.suffix in {".bin", ".pt", ".pkl", ".pickle", ".ckpt"}]
