"""The pooled inventory model's cutting-plane loop (see :mod:`optimizer.model.pooled`).

Solve the MIP, compare the model's stock with the exact square roots at the
incumbent, add cuts tight at the incumbent where the model is low, and re-solve
warm-started, until the holding cost's relative approximation error is below
``rel_tol``.  Every cut is valid, so each round's MIP bound is a lower bound of
the true optimum.  Each round works on a new model (:meth:`PooledInventory.refine`):
the model passed in is never changed, so it can be solved again with the same result.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from optimizer import progress
from optimizer.model.linear import LinearModel
from optimizer.model.pooled import PooledInventory
from optimizer.solvers import interrupt
from optimizer.solvers.base import SolverResult, Status, Termination, relative_gap


@dataclass(frozen=True)
class PooledSolve:
    """Outcome of :func:`solve_pooled`.

    Attributes:
        result: The last round's solver result (its objective is the model's, with approximated stock).
        x: The best (rounded) plan over the rounds (lowest exact objective), ``None`` without a plan.
        rounds: Number of MIP solves.
        estimate: The model's holding cost at ``x``, currency per period.
        cycle: Exact cycle-stock holding cost at ``x``, currency per period.
        safety: Exact safety-stock holding cost at ``x``, currency per period.
        error: Relative approximation error ``|exact - estimate| / exact`` of the holding cost at ``x``.
        objective: True total cost at ``x`` (model objective with the holding estimate
            replaced by the exact holding cost), currency per period.
        bound: Best MIP bound over the rounds: a valid lower bound of the true optimum (never
            clipped to ``objective``; above it only on a numerical or modelling error).
        gap: Relative gap between ``objective`` and ``bound``.
        costs: Cost breakdown at ``x`` with the exact holding cost, currency per period.
        n_cuts: Cuts in the final model.
        solve_seconds: Total solver time over the rounds.
        model: The final model (the input with every cut of the loop).
        interrupted: The loop stopped on an interrupt request (see :mod:`optimizer.solvers.interrupt`).
        converged: The last round, solved with ``solve_fn``, needed no more cuts: its plan's
            holding cost is within ``rel_tol`` of the exact cost.
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
    model: PooledInventory | None = None
    interrupted: bool = False
    converged: bool = False

    @property
    def status(self) -> Status:
        """``optimal``, ``feasible`` or the last round's status when no round found a plan.

        ``optimal`` needs the final round proven optimal (the solvers' gap, see
        :func:`optimizer.solvers.base.classify`) and the loop converged (the holding cost
        approximated within its tolerance); :func:`optimizer.api.solve` also checks the gap
        of the exact objective against the bound.
        """
        if self.x is None:
            return self.result.status
        return Status.OPTIMAL if self.converged and self.result.status is Status.OPTIMAL else Status.FEASIBLE


