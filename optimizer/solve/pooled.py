"""The pooled inventory model's cutting-plane loop (see :mod:`optimizer.model.pooled`).

Solve the MIP, compare the model's stock with the exact square roots at the
incumbent, add cuts tight at the incumbent where the model is low, and re-solve
warm-started, until the holding cost's relative approximation error is below
``rel_tol``.  Every cut is valid, so each round's MIP bound is a lower bound of
the true optimum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from optimizer.model.build import BuiltModel
from optimizer.model.linear import LinearModel
from optimizer.model.pooled import PooledInventory
from optimizer.solvers.base import SolverResult, relative_gap


@dataclass
class PooledSolve:
    """Outcome of :func:`solve_pooled`.

    Attributes:
        result: The last round's solver result (its objective is the model's, with approximated stock).
        x: The final (rounded) solution, ``None`` without a plan.
        rounds: Number of MIP solves.
        estimate: The model's holding cost at ``x``, currency per period.
        cycle: Exact cycle-stock holding cost at ``x``, currency per period.
        safety: Exact safety-stock holding cost at ``x``, currency per period.
        error: Relative approximation error ``|exact - estimate| / exact`` of the holding cost.
        objective: True total cost at ``x`` (model objective with the holding estimate
            replaced by the exact holding cost), currency per period.
        bound: Best MIP bound over the rounds: a valid lower bound of the true optimum.
        gap: Relative gap between ``objective`` and ``bound``.
        costs: Cost breakdown at ``x`` with the exact holding cost, currency per period.
        n_cuts: Tangent cuts in the final model.
        solve_seconds: Total solver time over the rounds.
    """

    result: SolverResult
    x: np.ndarray | None
    rounds: int
    estimate: float = float("nan")
    cycle: float = float("nan")
    safety: float = float("nan")
    error: float = float("nan")
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    costs: dict[str, float] = field(default_factory=dict)
    n_cuts: int = 0
    solve_seconds: float = 0.0



def solve_pooled(built: BuiltModel, pooled: PooledInventory, solve_fn: Callable[[LinearModel], SolverResult], *,
                 rel_tol: float = 1e-4, max_rounds: int = 30,
                 rough_fn: Callable[[LinearModel], SolverResult] | None = None) -> PooledSolve:
    """Cutting-plane loop: re-solve with tangent cuts until the holding cost is exact within ``rel_tol``.

    Args:
        built: The model, with :func:`add_pooled_inventory` applied.
        pooled: Its inventory columns.
        solve_fn: Solves a :class:`LinearModel`, e.g.
            ``lambda lp: get_solver("highs").solve(lp, SolveOptions())``.
        rel_tol: Stop when ``|exact - estimate| <= rel_tol * exact`` for the holding cost.
        max_rounds: Most MIP solves.
        rough_fn: Optional faster solve (e.g. with a looser MIP gap) for the first rounds,
            which only need good incumbents to place cuts; once its plans are costed within
            ``rel_tol`` (or it adds no cut) the loop continues with ``solve_fn``, whose plan
            and bound are the ones reported.

    Returns:
        The final plan vector, its exact holding costs, the approximation error and a valid bound.
    """
    best_bound = -np.inf
    seconds = 0.0
    raw: SolverResult | None = None
    rough = rough_fn is not None
    for rounds in range(1, max_rounds + 1):
        raw = (rough_fn if rough and rough_fn is not None else solve_fn)(built.lp)
        seconds += raw.solve_seconds
        if raw.bound is not None and np.isfinite(raw.bound):
            best_bound = max(best_bound, raw.bound)
        if rough and (not raw.status.has_plan or raw.x is None):
            rough = False
            continue
        if not raw.status.has_plan or raw.x is None:
            return PooledSolve(result=raw, x=None, rounds=rounds, n_cuts=pooled.n_cuts, solve_seconds=seconds,
                               bound=best_bound if np.isfinite(best_bound) else None)
        x = built.round_solution(raw.x)
        estimate = pooled.estimate(x)
        cycle, safety = pooled.exact_costs(x)
        exact = cycle + safety
        error = _relative_error(exact, estimate)
        if rounds == max_rounds:
            break
        if rough and (error <= rel_tol or pooled.add_cuts(x) == 0):
            rough = False  # the final rounds prove the plan with the exact solve
        elif not rough and (error <= rel_tol or pooled.add_cuts(x) == 0):
            break
        built.lp.warm_start = pooled.lift(x)
    assert raw is not None
    costs = {name: float(vector @ x + built.cost_offsets.get(name, 0.0)) for name, vector in built.cost_vectors.items()}
    costs["holding"] = exact
    objective = float(sum(costs.values()))
    bound = min(best_bound, objective) if np.isfinite(best_bound) else None
    return PooledSolve(result=raw, x=x, rounds=rounds, estimate=estimate, cycle=cycle, safety=safety, error=error,
                       objective=objective, bound=bound, gap=relative_gap(objective, bound), costs=costs,
                       n_cuts=pooled.n_cuts, solve_seconds=seconds)


def _relative_error(exact: float, estimate: float) -> float:
    """``|exact - estimate| / exact`` (0 when both are 0, inf when only the estimate is nonzero)."""
    diff = abs(exact - estimate)
    if exact > 0:
        return diff / exact
    return 0.0 if diff == 0 else float("inf")
