"""The ``reportrag`` command: a thin skin over ``reportrag.corpus``; library errors become one-line messages here."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

from reportrag import corpus
from reportrag.errors import ReportragError
from reportrag.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    settings = Settings.from_env(index_dir=args.index_dir)
    try:
        return args.run(settings, args)
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
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="ingest the bundled reports, or the given files and folders")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    p.set_defaults(run=_ingest)

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
    return parser


def _ingest(settings: Settings, args) -> int:
    started = time.perf_counter()
    result = corpus.ingest_reports(settings, args.paths or None, progress=lambda line: print(line, file=sys.stderr))
    for line in result.failed:
        print(f"error: {line}", file=sys.stderr)
    seconds = time.perf_counter() - started
    print(
        f"ingested {len(result.added)}, unchanged {len(result.unchanged)}, failed {len(result.failed)} "
        f"in {seconds:.1f}s; index: {settings.index_dir}"
    )
    return 1 if result.failed else 0


def _docs(settings: Settings, args) -> int:
    docs = corpus.list_documents(settings)
    if args.json:
        _print_json(docs)
    else:
        for d in docs:
            print(f"{d['doc_id']:<12} {d['paragraphs']:>4} ¶  {d['passages']:>4} passages  {d['title']}")
    return 0


def _doc(settings: Settings, args) -> int:
    document = corpus.get_document(settings, args.doc_id)
    if args.json:
        data = asdict(document)
        _print_json({**data.pop("info"), **data})
    else:
        print(f"{document.info.title} ({document.doc_id})")
        for s in document.sections:
            print(f"{'  ' * (s.level - 1)}{s.label}: {s.title[:90]}")
    return 0


def _passages(settings: Settings, args) -> int:
    passages = corpus.get_passages(settings, args.doc_id)
    if args.json:
        _print_json([{**asdict(p), "paragraph": p.paragraph} for p in passages])
    else:
        for p in passages:
            print(f"{p.passage_id}  {p.section_label:<28} ¶{p.paragraph:<4} {p.text[:80]}")
    return 0


def _print_json(data) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    sys.exit(main())
