"""The HTTP API: the CLI's JSON over HTTP, from the same ``Service`` calls. Errors are JSON with a status code.

GET /api/docs · GET /api/docs/{doc_id} · GET /api/search?q=… · POST /api/ask · GET /api/cite?id=… | ?quote=…
GET /api/co · GET /api/health · the OpenAPI schema at /api/openapi.json.
"""

from __future__ import annotations

import logging
import os

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from reportrag.answers.citations import UnknownCitation
from reportrag.core.errors import BadFilter, BadQuery, IndexMismatch, IndexNotFound, ReportragError
from reportrag.core.settings import ENV_PREFIX, Settings
from reportrag.retrieval.search import MODES, Filters
from reportrag.service import Service

log = logging.getLogger("reportrag.api")

MAX_BODY_BYTES = 64 * 1024  # a question is capped at a few thousand characters; nothing legitimate is larger


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="the question, in plain words")
    doc: str | None = Field(None, description="only this report (doc id, see /api/docs)")
    section: str | None = Field(None, description='only this section or article: "Article 11", "VII.C"')
    co: str | None = Field(None, description='only passages answering this concluding-observations paragraph: "36(e)"')
    previous: str | None = Field(None, description='the question asked before: a follow-up ("And the review?") is read '
                                                   "with it (the answer's read_as says how)")


