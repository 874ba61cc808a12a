"""The benchmark suites.

Each suite is a function ``run(options) -> SuiteResult`` registered in :data:`SUITES` with a
one-line description.
"""

from __future__ import annotations

from typing import Callable

from benchmarks.options import Options
from benchmarks.report import SuiteResult
from benchmarks.suites import files, frontier, ladder, rebalance, routing, startup, sweep

#: Suite name -> (description, run function), in the order ``run`` without a suite name runs them.
SUITES: dict[str, tuple[str, Callable[[Options], SuiteResult]]] = {
    "orlib": ("OR-Library cap instances (37, tests/data/orlib)", files.run_orlib),
    "capabc": ("capa/capb/capc capacity variants (12, 100 x 1000, shared folder)", files.run_capabc),
    "holmberg": ("Holmberg single-source instances (71 in the shared folder, else 11 in tests/data)",
                 files.run_holmberg),
    "ladder": ("generated one-echelon networks from 50 x 1,000 to 1,000 x 20,000", ladder.run),
    "routing": ("arc-flow routing against shortest-path lanes", routing.run),
    "sweep": ("a sweep on 1 worker against N workers", sweep.run),
    "frontier": ("the demo's cost-sites frontier, every point proven (target 30 s)", frontier.run),
    "startup": ("start-up time of the command line", startup.run),
    "rebalance": ("optimizer rebalance: 200 sites x 10,000 products, and 200 x 1,000 with link capacities",
                  rebalance.run),
}
