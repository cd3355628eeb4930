"""Answers and citations: extractive answers, evidence checks, generation, citation lookup, quotes, export."""