def serve(settings: Settings, overrides: dict[str, str], *, host: str | None, port: int | None, workers: int) -> int:
    """``reportrag api``: uvicorn over ``app_from_env`` in ``workers`` processes on one port (one process answers at
    most about 176 requests/s whatever the cores: BENCHMARKS.md). Each worker reads its settings from the
    environment, so the index folder and the ``--set`` overrides in force here are put there first."""
    import uvicorn

    Service(settings).searcher  # noqa: B018 — a missing or damaged index: one line here, not a trace per worker
    os.environ[f"{ENV_PREFIX}INDEX_DIR"] = str(settings.index.index_dir)
    os.environ.update({f"{ENV_PREFIX}{name.upper()}": value for name, value in overrides.items()})
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")  # as app.py: worker processes inherit it, and memory stays flat
    host, port = host or settings.server.host, port or settings.server.port
    print(f"reportrag api: {workers} worker(s) on http://{host}:{port}/api", flush=True)
    uvicorn.run("reportrag.skins.api:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="warning")
    return 0


def app_from_env() -> FastAPI:
    """The HTTP API alone over the settings in the environment (``REPORTRAG_<FIELD>``), every first-call cost paid:
    what each worker process of ``reportrag api --workers N`` builds for itself (uvicorn's app factory)."""
    service = Service(Settings.from_env())
    service.warm_up()
    return create_api(service)


def create_api(service: Service) -> FastAPI:
    api = FastAPI(title="reportrag", version="1", openapi_url="/api/openapi.json", docs_url="/api/swagger",
                  redoc_url=None, description="Search and cite long human-rights reports; every quote verbatim.")
    api.add_middleware(BodyCap)
    add_error_handlers(api)
    add_routes(api, service)
    add_tracker_route(api, service)
    add_unknown_path_answers(api)  # last: it matches every /api/ path the routes above did not
    return api


# ------------------------------------------- errors: always JSON, {"error": …, "status": …}; a bad filter adds
# "field" and "choices"


def _error(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": message, "status": status, **extra}, status_code=status)


class BodyCap:
    """A request body over MAX_BODY_BYTES is refused from its Content-Length, before it is read. Plain ASGI:
    Starlette's ``BaseHTTPMiddleware`` runs every request through extra tasks and streams, a cost that grew
    with the load (asks' tail latency under 32 clients)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            size = dict(scope["headers"]).get(b"content-length", b"").decode("latin-1")
            if size.isdigit() and int(size) > MAX_BODY_BYTES:
                message = f"request body: {int(size):,} bytes, over the {MAX_BODY_BYTES:,} limit; send a shorter question"
                await _error(413, message)(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def library_error(request: Request, e: ReportragError):
    status = 404 if isinstance(e, UnknownCitation) else 503 if isinstance(e, IndexNotFound | IndexMismatch) else 400
    if isinstance(e, BadFilter):  # the choices as data too, for a client to offer them
        return _error(status, str(e), field=e.field, choices=list(e.choices))
    return _error(status, str(e))


async def invalid_request(request: Request, e: RequestValidationError):
    first = e.errors()[0] if e.errors() else {}
    if first.get("type") == "json_invalid":
        return _error(422, f"request body: not valid JSON ({first.get('ctx', {}).get('error', 'malformed')}); "
                           'send {"question": "…"}')
    field = ".".join(str(x) for x in first.get("loc", ()) if x != "body") or "request body"
    return _error(422, f"{field}: {first.get('msg', 'invalid')}")


async def http_error(request: Request, e: StarletteHTTPException):
    return _error(e.status_code, str(e.detail))


async def unexpected_error(request: Request, e: Exception):
    log.exception("unexpected error on %s", request.url.path)  # the trace goes to the server log, not the client
    return _error(500, "internal error; the server log has the details")


def add_error_handlers(api: FastAPI) -> None:
    api.add_exception_handler(ReportragError, library_error)
    api.add_exception_handler(RequestValidationError, invalid_request)
    api.add_exception_handler(StarletteHTTPException, http_error)
    api.add_exception_handler(Exception, unexpected_error)


# ---------------------------------------------------------------- endpoints


def add_routes(api: FastAPI, service: Service) -> None:
    # The endpoints' names and docstrings are the OpenAPI schema's operation ids and descriptions.
    @api.get("/api/health")
    def health() -> dict:
        return {"status": "ok", "reports": len(service.documents()), "passages": len(service.searcher.passages),
                "model": service.searcher.embedder.name}

    @api.get("/api/docs")
    def docs() -> list[dict]:
        """The reports in the index (as ``reportrag docs --json``)."""
        return service.documents()

    @api.get("/api/docs/{doc_id}")
    def doc(doc_id: str) -> dict:
        """One report: metadata, canonical text, sections, footnotes (as ``reportrag doc ID --json``)."""
        return service.document_json(doc_id)  # an unknown id: UnknownCitation, a 404

    @api.get("/api/search")
    def search(q: str = Query(description="what to search for"), k: int = Query(10, ge=1, le=100),
               mode: str = Query(MODES[0], description=f"one of {', '.join(MODES)}"), doc: str | None = None,
               section: str | None = None, co: str | None = None) -> list[dict]:
        """Hybrid search (as ``reportrag search Q --json``)."""
        if mode not in MODES:
            raise BadQuery(f"mode: {mode!r} is not one of {', '.join(MODES)}")
        hits = service.search(q, k=k, mode=mode, filters=Filters(doc=doc, section=section, concluding_observation=co))
        return [h.to_json() for h in hits]

    @api.post("/api/ask")
    def ask(request: AskRequest) -> dict:
        """An answer quoting the reports verbatim, every quote cited (as ``reportrag ask Q --json``)."""
        filters = Filters(doc=request.doc, section=request.section, concluding_observation=request.co)
        return service.ask(request.question, filters=filters, previous=request.previous or "").to_json()

    @api.get("/api/cite")
    def cite(id: str | None = Query(None, description="a passage id, citation anchor or reference"),
             quote: str | None = Query(None, description="a pasted quote to find"), doc: str | None = None) -> dict:
        """A citation at its place, or where a quote stands (as ``reportrag cite … --json``)."""
        if (id is None) == (quote is None):
            raise BadQuery("cite: give ?id= (a passage id, anchor or reference) or ?quote= (one of them)")
        return service.cite(ident=id, quote=quote, doc=doc).to_json()


def add_tracker_route(api: FastAPI, service: Service) -> None:
    @api.get("/api/co")
    def co() -> list[dict]:
        """The concluding-observations tracker: each Committee paragraph the reports respond to, the responding
        paragraphs, the status the report states, quoted with its offsets (as ``reportrag co --json``)."""
        return [t.to_json() for t in service.co()]


def add_unknown_path_answers(api: FastAPI) -> None:
    """Without this, an unknown /api/ path would fall through to the web app mounted at "/" and get its HTML 404."""

    @api.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def unknown(request: Request, rest: str):
        methods = sorted({m for r in api.routes if getattr(r, "path", "") == f"/api/{rest}" for m in getattr(r, "methods", ())})
        if methods:
            return _error(405, f"method not allowed: /api/{rest} takes {' or '.join(methods)}, not {request.method}")
        return _error(404, f"no endpoint /api/{rest}; the schema at /api/openapi.json lists them")
