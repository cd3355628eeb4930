"""The front door: one service that every skin (CLI, HTTP API, web app, LangChain) calls."""

from reportrag.service.service import Service

__all__ = ["Service"]
