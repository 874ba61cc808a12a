"""Solver backends and their registry.

Every backend reads the same :class:`optimizer.model.linear.LinearModel` and
returns a :class:`optimizer.solvers.base.SolverResult`:

* ``highs`` -- HiGHS through ``highspy`` (the default);
* ``cbc`` -- the CBC binary shipped with PuLP, fed a free-MPS file;
* ``scip`` -- SCIP through OR-Tools' ``model_builder``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from optimizer.errors import SolverUnavailableError

if TYPE_CHECKING:
    from optimizer.solvers.base import Solver

#: Backend name -> (module, class); modules are imported on first use, so that naming the
#: backends (the command line's ``--solver`` choices) costs nothing.
BACKENDS: dict[str, tuple[str, str]] = {
    "highs": ("optimizer.solvers.highs", "HighsSolver"),
    "cbc": ("optimizer.solvers.cbc", "CbcSolver"),
    "scip": ("optimizer.solvers.scip", "ScipSolver"),
}

#: Backend names, in registry order (installed or not; see :func:`available_solvers`).
SOLVER_NAMES: tuple[str, ...] = tuple(BACKENDS)

__all__ = ["SOLVERS", "SOLVER_NAMES", "available_solvers", "get_solver", "solver_class"]


def solver_class(name: str) -> type[Solver]:
    """The backend class registered under ``name`` (imports its module)."""
    module, cls = BACKENDS[name]
    return getattr(importlib.import_module(module), cls)


def __getattr__(name: str) -> Any:
    """``SOLVERS``: backend classes by name, imported on first use."""
    if name == "SOLVERS":
        return {key: solver_class(key) for key in BACKENDS}
    raise AttributeError(f"module 'optimizer.solvers' has no attribute {name!r}")


def available_solvers() -> list[str]:
    """Names of the backends that can run on this machine, in registry order.

    Returns:
        Names such as ``["highs", "cbc", "scip"]``.
    """
    return [name for name in BACKENDS if solver_class(name).available()]


def get_solver(name: str) -> Solver:
    """Return a ready-to-use backend by name.

    Args:
        name: Backend name (case-insensitive), e.g. ``"highs"``.

    Returns:
        A new instance of the backend.

    Raises:
        SolverUnavailableError: If the name is unknown or the backend cannot run here.
    """
    key = name.strip().lower()
    cls = solver_class(key) if key in BACKENDS else None
    if cls is not None and cls.available():
        return cls()
    installed = ", ".join(available_solvers()) or "none"
    if cls is None:
        raise SolverUnavailableError(
            f"Unknown solver '{name}'. Known solvers: {', '.join(BACKENDS)}; available here: {installed}.")
    raise SolverUnavailableError(
        f"Solver '{key}' is not available on this machine (its package or binary is missing). "
        f"Available here: {installed}.")
