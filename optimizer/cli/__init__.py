"""The ``optimizer`` command line: a thin layer over :mod:`optimizer.api` (one module per command group)."""

from optimizer.cli.main import main

__all__ = ["main"]
