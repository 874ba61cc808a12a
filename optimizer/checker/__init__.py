"""The independent checker: verifies a plan from the raw input tables alone.

Nothing in this package imports the model builder, the lane graph code
(:mod:`optimizer.links`), :mod:`optimizer.geo` or the solvers, so a bug there
cannot hide itself (``tests/test_checker.py`` enforces this for every module).
"""

from optimizer.checker.core import CheckReport, check, fmt_num

__all__ = ["CheckReport", "check", "fmt_num"]
