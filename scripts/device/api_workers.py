"""app.py on the lent machine for the many-process run: `reportrag api --workers N` on the port asked for."""
import os
import sys

port = sys.argv[sys.argv.index("--port") + 1]
os.execv(sys.executable, [sys.executable, "-m", "reportrag.skins.cli", "api", "--port", port,
                          "--workers", os.environ.get("WORKERS", "6")])
