"""Warehouse network optimisation engine.

Typical use::

    import optimizer
    net = optimizer.load("scenarios/demo")
    result = optimizer.solve(net, solver="highs", time_limit=60)
    print(result.status, result.objective, result.open_sites)
    result.flows  # tidy table: from, to, product, quantity
"""

from optimizer import _compat
from optimizer.api import FORMATS, build, load, solve, validate
from optimizer.errors import InputError, OptimizerError, Problem
from optimizer.network import Network, Settings, SolverSettings
from optimizer.results import Result
from optimizer.solvers.base import Status, Termination

__version__ = "0.1.0"

_compat.install()

__all__ = [
    "FORMATS", "InputError", "Network", "OptimizerError", "Problem", "Result", "Settings",
    "SolverSettings", "Status", "Termination", "build", "load", "solve", "validate", "__version__",
]
