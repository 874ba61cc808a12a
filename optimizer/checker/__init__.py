"""The independent checker: verifies a plan from the raw input tables alone.

Nothing in this package imports the model builder, the lane graph code
(:mod:`optimizer.links`), :mod:`optimizer.geo`, the stock formulas
(:mod:`optimizer.stock`), the solvers or the solve strategies, and nothing reads
the network's cached ``graph``, ``link_table``, ``distance_km`` or
``demand_matrix``: the checker derives its own link set and distances
(:mod:`optimizer.checker.linkset`), so a bug on the model side cannot hide
itself (``tests/test_checker.py`` enforces this for every module).
"""

from optimizer.checker.core import CheckReport, check, fmt_num

__all__ = ["CheckReport", "check", "fmt_num"]
