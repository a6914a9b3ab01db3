"""Benchmarks for steppe: `python -m bench.run` (see bench/run.py)."""
