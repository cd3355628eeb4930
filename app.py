"""The reportrag web app and HTTP API: ``python app.py [--port N] [--host H] [--allow-uploads]``.

A script, not an installed module: the app itself is ``reportrag.skins.web``.
"""

import time

STARTED = time.perf_counter()  # start-up is reported from here: the heavy imports below count

import sys  # noqa: E402

from reportrag.skins.web import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(started=STARTED))
