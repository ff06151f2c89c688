"""Benchmarks of arxiv-digest at scale, offline: run them all with `python -m bench` (see docs/performance.md)."""
