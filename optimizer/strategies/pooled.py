"""How the pooled inventory model is solved (see :mod:`optimizer.model.pooled`).

:func:`solve_pooled_model` is the entry point.  With HiGHS it branches on sites
(:mod:`optimizer.strategies.sites`, :class:`PooledTree`): the square-root cuts are separated at the
tree's LP solutions, and each site plan the tree reaches runs a loop of MIPs with those sites fixed.
Otherwise it runs :func:`solve_pooled`'s loop on the whole model: solve the MIP, compare the model's
stock with the exact square roots at the incumbent, add cuts tight at the incumbent where the model
is low, and re-solve warm-started, until the holding cost's relative approximation error is below
``rel_tol``.  Every cut is valid, so every MIP bound is a lower bound of the true optimum.  Each
round works on a new model (:meth:`PooledInventory.refine`): the model passed in is never changed,
so it can be solved again with the same result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import scipy.sparse as sp

from optimizer import progress
from optimizer.model.linear import LinearModel
from optimizer.model.pooled import PooledInventory
from optimizer.solvers import interrupt
from optimizer.solvers.base import (
    SolveOptions,
    Solver,
    SolverResult,
    Status,
    Termination,
    proven_optimal,
    relative_gap,
    solver_termination,
)
from optimizer.strategies.sites import (
    Leaf,
    branch_on_sites,
    design_columns,
    feasible,
    fixed_design,
    handover_note,
    node_budget,
    tree_message,
    tree_result,
)


#: Most MIP rounds of a loop of cuts (:func:`solve_pooled`, and a site plan's loop in :class:`PooledTree`).
MAX_ROUNDS = 100


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
        round_limit: The loop stopped at its most rounds, its last round complete but the
            holding cost not yet within ``rel_tol`` (termination ``round_limit``).
        timed_out: The loop stopped at its deadline (termination ``time_limit``).
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
    round_limit: bool = False
    timed_out: bool = False

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
                 rel_tol: float = 1e-4, max_rounds: int | None = None,
                 rough_fn: Callable[[LinearModel], SolverResult] | None = None,
                 deadline: float | None = None) -> PooledSolve:
    """Cutting-plane loop: re-solve with cuts until the holding cost is exact within ``rel_tol``.

    Args:
        pooled: The model, from :func:`optimizer.model.pooled.add_pooled_inventory` (unchanged).
        solve_fn: Solves a :class:`LinearModel`, e.g.
            ``lambda lp: get_solver("highs").solve(lp, SolveOptions())``.
        rel_tol: Stop when ``|exact - estimate| <= rel_tol * exact`` for the holding cost.
        max_rounds: Most MIP solves (default :data:`MAX_ROUNDS`).
        rough_fn: Optional faster solve (e.g. with a looser MIP gap) for the first rounds,
            which only need good incumbents to place cuts; once its plans are costed within
            ``rel_tol`` (or it adds no cut) the loop continues with ``solve_fn``, whose
            bound is the one reported.
        deadline: ``time.monotonic()`` at which the loop stops after the round under way (a round that
            ends on the solver's time limit stops it too: each round has the time left).

    Returns:
        The best plan of every round (lowest exact objective), its exact holding costs, the
        approximation error there and a valid bound.  A round without a plan (time limit,
        interrupt) ends the loop but keeps the plans found before it.
    """
    max_rounds = MAX_ROUNDS if max_rounds is None else max_rounds
    best_bound = -np.inf
    seconds = 0.0
    raw: SolverResult | None = None
    rough = rough_fn is not None
    model = pooled
    lp = pooled.built.lp
    best: dict[str, object] | None = None
    converged = timed_out = False
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        if interrupt.requested() and raw is not None:
            break
        if deadline is not None and raw is not None and time.monotonic() >= deadline:
            timed_out = True
            rounds -= 1
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
        if raw.termination is Termination.TIME_LIMIT:  # the round had the time left: none is
            timed_out = True
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
                  interrupted=raw.termination is Termination.INTERRUPTED or interrupt.requested(), timed_out=timed_out)
    if best is None:
        return PooledSolve(x=None, **common)  # type: ignore[arg-type]
    objective = float(best["objective"])  # type: ignore[arg-type]
    round_limit = rounds == max_rounds and not converged and not common["interrupted"] and not timed_out and \
        raw.termination in (Termination.OPTIMAL, Termination.GAP_LIMIT)
    return PooledSolve(x=best["x"], estimate=best["estimate"], cycle=best["cycle"],  # type: ignore[arg-type]
                       safety=best["safety"], error=best["error"], objective=objective,  # type: ignore[arg-type]
                       gap=relative_gap(objective, bound), costs=best["costs"],  # type: ignore[arg-type]
                       converged=converged, round_limit=round_limit, **common)  # type: ignore[arg-type]


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


#: Separation tolerance of the square-root cuts at tree nodes fractional in the design (relative to
#: the stock column's value); the root and design-integral nodes separate down to :data:`EXACT_CUT_TOLERANCE`.
TREE_CUT_TOLERANCE = 1e-3

#: Separation tolerance where the relaxation should be exact (the root and design-integral nodes).
EXACT_CUT_TOLERANCE = 1e-7

class PooledTree:
    """The pooled model for :func:`optimizer.strategies.sites.branch_on_sites`.

    Nodes add the square-root cuts their LP solution violates (:meth:`PooledInventory.separate`).
    A leaf (the design fixed) runs a loop of MIPs: first to the gap ``rough_gap`` until a
    round's plan is costed exactly, then exactly, each round warm-started from the cheapest plan so
    far (exact cost) and, with that start, in ``proof`` mode.  An improving-plan callback hands
    every plan the solver finds to the loop, which prices it exactly (a candidate for the best plan)
    and adds cuts tight at each one the model underestimates, not only at the round's last plan.
    The loop ends when an exact round's optimum is costed exactly; its cuts join the tree's model
    (they are valid for every design).

    Args:
        pooled: The model (unchanged; :attr:`model` grows with the cuts).
        backend: The MIP solver of the leaves.
        options: Gap and threads of the leaf solves.
        rel_tol: Tolerance of the holding cost (see :func:`solve_pooled`).
        rough_gap: MIP gap of a leaf's first rounds.
    """

    lp_leaves = False  # a leaf is a loop of MIPs with cuts

    def __init__(self, pooled: PooledInventory, backend: Solver, options: SolveOptions, rel_tol: float,
                 rough_gap: float) -> None:
        self.model = pooled
        self.backend, self.options, self.rel_tol, self.rough_gap = backend, options, rel_tol, rough_gap
        self.synced = pooled.built.lp.n_rows
        self.rounds = 0
        self.seconds = 0.0
        self.converged = True
        self.best: np.ndarray | None = None
        self.best_objective = np.inf
        self.rejected = 0  # plans offered that broke a row of the model (see :meth:`offer`)

    def separate(self, x: np.ndarray, exact: bool) -> None:
        """Add the cuts ``x`` violates."""
        self.model = self.model.separate(x, EXACT_CUT_TOLERANCE if exact else TREE_CUT_TOLERANCE)

    def new_rows(self) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray] | None:
        """The model's rows added since the last call."""
        lp = self.model.built.lp
        if lp.n_rows == self.synced:
            return None
        first, self.synced = self.synced, lp.n_rows
        return lp.A[first:], lp.row_lower[first:], lp.row_upper[first:]

    def offer(self, x: np.ndarray) -> float:
        """Keep ``x`` (stock exact) if it is the cheapest plan so far; its exact cost (``inf``, and not
        kept, when the plan with exact stock breaks a row of the model: see :func:`plan_fits`)."""
        lifted = self.model.lift(x)
        if not plan_fits(self.model.built.lp, lifted):
            self.rejected += 1
            return np.inf
        objective = self.exact_objective(x)
        if objective < self.best_objective:
            self.best, self.best_objective = lifted, objective
        return objective

    def leaf(self, design: np.ndarray, values: np.ndarray, deadline: float | None, cutoff: float) -> Leaf:
        """The loop of MIPs and cuts with the design fixed at ``values`` (see the class docstring).  Unless
        these are the best plan's sites, every round runs in proof mode and prunes at ``cutoff`` (the
        tree's best plan less half its gap): a round whose bound reaches it ends the loop, as nothing
        with these sites is cheaper."""
        n_rows = self.model.built.lp.n_rows
        current = self.model
        bound = -np.inf
        leaf_best: tuple[np.ndarray, float] | None = None
        termination = Termination.NUMERICAL
        final_gap = self.options.mip_gap
        rough = final_gap is None or final_gap < self.rough_gap
        for done in range(MAX_ROUNDS):
            if done and deadline is not None and time.monotonic() >= deadline:
                termination = Termination.TIME_LIMIT  # the tree stops on it, keeping the plans found
                break
            plans: list[np.ndarray] = []
            fixed = fixed_design(replace(current.built.lp, warm_start=self.best), design, values)
            left = None if deadline is None else max(deadline - time.monotonic(), 1e-3)
            # The best plan's own sites (it is the warm start): no cutoff, so that a round can end at that
            # plan, costed exactly.  Elsewhere the tree's cutoff holds for the whole leaf: a better plan
            # found here makes these the best plan's sites.
            limit = None if fixed.warm_start is not None or not np.isfinite(cutoff) else cutoff

            def on_plan(x: np.ndarray) -> bool:
                plans.append(x)  # every improving plan: its exact cost, and cuts where the model is low
                return False

            with progress.quiet():  # approximate stock, and a bound for these sites only: the tree reports
                raw = self.backend.solve(fixed, replace(
                    self.options, time_limit=left, on_plan=on_plan, mip_gap=self.rough_gap if rough else final_gap,
                    proof=(not rough and fixed.warm_start is not None) or limit is not None, cutoff=limit))
            self.rounds += 1
            self.seconds += raw.solve_seconds
            if raw.bound is not None and np.isfinite(raw.bound):
                bound = max(bound, raw.bound)  # the model's bound: valid however the solve ended
            if raw.x is not None:
                plans.append(raw.x)
            refined = current
            final_exact = False
            for k, x in enumerate(plans):
                x = current.built.round_solution(x)
                objective = self.offer(x)
                if not np.isfinite(objective):
                    continue  # not a plan of the model (the guard of :meth:`offer`): neither kept nor cut at
                if leaf_best is None or objective < leaf_best[1]:
                    leaf_best = (self.model.lift(x), objective)
                exact = _evaluate(current, x)["error"] <= self.rel_tol  # type: ignore[operator]
                final_exact = exact and k == len(plans) - 1 and raw.x is not None
                if not exact:
                    refined = refined.refine(x)
            if raw.x is not None:
                error = float(_evaluate(current, current.built.round_solution(raw.x))["error"])  # type: ignore
                progress.emit("pooled-cuts", objective=self.best_objective,
                              message=f"round {self.rounds}: {refined.n_cuts} cuts, holding-cost error {error:.2%}")
            if limit is not None and raw.bound is not None and raw.bound >= limit and \
                    raw.termination is not None and raw.termination.final:
                bound = max(bound, limit)  # no plan with these sites beats the cutoff
                termination = Termination.OPTIMAL
                break
            if raw.status is Status.INFEASIBLE:
                termination = Termination.INFEASIBLE
                break
            if raw.termination not in (Termination.OPTIMAL, Termination.GAP_LIMIT):
                termination = raw.termination or Termination.NUMERICAL  # a limit or a signal: the tree stops
                break
            if final_exact and not rough:
                termination = Termination.OPTIMAL
                break
            if final_exact or refined is current:
                if not rough:  # nothing left to learn: the bound stands as it is
                    termination = Termination.OPTIMAL
                    self.converged = False
                    break
                rough = False
            current = refined
        else:
            termination = Termination.OPTIMAL
            self.converged = False
        if current.built.lp.n_rows > n_rows:
            self.model = self.model.with_cuts(current.built.lp.A[n_rows:])
        if termination is Termination.INFEASIBLE and leaf_best is None:
            return Leaf(np.inf, None, np.inf, Termination.INFEASIBLE)
        if leaf_best is None:
            return Leaf(np.inf, None, bound, termination)
        return Leaf(leaf_best[1], leaf_best[0], bound, termination)

    def exact_objective(self, x: np.ndarray) -> float:
        """The exact cost of plan ``x`` (square-root stock), currency per period."""
        return float(_evaluate(self.model, x)["objective"])  # type: ignore[arg-type]


#: Row tolerance of :func:`plan_fits`, relative to the row's size at the plan (``|A| @ |x|``) or its bound.
PLAN_ROW_TOLERANCE = 1e-6


def plan_fits(lp: LinearModel, x: np.ndarray, tolerance: float = PLAN_ROW_TOLERANCE) -> bool:
    """Whether plan ``x`` keeps the bounds, integrality and every row of ``lp`` (site choices, capacities,
    demand, cuts) within ``tolerance``: a cheap guard before a plan handed over by the solver is taken as
    the best one.  A row's tolerance is relative to the largest of 1, its bound and the sum of the
    absolute terms at ``x``, so rounding the assignments of a plan found within the solver's tolerances
    passes and a plan from a corrupted buffer (demand unserved, capacity exceeded) does not."""
    x = np.asarray(x, dtype=float)
    if x.shape != (lp.n_cols,) or not np.all(np.isfinite(x)):
        return False
    integer = x[lp.integer]
    if np.any(np.abs(integer - np.round(integer)) > 1e-6):
        return False
    scale = np.maximum(1.0, np.abs(x))
    if np.any(x < lp.col_lower - tolerance * scale) or np.any(x > lp.col_upper + tolerance * scale):
        return False
    activity = lp.A @ x
    size = abs(lp.A) @ np.abs(x)
    low = np.where(np.isfinite(lp.row_lower), lp.row_lower, -np.inf)
    high = np.where(np.isfinite(lp.row_upper), lp.row_upper, np.inf)
    slack = tolerance * np.maximum(np.maximum(1.0, size), np.maximum(np.abs(np.nan_to_num(low, posinf=0, neginf=0)),
                                                                  np.abs(np.nan_to_num(high, posinf=0, neginf=0))))
    return bool(np.all(activity >= low - slack) and np.all(activity <= high + slack))


def solve_pooled_model(pooled: PooledInventory, backend: Solver, options: SolveOptions, *, rel_tol: float,
                       rough_gap: float, by_sites: bool) -> tuple[PooledSolve, list[str]]:
    """Solve the pooled model: by branching on sites (:mod:`optimizer.strategies.sites`) with the
    cuts separated at every node and a loop of MIPs per site plan, or by :func:`solve_pooled`'s loop
    over the whole model.

    Args:
        pooled: The model (unchanged).
        backend: The MIP solver.
        by_sites: Branch on sites (the ``sites`` strategy; HiGHS, with a free design column).
        options: Time limit (for the whole solve), gap and threads.
        rel_tol: Tolerance of the holding cost (see :func:`solve_pooled`).
        rough_gap: MIP gap of the loops' first rounds.

    Returns:
        The outcome and messages for the user.
    """
    started = time.monotonic()
    deadline = None if options.time_limit is None else started + options.time_limit

    def solve_round(lp: LinearModel, gap: float | None = options.mip_gap) -> SolverResult:
        left = None if deadline is None else max(deadline - time.monotonic(), 1e-3)
        proof = lp.warm_start is not None and gap == options.mip_gap  # the loop's final rounds start near the optimum
        return backend.solve(lp, replace(options, time_limit=left, mip_gap=gap, proof=proof))

    rough = max(options.mip_gap or 0.0, rough_gap)

    def rough_fn(lp: LinearModel) -> SolverResult:
        return solve_round(lp, rough)

    if not by_sites:
        return solve_pooled(pooled, solve_round, rel_tol=rel_tol, rough_fn=rough_fn, deadline=deadline), []
    lp = pooled.built.lp
    design = design_columns(lp, pooled.lane_cols)
    problem = PooledTree(pooled, backend, options, rel_tol, rough)
    incumbent = None
    if feasible(lp, lp.warm_start):
        problem.offer(lp.warm_start)
        incumbent = (problem.best, problem.best_objective)
    tree = branch_on_sites(lp, design, problem, options, incumbent=incumbent, node_limit=node_budget(design),
                           phase="pooled-sites")
    notes = [tree_message(tree).replace("as a MIP", f"by {problem.rounds} MIP round(s) with cuts")]
    model = problem.model
    if tree.termination == "node_limit":
        notes.append(handover_note(tree, design, "the loop of MIPs on the whole model finished the solve"))
        rest = solve_pooled(replace(model, built=replace(model.built, lp=replace(
            model.built.lp, warm_start=None if tree.x is None else model.lift(tree.x)))), solve_round,
            rel_tol=rel_tol, rough_fn=rough_fn, deadline=deadline)
        return replace(rest, rounds=rest.rounds + problem.rounds,
                       solve_seconds=time.monotonic() - started), notes
    result = tree_result(tree, backend.name, options)
    common = dict(rounds=problem.rounds, n_cuts=model.n_cuts, solve_seconds=time.monotonic() - started,
                  model=model, bound=result.bound,
                  interrupted=tree.termination == Termination.INTERRUPTED or interrupt.requested())
    if tree.x is None:
        return PooledSolve(result=result, x=None, **common), notes  # type: ignore[arg-type]
    x = model.built.round_solution(tree.x)
    best = _evaluate(model, x)
    objective = float(best["objective"])  # type: ignore[arg-type]
    exhausted = tree.termination == Termination.OPTIMAL
    holding = float(best["costs"]["holding"])  # type: ignore[index]
    status = Status.OPTIMAL if exhausted and proven_optimal(objective, result.bound, rel_tol * holding) \
        else Status.FEASIBLE
    result = replace(result, status=status, objective=objective, x=x,
                     termination=solver_termination(status, True, options) if exhausted else result.termination)
    return PooledSolve(result=result, x=x, estimate=best["estimate"], cycle=best["cycle"],  # type: ignore[arg-type]
                       safety=best["safety"], error=best["error"], objective=objective,  # type: ignore[arg-type]
                       gap=relative_gap(objective, result.bound), costs=best["costs"],  # type: ignore[arg-type]
                       converged=problem.converged and exhausted, **common), notes  # type: ignore[arg-type]
