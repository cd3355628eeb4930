"""JSON-lines files users hand us (question sets, batches): every bad line is a one-line error naming file:line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from reportrag.core.errors import ReportragError


def read_rows(path: Path, row: Callable[[dict, int], dict], expected: str, error: type[ReportragError]) -> list[dict]:
    """``row(object, line_number)`` for each non-blank line; it raises KeyError/TypeError/ValueError when the
    object lacks what ``expected`` describes."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise error(f"{path}: cannot be read ({e}); give a UTF-8 JSON-lines file") from e
    rows = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(row(json.loads(line), n))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise error(f"{path}:{n}: expected {expected}") from None
    return rows
