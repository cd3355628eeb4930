"""The web app and the JSON API in one process: ``python app.py [--port N] [--host H] [--allow-uploads]``."""

from __future__ import annotations

import argparse
import os
import sys
import time

import gradio as gr

from reportrag.core.errors import ReportragError
from reportrag.service import Service
from reportrag.skins.api import create_api
from reportrag.skins.web.blocks import build_app
from reportrag.skins.web.page import CSS, HEAD
from reportrag.skins.web.startup import SETTINGS, STARTED


def create_server(service: Service, *, allow_uploads: bool = False):
    """The FastAPI app: the JSON API at /api, the Gradio app at /."""
    exports = service.settings.server.work_dir / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    return gr.mount_gradio_app(create_api(service), build_app(service, allow_uploads=allow_uploads), path="/",
                               css=CSS, head=HEAD, allowed_paths=[str(exports)], show_error=True, footer_links=["api"],
                               max_file_size=service.settings.ingest.max_file_bytes if allow_uploads else 1)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    server = SETTINGS.server  # REPORTRAG_HOST / _PORT / _ALLOW_UPLOADS; Gradio's own variables when ours are unset
    host = server.host if "REPORTRAG_HOST" in os.environ else os.environ.get("GRADIO_SERVER_NAME", server.host)
    port = server.port if "REPORTRAG_PORT" in os.environ else int(os.environ.get("GRADIO_SERVER_PORT", server.port))
    parser = argparse.ArgumentParser(description="Run the reportrag web app and HTTP API.")
    parser.add_argument("--host", default=host, help="interface to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--allow-uploads", action="store_true", default=server.allow_uploads,
                        help="let users add reports from the browser (off by default; or REPORTRAG_ALLOW_UPLOADS=1)")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="serve the index's shards from Ray Serve replicas on the Ray cluster at ADDRESS "
                             "(needs the [cluster] extra); this process keeps the reports, merges and answers")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, *, started: float | None = None, settings=None) -> int:
    """Serve until stopped; ``started``: when the process started (default: when this package was imported);
    ``settings``: the CLI's (``reportrag serve``), else the environment's."""
    args = parse_args(argv)
    settings = settings or SETTINGS
    import uvicorn

    if args.cluster and args.allow_uploads:
        print("error: --allow-uploads: not with --cluster; add reports with 'reportrag ingest --cluster', then restart",
              file=sys.stderr)
        return 2
    try:
        if args.cluster:
            try:
                from reportrag.cluster.serving import open_cluster_searcher  # imports Ray: only on this path
            except ImportError as e:
                print(f"error: --cluster needs Ray ({e}); install the extra: pip install -e '.[cluster]'", file=sys.stderr)
                return 1
            from reportrag.service.ingesting import make_query_embedder

            searcher = open_cluster_searcher(settings, args.cluster, embedder=make_query_embedder(settings))
            service = Service(settings, searcher=searcher)
        else:
            service = Service(settings)
        service.warm_up()  # the first question must not pay for anything left to load
    except ReportragError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    server = create_server(service, allow_uploads=args.allow_uploads)
    web = uvicorn.Server(uvicorn.Config(server, host=args.host, port=args.port, log_level="warning"))
    print(f"reportrag: ready in {time.perf_counter() - (started or STARTED):.1f}s; open http://{args.host}:{args.port}",
          flush=True)
    try:
        web.run()
    finally:
        if args.cluster:  # the shard replicas go with the server; the cluster stays up
            from reportrag.cluster.serving import shutdown

            shutdown(service.searcher)
    return 0
