"""Warehouse network optimisation engine.

Typical use::

    import optimizer
    net = optimizer.load("scenarios/demo")
    result = optimizer.solve(net, solver="highs", time_limit=60)
    print(result.status, result.objective, result.open_sites)
    result.flows  # tidy table: from, to, product, quantity

The public names below are imported on first use (PEP 562), so that ``import optimizer``
and the command line's ``--help`` stay fast; ``from optimizer import solve`` works as usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from optimizer import _compat

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_PUBLIC = {
    "FORMATS": "optimizer.api", "build": "optimizer.api", "load": "optimizer.api", "solve": "optimizer.api",
    "validate": "optimizer.api",
    "InputError": "optimizer.errors", "OptimizerError": "optimizer.errors", "Problem": "optimizer.errors",
    "Network": "optimizer.network", "Settings": "optimizer.network", "SolverSettings": "optimizer.network",
    "Result": "optimizer.results",
    "Status": "optimizer.solvers.base", "Termination": "optimizer.solvers.base",
}

__all__ = sorted([*_PUBLIC, "__version__"])

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from optimizer.api import FORMATS, build, load, solve, validate
    from optimizer.errors import InputError, OptimizerError, Problem
    from optimizer.network import Network, Settings, SolverSettings
    from optimizer.results import Result
    from optimizer.solvers.base import Status, Termination


def __getattr__(name: str) -> Any:
    """Import a public name on first use."""
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'optimizer' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


_compat.install()
