"""The few named exceptions the library raises.

Each message says what went wrong and what to do; the CLI and HTTP edges print them as one line.
"""

from __future__ import annotations


class ReportragError(Exception):
    """Base class: a user-facing failure with an actionable message."""


class UnsupportedFile(ReportragError):
    """The file's type cannot be read."""


class UnreadableFile(ReportragError):
    """The file exists but cannot be read or decoded (binary, encrypted, corrupt, too large)."""


class EmptyDocument(ReportragError):
    """The file holds no text once read."""


class IndexNotFound(ReportragError):
    """No usable index at the configured place."""


class IndexMismatch(ReportragError):
    """The index was built by another model or format version."""


class BadQuery(ReportragError):
    """The query cannot be searched (empty, too long, …)."""


class BadDataset(ReportragError):
    """A benchmark data set is missing a file or holds a malformed line."""


class BadFilter(BadQuery):
    """A search filter (report, section, concluding observation) that matches nothing: the message names the field
    and the choices there are, so a typo never reads as "not in the reports"."""

    def __init__(self, field: str, message: str, choices: tuple[str, ...] = ()) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.choices = tuple(choices)

    def __reduce__(self):  # picklable despite the extra arguments (worker processes re-raise it)
        return type(self), (self.field, str(self).removeprefix(f"{self.field}: "), self.choices)


class ModelNotInstalled(ReportragError):
    """The chosen embedding model's files are not installed (the message names the command that installs them)."""


class ModelChecksumMismatch(ReportragError):
    """A model file does not have its pinned sha256: damaged or not the version we verified. Never loaded."""
