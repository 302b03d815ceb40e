"""Benchmarks: each prints one JSON object per line with a same-run baseline and a ratio."""