def solve_pooled(pooled: PooledInventory, solve_fn: Callable[[LinearModel], SolverResult], *,
                 rel_tol: float = 1e-4, max_rounds: int = 30,
                 rough_fn: Callable[[LinearModel], SolverResult] | None = None) -> PooledSolve:
    """Cutting-plane loop: re-solve with cuts until the holding cost is exact within ``rel_tol``.

    Args:
        pooled: The model, from :func:`optimizer.model.pooled.add_pooled_inventory` (unchanged).
        solve_fn: Solves a :class:`LinearModel`, e.g.
            ``lambda lp: get_solver("highs").solve(lp, SolveOptions())``.
        rel_tol: Stop when ``|exact - estimate| <= rel_tol * exact`` for the holding cost.
        max_rounds: Most MIP solves.
        rough_fn: Optional faster solve (e.g. with a looser MIP gap) for the first rounds,
            which only need good incumbents to place cuts; once its plans are costed within
            ``rel_tol`` (or it adds no cut) the loop continues with ``solve_fn``, whose
            bound is the one reported.

    Returns:
        The best plan of every round (lowest exact objective), its exact holding costs, the
        approximation error there and a valid bound.  A round without a plan (time limit,
        interrupt) ends the loop but keeps the plans found before it.
    """
    best_bound = -np.inf
    seconds = 0.0
    raw: SolverResult | None = None
    rough = rough_fn is not None
    model = pooled
    lp = pooled.built.lp
    best: dict[str, object] | None = None
    converged = False
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        if interrupt.requested() and raw is not None:
            break
        known = None if best is None else float(best["objective"])  # type: ignore[arg-type]
        with progress.known(objective=known, bound=best_bound, relaxation=True):  # the MIP only approximates stock
            raw = (rough_fn if rough and rough_fn is not None else solve_fn)(lp)
        seconds += raw.solve_seconds
        if raw.bound is not None and np.isfinite(raw.bound):
            best_bound = max(best_bound, raw.bound)
        if not raw.status.has_plan or raw.x is None:
            if rough and raw.termination is not Termination.INTERRUPTED:
                rough = False
                continue
            break
        x = model.built.round_solution(raw.x)
        candidate = _evaluate(model, x)
        if best is None or _no_worse(candidate["objective"], best["objective"]):  # type: ignore[arg-type]
            best = candidate  # ties go to the later round, whose holding cost the model knows better
        progress.emit("pooled-cuts", objective=best["objective"], bound=best_bound,  # type: ignore[arg-type]
                      message=f"round {rounds}: {model.n_cuts} cuts, holding-cost error {candidate['error']:.2%}")
        if raw.termination is Termination.INTERRUPTED or rounds == max_rounds:
            break
        refined = model.refine(x) if candidate["error"] > rel_tol else model  # type: ignore[operator]
        if rough:
            rough = not (refined is model)  # the final rounds prove the plan with the exact solve
        elif refined is model:
            converged = True
            break
        model = refined
        lp = replace(model.built.lp, warm_start=model.lift(x))
    assert raw is not None
    bound = float(best_bound) if np.isfinite(best_bound) else None
    common = dict(result=raw, rounds=rounds, n_cuts=model.n_cuts, solve_seconds=seconds, model=model, bound=bound,
                  interrupted=raw.termination is Termination.INTERRUPTED or interrupt.requested())
    if best is None:
        return PooledSolve(x=None, **common)  # type: ignore[arg-type]
    objective = float(best["objective"])  # type: ignore[arg-type]
    return PooledSolve(x=best["x"], estimate=best["estimate"], cycle=best["cycle"],  # type: ignore[arg-type]
                       safety=best["safety"], error=best["error"], objective=objective,  # type: ignore[arg-type]
                       gap=relative_gap(objective, bound), costs=best["costs"],  # type: ignore[arg-type]
                       converged=converged, **common)  # type: ignore[arg-type]


def _evaluate(model: PooledInventory, x: np.ndarray) -> dict[str, object]:
    """A plan's exact holding costs, the model's estimate, its error and its true cost breakdown."""
    estimate = model.estimate(x)
    cycle, safety = model.exact_costs(x)
    exact = cycle + safety
    built = model.built
    costs = {name: float(vector @ x + built.cost_offsets.get(name, 0.0)) for name, vector in built.cost_vectors.items()}
    costs["holding"] = exact
    return {"x": x, "estimate": estimate, "cycle": cycle, "safety": safety, "error": _relative_error(exact, estimate),
            "costs": costs, "objective": float(sum(costs.values()))}


def _no_worse(objective: float, best: float) -> bool:
    """Whether ``objective`` is at most ``best`` (within a relative 1e-12: a tie)."""
    return objective <= best + 1e-12 * abs(best)


def _relative_error(exact: float, estimate: float) -> float:
    """``|exact - estimate| / exact`` (0 when both are 0, inf when only the estimate is nonzero)."""
    diff = abs(exact - estimate)
    if exact > 0:
        return diff / exact
    return 0.0 if diff == 0 else float("inf")
