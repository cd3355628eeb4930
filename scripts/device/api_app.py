"""app.py on the lent machine: the same HTTP API (/api/...) without the Gradio page, which cannot travel there."""
import os
import sys
import time

STARTED = time.perf_counter()
if __name__ == "__main__" and "MALLOC_ARENA_MAX" not in os.environ:  # as app.py
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "MALLOC_ARENA_MAX": "2"})
import argparse  # noqa: E402

import uvicorn  # noqa: E402

from reportrag.core.settings import Settings  # noqa: E402
from reportrag.service import Service  # noqa: E402
from reportrag.skins.api import create_api  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--host", default="127.0.0.1")
a = p.parse_args()
service = Service(Settings.from_env())
service.warm_up()
print(f"ready in {time.perf_counter() - STARTED:.1f}s", flush=True)
uvicorn.run(create_api(service), host=a.host, port=a.port, log_level="warning")
