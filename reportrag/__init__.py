"""reportrag: search and answer over long human-rights reports, quoting the exact passages."""

__version__ = "0.1.0"
