"""What must happen before Gradio is imported; the package's ``__init__`` imports this module first.

The start-up clock starts here, so the heavy imports count towards the reported start-up time. Gradio reads its
settings from the environment when it is imported: its temporary files stay inside the data folder, and it phones
no one.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import os  # noqa: E402

from reportrag.core.errors import ReportragError  # noqa: E402
from reportrag.core.settings import Settings  # noqa: E402

try:
    SETTINGS = Settings.from_env()
except ReportragError as e:  # a bad REPORTRAG_* variable: one line, no traceback
    raise SystemExit(f"error: {e}") from None
os.environ.setdefault("GRADIO_TEMP_DIR", str(SETTINGS.server.work_dir / "tmp"))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
