"""Benchmarks of the warehouse network optimiser: ``python -m benchmarks run [SUITE ...]``.

See ``benchmarks/README.md`` for the suites, the columns and how memory and time are measured.
"""
