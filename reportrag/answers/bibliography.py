"""The reports an answer cites, as a reference manager takes them: CSL-JSON (Zotero, Mendeley, pandoc) or BibTeX.

One entry per cited report, built from what the manifest says of it (title, symbol, date, publisher, address,
language); a user's own report gives what it has: its title at least. The entry's note lists where the answer
cites it ("Cited: para. 180 (Article 5 (a))"): a reference manager keeps one entry per report, so the places go there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from reportrag.core.records import Answer, Place, ReportInfo, print_label


def cited(answer: Answer, reports: Mapping[str, ReportInfo]) -> list[ReportInfo]:
    """The reports ``answer`` cites, in order of first citation (a report not in ``reports``: its title only)."""
    out: dict[str, ReportInfo] = {}
    for c in answer.citations:
        p = c.place
        if p.doc_id not in out:
            out[p.doc_id] = reports.get(p.doc_id) or ReportInfo(p.doc_id, p.doc_title, p.doc_title, "", "", "", "", "",
                                                                symbol=p.symbol)
    return list(out.values())


def locator(place: Place) -> str:
    """Where in its report a citation stands, without the report's name: "para. 180 (Article 5 (a))",
    "sec. VII.A, p. 19, para. 127 (counted)"."""
    return print_label("", place.section_label, place.paragraph, page=place.page,
                       numbered=place.numbered).removeprefix(", ")


def cited_at(answer: Answer) -> dict[str, list[str]]:
    """Report id → the places ``answer`` cites in it (``locator``), in order, each once."""
    out: dict[str, list[str]] = {}
    for c in answer.citations:
        places = out.setdefault(c.place.doc_id, [])
        if (where := locator(c.place)) not in places:
            places.append(where)
    return out


def csl_item(info: ReportInfo, places: Sequence[str] = ()) -> dict:
    """One CSL-JSON item of type "report"; fields the report lacks are left out, never guessed."""
    item = {"id": info.doc_id, "type": "report", "title": info.title, "number": info.symbol,
            "publisher": info.publisher or info.issuer, "URL": info.source_url, "language": info.language}
    year = re.match(r"(\d{4})(?:-(\d\d))?(?:-(\d\d))?", info.date or "")
    if year:
        item["issued"] = {"date-parts": [[int(g) for g in year.groups() if g]]}
    notes = [f"Responds to {info.answers}"] if info.answers else []
    if places:
        notes.append("Cited: " + "; ".join(places))
    item["note"] = ". ".join(notes)
    return {k: v for k, v in item.items() if v}


def to_csl_json(reports: list[ReportInfo], places: Mapping[str, Sequence[str]] | None = None) -> str:
    """``places``: report id → where it is cited (``cited_at``), for each entry's note."""
    return json.dumps([csl_item(r, (places or {}).get(r.doc_id, ())) for r in reports], ensure_ascii=False,
                      indent=2) + "\n"


def _bib(value: str) -> str:
    """A BibTeX field value: braces balanced by dropping stray ones, specials escaped."""
    return re.sub(r"([&%$#_])", r"\\\1", value.replace("{", "").replace("}", ""))


def bibtex_entry(info: ReportInfo, places: Sequence[str] = ()) -> str:
    item = csl_item(info, places)
    key = re.sub(r"[^A-Za-z0-9]+", "", info.symbol or info.doc_id) or "report"
    fields = {"title": "{" + _bib(info.title) + "}", "number": item.get("number"),
              "institution": item.get("publisher"), "year": (item.get("issued") or {}).get("date-parts", [[None]])[0][0],
              "url": item.get("URL"), "language": item.get("language"), "note": item.get("note")}
    body = ",\n".join(f"  {k} = {{{v if k in ('title', 'url') else _bib(str(v))}}}" for k, v in fields.items() if v)
    return f"@techreport{{{key},\n{body}\n}}\n"


def to_bibtex(reports: list[ReportInfo], places: Mapping[str, Sequence[str]] | None = None) -> str:
    return "\n".join(bibtex_entry(r, (places or {}).get(r.doc_id, ())) for r in reports)
