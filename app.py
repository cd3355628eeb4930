"""The reportrag web app and HTTP API: ``python app.py [--port N] [--host H] [--allow-uploads]``.

A script, not an installed module: the app itself is ``reportrag.skins.web``.
"""

import time

STARTED = time.perf_counter()  # start-up is reported from here: the heavy imports below count

import os  # noqa: E402
import sys  # noqa: E402

# Requests run in many threads; glibc gives each its own malloc arena, and memory grew with every round of load.
# Two arenas keep it flat. The variable must be set before the process starts, hence the one re-exec.
if __name__ == "__main__" and "MALLOC_ARENA_MAX" not in os.environ:
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "MALLOC_ARENA_MAX": "2"})

from reportrag.skins.web import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(started=STARTED))
