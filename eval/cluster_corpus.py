"""Small Markdown reports cut from the bundled CEDAW report, for the cluster tests and benchmark: real text, any
size, in seconds. Article k of the Convention goes to report k mod n; each keeps its first paragraphs."""

from __future__ import annotations

import re
from pathlib import Path

from reportrag.core.settings import PROJECT_ROOT

SOURCE = PROJECT_ROOT / "data" / "reports" / "cedaw-sixth-periodic-report.txt"
_ARTICLE = re.compile(r"^Article (\d+)\. (.+)$")
_MARKUP = re.compile(r"\[bookmark: [^\]]*\]|\[footnoteRef:\d+\]|\[\d+: [^\]]*\]")


def articles() -> list[tuple[str, list[str]]]:
    """(heading, paragraphs) of each article of the source report, in order."""
    out: list[tuple[str, list[str]]] = []
    for line in SOURCE.read_text(encoding="utf-8").splitlines():
        text = " ".join(_MARKUP.sub("", line).split())
        if match := _ARTICLE.match(text):
            out.append((f"Article {match[1]}. {match[2]}", []))
        elif out and len(text) > 80:  # a paragraph, not a heading or a table cell
            out[-1][1].append(text)
    return out


def write_reports(folder: Path, *, reports: int = 4, paragraphs: int = 4) -> list[Path]:
    """``reports`` Markdown files in ``folder`` with the first ``paragraphs`` paragraphs of their articles."""
    folder.mkdir(parents=True, exist_ok=True)
    parts: list[list[str]] = [[] for _ in range(reports)]
    for k, (heading, paras) in enumerate(articles()):
        parts[k % reports] += [f"## {heading}", *paras[:paragraphs]]
    paths = []
    for i, body in enumerate(parts, 1):
        path = folder / f"cedaw-part-{i}.md"
        path.write_text(f"# CEDAW sixth periodic report, part {i}\n\n" + "\n\n".join(body) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
