"""Citation lookup over many reports: folding every report up front against folding on demand.

    .venv/bin/python -m reportrag.eval.cite_scale_bench [--variants 100] [--shared]

The corpus: the two bundled reports' stored records (``make index``) and ``variants - 1`` copies of each whose
letters and digits are permuted, each copy its own way (the same lengths, offsets, paragraphs and passages, but
text that no other copy holds), so a quote from a bundled report stands in one report only, as in a
real collection. With ``--shared`` the copies keep the text (only their ids differ), so every quote stands in every
copy: the boilerplate a collection repeats from report to report (standard paragraphs of concluding observations,
a treaty article quoted by every State), at its most. Each mode runs in a fresh process: building the lookup
(``Citations``), then a verbatim quote, a quote with one figure changed (the closest text), a quote from no report,
an anchor and a passage id, each timed; the resident memory the lookup added; and a digest of each answer, compared
across the modes. Writes
eval/results/cite_scale.json (``--shared``: cite_scale_shared.json) and its section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

from reportrag.eval.bench.measure import rss_mib
from reportrag.eval.markdown_sections import replace_section

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = {False: ("cite-scale", "cite_scale.json"), True: ("cite-scale-shared", "cite_scale_shared.json")}
# mode → (FOLDED_KEPT, whether the keyword index chooses where to seek the closest text, as the Service has it)
MODES = {"fold every report up front": (10**9, False), "fold on demand, reports read to choose": (None, False),
         "fold on demand, the keyword index chooses (served)": (None, True)}


def _shift(k: int):
    """Copy ``k``'s letters and digits: a permutation of each, its own (seeded by k), the same lengths."""
    import random

    rng = random.Random(k)
    lower, digits = list("abcdefghijklmnopqrstuvwxyz"), list("0123456789")
    rng.shuffle(lower)
    rng.shuffle(digits)
    table = str.maketrans("abcdefghijklmnopqrstuvwxyz" + "abcdefghijklmnopqrstuvwxyz".upper() + "0123456789",
                          "".join(lower) + "".join(lower).upper() + "".join(digits))
    return lambda text: text.translate(table)


def copy_report(document, passages, k: int, shared: bool):
    """Copy ``k`` of a report (k = 0: the report itself): new ids, every text shifted alike (``shared``: kept)."""
    if k == 0:
        return document, passages
    shift = (lambda text: text) if shared else _shift(k)
    doc_id, original = f"{document.doc_id}-v{k:03d}", document.doc_id
    with_id = lambda x, **kw: dataclasses.replace(x, doc_id=doc_id, **kw)  # noqa: E731
    document = dataclasses.replace(
        document, info=dataclasses.replace(document.info, doc_id=doc_id), text=shift(document.text),
        source_text=shift(document.source_text), sections=tuple(with_id(s) for s in document.sections),
        paragraphs=tuple(with_id(p, text=shift(p.text)) for p in document.paragraphs),
        footnotes=tuple(with_id(f, text=shift(f.text)) for f in document.footnotes))
    renamed = lambda pid: doc_id + pid[len(original):] if pid else pid  # noqa: E731
    passages = [with_id(p, passage_id=renamed(p.passage_id), duplicate_of=renamed(p.duplicate_of), text=shift(p.text))
                for p in passages]
    return document, passages



