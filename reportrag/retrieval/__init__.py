"""Retrieval: the corpus held in memory, the hybrid scorer, filters and re-ranking."""
