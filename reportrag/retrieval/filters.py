"""What a search may return: one report, one section or article, the answers to one concluding observation."""

from __future__ import annotations

from dataclasses import dataclass

from reportrag.core.records import Passage


@dataclass(frozen=True)
class Filters:
    doc: str | None = None
    section: str | None = None  # a label prefix: "Article 11", "VII.C", "Part I"
    concluding_observation: str | None = None  # "36(e)" or "36"

    def allows(self, p: Passage) -> bool:
        if self.doc and p.doc_id != self.doc:
            return False
        if self.section and not _section_matches(p, self.section):
            return False
        if self.concluding_observation:
            wanted = self.concluding_observation.replace(" ", "")
            if not any(r == wanted or r.split("(")[0] == wanted for r in p.concluding_observations):
                return False
        return True


def _section_matches(p: Passage, wanted: str) -> bool:
    label = p.section_label
    return label == wanted or label.startswith(wanted + ",") or label.startswith(wanted + ".") or label.startswith(
        wanted + " "
    ) or any(wanted.lower() in title.lower() for title in p.section)