def _job(index_dir: Path, variants: int, mode: list, shared: bool) -> dict:
    from reportrag.answers import citations as cite
    from reportrag.answers.citations import places
    from reportrag.index import document_store
    from reportrag.index.keyword import KeywordScorer
    from reportrag.retrieval.corpus import Corpus

    documents, passages = {}, []
    for doc_id in document_store.doc_ids(index_dir):
        document, ps = document_store.load(index_dir, doc_id)
        for k in range(variants):
            copy, copied = copy_report(document, ps, k, shared)
            documents[copy.doc_id] = copy
            passages += copied
    corpus = Corpus(dict(sorted(documents.items())), passages)
    kept, by_keyword = mode
    if kept is not None:
        places.FOLDED_KEPT = kept
    keyword = KeywordScorer.over([p.text for p in passages]).scores if by_keyword else None  # not timed
    before, started = rss_mib(), time.perf_counter()
    view = cite.Citations(corpus, keyword=keyword)
    built = time.perf_counter() - started
    cedaw = documents["cedaw"]
    sentence = next(cedaw.text[s.start:s.end] for p in passages if p.doc_id == "cedaw" for s in p.sentences
                    if 120 < s.end - s.start < 300 and any(c.isdigit() for c in cedaw.text[s.start:s.end]))
    digit = next(i for i, c in enumerate(sentence) if c.isdigit())
    changed = sentence[:digit] + str((int(sentence[digit]) + 1) % 10) + sentence[digit + 1:]
    asks = {"verbatim quote": lambda: view.find_quote(sentence),
            "quote with a figure changed": lambda: view.find_quote(changed),
            "quote from no report": lambda: view.find_quote(
                "The migratory patterns of arctic terns span both poles and cover seventy thousand kilometres."),
            "anchor": lambda: view.lookup(view.find_quote(sentence).places[0].anchor),
            "passage id": lambda: view.lookup(next(p.passage_id for p in passages if p.doc_id == "cedaw"))}
    timings, digests, verdicts = {}, {}, {}
    for name, ask in asks.items():
        started = time.perf_counter()
        answer = ask()
        timings[name] = time.perf_counter() - started
        digests[name] = hashlib.sha256(json.dumps(answer.to_json(), sort_keys=True).encode()).hexdigest()
        verdicts[name] = answer.verdict if hasattr(answer, "verdict") else answer.kind
    return {"reports": len(documents), "passages": len(passages), "build_s": built, "lookups_s": timings,
            "rss_added_mib": rss_mib() - before, "folded": len(view.reports._kept), "digests": digests,
            "verdicts": verdicts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reportrag.eval.cite_scale_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=100, help="copies of each bundled report, the report included")
    parser.add_argument("--shared", action="store_true", help="copies keep the text: every quote stands in every copy")
    parser.add_argument("--index-dir", type=Path, default=ROOT / "data" / "index")
    parser.add_argument("--job", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.job is not None:
        print(json.dumps(_job(args.index_dir, args.variants, json.loads(args.job), args.shared)))
        return 0
    results = {}
    for mode, kept in MODES.items():  # kept: the job's mode
        done = subprocess.run([sys.executable, "-m", "reportrag.eval.cite_scale_bench", "--variants", str(args.variants),
                               "--index-dir", str(args.index_dir), "--job", json.dumps(kept),
                               *(["--shared"] if args.shared else [])],
                              capture_output=True, text=True, check=True)
        results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{mode}: {results[mode]}", file=sys.stderr)
    first = next(iter(results.values()))["digests"]
    differ = {mode: [ask for ask, digest in r["digests"].items() if digest != first[ask]] for mode, r in results.items()}
    same = not any(differ.values())
    commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    out = {"variants": args.variants, "shared": args.shared, "commit": commit, "date": time.strftime("%Y-%m-%d"),
           "same_answers": same, "answers_differ": {m: asks for m, asks in differ.items() if asks},
           "machine": f"{platform.processor() or platform.machine()}, Python {platform.python_version()}",
           "modes": results}
    section, name = SECTIONS[args.shared]
    (ROOT / "eval" / "results" / name).write_text(json.dumps(out, indent=1) + "\n")
    bench = ROOT / "BENCHMARKS.md"
    start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    text = bench.read_text()
    if start not in text:  # a new section goes after the other citation one
        after = f"<!-- {SECTIONS[False][0]}:end -->"
        text = text.replace(after, f"{after}\n\n{start}\n{end}")
    bench.write_text(replace_section(text, start, end, _render(out, start, end)))
    print(f"written: eval/results/{name}, BENCHMARKS.md", file=sys.stderr)
    verdicts_agree = all(r["verdicts"] == next(iter(results.values()))["verdicts"] for r in results.values())
    return 0 if verdicts_agree else 1


def _render(out: dict, start: str, end: str) -> str:
    modes = out["modes"]
    first = next(iter(modes.values()))
    asks = list(first["lookups_s"])
    shared = out.get("shared", False)
    title, flag = (" that share their text", " --shared") if shared else ("", "")
    copies = ("keeping its text under new ids, so every quote stands in every copy of its report" if shared else
              "with their letters and digits permuted, each copy its own way (same lengths and structure, text no "
              "other copy holds)")
    rows = [f"| {mode} | {r['build_s']:.2f} | " + " | ".join(f"{r['lookups_s'][a]:.2f}" for a in asks)
            + f" | {r['rss_added_mib']:,.0f} | {r['folded']} |" for mode, r in modes.items()]
    return "\n".join([
        start, "", f"## Citation lookup over many reports{title} (`eval/cite_scale_bench.py`)", "",
        f"Written by `python -m reportrag.eval.cite_scale_bench --variants {out['variants']}{flag}` on {out['date']}, "
        f"commit `{out['commit']}`; raw figures in `eval/results/{SECTIONS[shared][1]}`. {first['reports']:,} reports "
        f"({first['passages']:,} passages): the two bundled reports and {out['variants'] - 1} copies of each {copies}. "
        "Each mode in a fresh process; seconds, then the resident memory the lookup added and the reports it holds "
        "folded.", "",
        "| mode | build the lookup, s | " + " | ".join(f"{a}, s" for a in asks) + " | memory added, MiB | folded |",
        "|---|---|" + "---|" * len(asks) + "---|---|", *rows, "",
        f"Same answers in every mode (every lookup's JSON): **{'yes' if out['same_answers'] else 'NO'}**"
        + "".join(f"; *{mode}* answers {', '.join(asks)} otherwise, with the same verdict"
                  f" ({', '.join(modes[mode]['verdicts'][a] for a in asks)})" if all(
                      modes[mode]["verdicts"][a] == first["verdicts"][a] for a in asks) else f"; *{mode}* answers "
                  f"{', '.join(asks)} with another verdict" for mode, asks in out.get("answers_differ", {}).items())
        + ". On demand, "
        "where a text stands verbatim is found without folding any report: in the reports whose raw text holds its "
        "longest run of letters and digits followed by its other runs in order, only the text around each such "
        "place is folded. A report is folded whole only when a lookup needs all of it (an anchor's sentences, the "
        "closest text to a quote), and the 64 used last are kept. Where to seek the closest text: the reports of "
        "the 16 passages the keyword index scores best for the quote (as the server does; the index is built before "
        "the clock starts), or, without an index, the 32 reports holding most of its eight longest words, read "
        "from end to end; one report per distinct text either way. A corpus of up to 64 reports is folded whole "
        "when the lookup is built, and searched whole.", "", end])


if __name__ == "__main__":
    raise SystemExit(main())
