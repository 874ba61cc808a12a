"""Solver backends and their registry.

Every backend reads the same :class:`optimizer.model.linear.LinearModel` and
returns a :class:`optimizer.solvers.base.SolverResult`:

* ``highs`` -- HiGHS through ``highspy`` (the default);
* ``cbc`` -- the CBC binary shipped with PuLP, fed a free-MPS file;
* ``scip`` -- SCIP through OR-Tools' ``model_builder``.
"""

from __future__ import annotations

from optimizer.errors import SolverUnavailableError
from optimizer.solvers.base import Solver
from optimizer.solvers.cbc import CbcSolver
from optimizer.solvers.highs import HighsSolver
from optimizer.solvers.scip import ScipSolver

#: Backend classes by name (installed or not; see :func:`available_solvers`).
SOLVERS: dict[str, type[Solver]] = {
    HighsSolver.name: HighsSolver,
    CbcSolver.name: CbcSolver,
    ScipSolver.name: ScipSolver,
}

__all__ = ["SOLVERS", "available_solvers", "get_solver"]


def available_solvers() -> list[str]:
    """Names of the backends that can run on this machine, in registry order.

    Returns:
        Names such as ``["highs", "cbc", "scip"]``.
    """
    return [name for name, cls in SOLVERS.items() if cls.available()]


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
    cls = SOLVERS.get(key)
    if cls is not None and cls.available():
        return cls()
    installed = ", ".join(available_solvers()) or "none"
    if cls is None:
        raise SolverUnavailableError(
            f"Unknown solver '{name}'. Known solvers: {', '.join(SOLVERS)}; available here: {installed}.")
    raise SolverUnavailableError(
        f"Solver '{key}' is not available on this machine (its package or binary is missing). "
        f"Available here: {installed}.")
