"""Evaluation: metrics, the question-set runner and its results, BEIR, benchmarks and the load test."""
