"""Branch on sites: a branch-and-bound over the design binaries, the assignments solved per design.

The compact model's hard part is *which sites (and links) to open*; once they are fixed, the
single-sourcing assignment is a much smaller MIP whose LP relaxation is nearly tight.  HiGHS, which
has no branching priorities, branches on the thousands of assignment binaries as readily as on the
few dozen site binaries, and proving the demo network optimal took it minutes.  This module
branches on the *design* columns only (site ``open`` binaries and link ``used`` binaries):

* every node solves the LP relaxation (all integrality dropped) in one
  :class:`~optimizer.solvers.lp_session.LPSession`, hot-started from the previous basis, after
  adding the cuts a :class:`TreeProblem` separates at its solution (the pooled stock model's
  square-root cuts, :mod:`optimizer.strategies.pooled`);
* a node whose LP solution is integral in the design columns is a *leaf candidate*: when it is
  the best open node, :meth:`TreeProblem.leaf` solves the problem with the design fixed there (a
  MIP over the assignments) once per distinct design, pruned at the tree's cutoff (a leaf that
  cannot beat the best plan ends as soon as its bound reaches it); the node's other designs (each
  differs in some free design column) are split off by probing the flip of every free column with one LP;
* nodes are taken best bound first, branching on pseudo-costs (bound increase per unit of change,
  learnt from the children); reduced-cost fixing removes design values whose LP bound already
  exceeds the best plan; a child starts from its parent's basis.

Every bound is valid: a node's bound is its LP relaxation (with valid cuts), a leaf's the lower
bound of its own solve, and the reported bound is the least over the open and closed parts of the
tree.  The search is deterministic (dual simplex, fixed node order).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from optimizer import progress
from optimizer.model.build import BuiltModel
from optimizer.model.linear import LinearModel
from optimizer.solvers import interrupt
from optimizer.solvers.base import (
    DEFAULT_ABS_GAP,
    SolveOptions,
    Solver,
    SolverResult,
    Status,
    Termination,
    classify,
    solver_termination,
)
from optimizer.solvers.lp_session import LPOutcome, LPSession

#: Design values within this of 0 or 1 count as integral.
INTEGRAL_EPS = 1e-6

#: Share of the time limit after which a tree without a plan hands over to the whole model's solve (with a
#: node budget): branching on sites finds plans only at its leaves, where a MIP solver's heuristics may find
#: one in seconds (a single-source 60 x 150 file: no plan in 120 s, the compact MIP's first in 2 s).
NO_PLAN_HANDOVER_SHARE = 0.25

#: MIP gap of a leaf's first solve when it has no warm start (its plan then starts the proof).
LEAF_ROUGH_GAP = 2e-3

#: Separation rounds at a node whose LP solution is fractional in the design (the root and
#: design-integral nodes separate until no cut is violated).  None: on the demo, cuts at fractional
#: nodes made every later LP and leaf MIP slower than the bounds they added saved.
TREE_CUT_ROUNDS = 0


@dataclass(frozen=True)
class Leaf:
    """The best plan with the design columns fixed at one set of values.

    Attributes:
        objective: Exact cost of the best plan found, currency per period (``inf`` without one).
        x: That plan's column values (``None`` without one).
        bound: A valid lower bound of every plan with these design values (``inf`` if none exists).
        termination: How the solve ended: ``optimal`` (objective within the gap of the bound),
            ``infeasible``, or a limit (``time_limit``, ``interrupted``), which stops the tree.
    """

    objective: float
    x: np.ndarray | None
    bound: float
    termination: Termination


class TreeProblem(Protocol):
    """What the tree needs besides the model: cuts, the leaf solve and the rows it added.

    Attributes:
        lp_leaves: A leaf is the model with the design fixed and nothing else (no cuts): where no
            other integer column is left, the tree takes it from its own LP session instead of
            calling :meth:`leaf`.
    """

    lp_leaves: bool

    def separate(self, x: np.ndarray, exact: bool) -> None:
        """Add cuts violated at ``x`` (to be returned by :meth:`new_rows`); ``exact``: down to the
        tolerance of the final plan, else only clearly violated ones."""

    def new_rows(self) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray] | None:
        """Rows (matrix, lower, upper) added since the last call, valid for every plan; ``None`` if none."""

    def leaf(self, design: np.ndarray, values: np.ndarray, deadline: float | None, cutoff: float) -> Leaf:
        """The best plan with columns ``design`` fixed at ``values``; plans costing ``cutoff`` or more
        need not be found (the tree has one within its gap), and the leaf's bound may then be ``cutoff``."""


@dataclass
class TreeSolve:
    """Outcome of :func:`branch_on_sites`.

    Attributes:
        x: The best plan's column values (``None`` without a plan).
        objective: Its exact cost (``inf`` without one).
        bound: A valid lower bound of the optimum (``-inf`` when none is known).
        termination: ``optimal`` (tree exhausted: the plan is optimal within the gap, or
            ``infeasible`` without a plan), ``time_limit``, ``interrupted`` or ``node_limit``
            (``numerical`` when an LP failed).
        nodes: LP nodes solved.
        leaves: Distinct designs solved by :meth:`TreeProblem.leaf`.
        lp_solves: LP solves (nodes and cut rounds).
        seconds: Wall-clock time.
    """

    x: np.ndarray | None = None
    objective: float = float("inf")
    bound: float = -float("inf")
    termination: Termination | str = Termination.OPTIMAL
    nodes: int = 0
    leaves: int = 0
    lp_solves: int = 0
    seconds: float = 0.0


def design_columns(model: LinearModel, assignment: np.ndarray) -> np.ndarray:
    """Integer columns that are not assignment columns (site and link binaries), sorted."""
    design = np.asarray(model.integer, dtype=bool).copy()
    design[np.asarray(assignment, dtype=np.int64)] = False
    return np.flatnonzero(design)


@dataclass(order=True)
class _Node:
    """An open node: its bound (it is taken best bound first), the design columns' bounds, and for a
    design-integral node its LP solution and reduced costs."""

    bound: float
    order: int
    lower: np.ndarray = field(compare=False)
    upper: np.ndarray = field(compare=False)
    solution: np.ndarray | None = field(compare=False, default=None)  # set: a design-integral node's LP
    reduced: np.ndarray | None = field(compare=False, default=None)
    basis: Any = field(compare=False, default=None)  # the parent's (or a solved node's own) LP basis
    branched: tuple[int, int, float, float] | None = field(compare=False, default=None)  # column, side, parent LP, move


def branch_on_sites(model: LinearModel, design: np.ndarray, problem: TreeProblem, options: SolveOptions, *,
                    incumbent: tuple[np.ndarray, float] | None = None, node_limit: int | None = None,
                    phase: str = "sites") -> TreeSolve:
    """Solve ``model`` by branching on the ``design`` columns (see the module docstring).

    Args:
        model: The model (unchanged); its LP relaxation is the root.
        design: Indices of the binary design columns.
        problem: Separation and leaf solves.
        options: Time limit and gap (``mip_gap``: nodes within it of the best plan are pruned).
        incumbent: A known plan and its exact cost (e.g. a warm start), the first upper bound.
        node_limit: Stop (termination ``node_limit``) after this many LP nodes, or, under a time limit,
            without a plan after :data:`NO_PLAN_HANDOVER_SHARE` of it (a leaf then gets that much time at
            most): the caller hands over to a solve of the whole model, whose heuristics find plans.
        phase: Name of the progress events.

    Returns:
        The best plan, a valid bound and the counts.
    """
    start = time.monotonic()
    deadline = None if options.time_limit is None else start + options.time_limit
    handover = None if deadline is None or node_limit is None else start + NO_PLAN_HANDOVER_SHARE * options.time_limit
    gap = options.effective_gap
    design = np.asarray(design, dtype=np.int64)
    session = LPSession(model)
    out = TreeSolve()
    if incumbent is not None and np.isfinite(incumbent[1]):
        out.x, out.objective = np.asarray(incumbent[0], dtype=float), float(incumbent[1])
    closed = np.inf  # least bound over the closed parts of the tree
    leaves: dict[bytes, Leaf] = {}
    counter = 0
    heap = [_Node(-np.inf, 0, model.col_lower[design].copy(), model.col_upper[design].copy())]

    def cutoff() -> float:
        return cutoff_below(out.objective, gap)

    def push(bound: float, lower: np.ndarray, upper: np.ndarray, **extra: np.ndarray) -> None:
        nonlocal counter
        counter += 1
        heapq.heappush(heap, _Node(bound, counter, lower, upper, **extra))

    costs = _PseudoCosts(len(design))
    others = np.asarray(model.integer, dtype=bool).copy()
    others[design] = False
    lp_leaves = problem.lp_leaves and not np.any(others & (model.col_lower < model.col_upper))

    def expand(lower: np.ndarray, upper: np.ndarray, lp: LPOutcome, branched: tuple | None = None) -> None:
        """Close, queue as a design-integral node, or branch a node whose LP was just solved."""
        nonlocal closed
        if branched is not None:
            costs.record(branched, lp.objective if lp.status == "optimal" else np.inf)
        if lp.status == "infeasible":
            return
        basis = session.basis()
        bound = lp.objective  # cuts only ever raise it, so it is at least the parent's
        if bound >= cutoff():
            closed = min(closed, bound)
            return
        y = lp.x[design]
        fraction = np.abs(y - np.round(y))
        if fraction.max() <= INTEGRAL_EPS:
            push(bound, lower, upper, solution=lp.x, reduced=lp.reduced_cost, basis=basis)
            return
        lower, upper = _fix_by_reduced_cost(_Node(bound, 0, lower, upper, lp.x, lp.reduced_cost), design, cutoff())
        j = costs.choose(y, np.where(lower < upper, fraction, 0.0))
        for side in (0, 1):
            lo, hi = lower.copy(), upper.copy()
            lo[j] = hi[j] = side
            push(bound, lo, hi, basis=basis, branched=(j, side, bound, abs(side - y[j])))

    def stop(termination: Termination | str) -> bool:
        out.termination = termination
        return True

    stopped = False
    while heap and not stopped:
        if interrupt.requested():
            stopped = stop(Termination.INTERRUPTED)
            break
        if deadline is not None and time.monotonic() >= deadline:
            stopped = stop(Termination.TIME_LIMIT)
            break
        if node_limit is not None and out.nodes >= node_limit:
            stopped = stop("node_limit")
            break
        if handover is not None and out.x is None and time.monotonic() >= handover:
            stopped = stop("node_limit")
            break
        node = heapq.heappop(heap)
        if node.bound >= cutoff():
            closed = min(closed, node.bound)
            continue
        capped = handover is not None and out.x is None  # without a plan, work up to the hand-over at most
        until = handover if capped else deadline
        if node.solution is None:
            out.nodes += 1
            lp = _solve_node(session, problem, design, node, until, root=out.nodes == 1)
            if lp.status in ("time_limit", "failed"):
                push(node.bound, node.lower, node.upper)
                stopped = stop(("node_limit" if capped else Termination.TIME_LIMIT) if lp.status == "time_limit"
                               else Termination.NUMERICAL)
                break
            expand(node.lower, node.upper, lp, node.branched)
            if out.nodes % 50 == 0:
                progress.emit(phase, objective=out.objective if out.x is not None else None,
                              bound=_bound(closed, heap, np.inf), message=f"{out.nodes} nodes")
            continue
        # A design-integral node: solve its design's leaf, then split off its other designs.
        values = np.round(node.solution[design])
        key = values.astype(np.int8).tobytes()
        if key not in leaves:
            leaf = _lp_leaf(session, design, values, node, until) if lp_leaves else \
                problem.leaf(design, values, until, cutoff_below(out.objective, gap, LEAF_CUTOFF_SHARE))
            session.add_rows(*(problem.new_rows() or _no_rows(session.n_cols)))
            leaves[key] = leaf
            out.leaves += 1
            closed = min(closed, leaf.bound)
            if leaf.x is not None and leaf.objective < out.objective:
                out.x, out.objective = leaf.x, leaf.objective
                progress.emit(phase, objective=out.objective, bound=_bound(closed, heap, node.bound),
                              message=f"{out.nodes} nodes, {out.leaves} site plans solved")
            if leaf.termination not in (Termination.OPTIMAL, Termination.INFEASIBLE, Termination.GAP_LIMIT):
                push(node.bound, node.lower, node.upper)  # still open
                early = capped and leaf.termination is Termination.TIME_LIMIT
                stopped = stop("node_limit" if early else leaf.termination)  # the hand-over, not the time limit
                break
        # Every other design of the node differs from this one in a free column: probe each flip
        # (one LP), and split: flip the first free column, or keep it and flip the second, ...
        lower, upper = _fix_by_reduced_cost(node, design, cutoff())
        for j in np.flatnonzero(lower < upper):
            lo, hi = lower.copy(), upper.copy()
            lo[j] = hi[j] = 1.0 - values[j]
            out.nodes += 1
            probe = _solve_node(session, problem, design, _Node(node.bound, 0, lo, hi, basis=node.basis), deadline,
                                root=False)
            if probe.status in ("time_limit", "failed"):
                push(node.bound, lo, hi)
                push(node.bound, lower, upper)
                stopped = stop(Termination.TIME_LIMIT if probe.status == "time_limit" else Termination.NUMERICAL)
                break
            expand(lo, hi, probe)
            lower[j] = upper[j] = values[j]
    if not stopped:
        out.termination = Termination.OPTIMAL if out.x is not None else Termination.INFEASIBLE
    out.bound = _bound(closed, heap, np.inf)  # never clipped to the plan's cost (a bound above it is an error)
    out.lp_solves = session.solves
    out.seconds = time.monotonic() - start
    return out


class _PseudoCosts:
    """Average LP bound increase per unit of change, per design column and direction (branching scores)."""

    def __init__(self, n: int) -> None:
        self.total = np.zeros((2, n))
        self.count = np.zeros((2, n))

    def record(self, branched: tuple[int, int, float, float], objective: float) -> None:
        """Learn from a child node: its column, side (0 down, 1 up), parent's LP value and the move."""
        j, side, parent, move = branched
        if move > INTEGRAL_EPS and np.isfinite(objective) and np.isfinite(parent):
            self.total[side, j] += max(objective - parent, 0.0) / move
            self.count[side, j] += 1

    def choose(self, y: np.ndarray, fraction: np.ndarray) -> int:
        """The fractional column with the best product score (unknown costs: the average of the known)."""
        known = self.count > 0
        average = np.array([self.total[k][known[k]].mean() if known[k].any() else 1.0 for k in (0, 1)])
        rate = np.where(known, self.total / np.maximum(self.count, 1), average[:, None])
        down, up = rate[0] * y, rate[1] * (1.0 - y)
        score = np.maximum(down, 1e-6) * np.maximum(up, 1e-6)
        return int(np.argmax(np.where(fraction > INTEGRAL_EPS, score, -1.0)))


def _no_rows(n_cols: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """No rows (for :meth:`LPSession.add_rows`)."""
    return sp.csr_matrix((0, n_cols)), np.zeros(0), np.zeros(0)


def _bound(closed: float, heap: list[_Node], extra: float) -> float:
    """The least bound over the closed parts, the open nodes and ``extra``."""
    least = min([closed, extra, *(node.bound for node in heap)])
    return float(least)


def _solve_node(session: LPSession, problem: TreeProblem, design: np.ndarray, node: _Node,
                deadline: float | None, root: bool) -> LPOutcome:
    """The node's LP with the problem's cuts: a few rounds, or until none is violated at the root and
    where the design is integral.  A round of cuts that runs out of time (or into numerical trouble)
    leaves the last round's LP, a valid relaxation: the tree then stops at its own check, keeping its bound."""
    lp = session.solve(design, node.lower, node.upper, deadline, basis=node.basis)
    rounds = 0
    while lp.status == "optimal":
        y = lp.x[design]
        exact = root or np.abs(y - np.round(y)).max() <= INTEGRAL_EPS
        if not exact and rounds >= TREE_CUT_ROUNDS:
            break
        problem.separate(lp.x, exact)
        rows = problem.new_rows()
        if rows is None or rows[0].shape[0] == 0:
            break
        session.add_rows(*rows)
        last = lp
        lp = session.solve(design[:0], node.lower[:0], node.upper[:0], deadline)
        rounds += 1
        if lp.status in ("time_limit", "failed"):
            return last
    return lp


def _lp_leaf(session: LPSession, design: np.ndarray, values: np.ndarray, node: _Node,
             deadline: float | None) -> Leaf:
    """A leaf that is one LP (no integer column besides the design, no cuts): the session's LP with the
    design fixed exactly at ``values`` (a hot start from the node, whose design was within
    :data:`INTEGRAL_EPS` of them)."""
    lp = session.solve(design, values, values, deadline, basis=node.basis)
    if lp.status == "infeasible":
        return Leaf(np.inf, None, np.inf, Termination.INFEASIBLE)
    if lp.status != "optimal":
        return Leaf(np.inf, None, -np.inf, Termination.TIME_LIMIT if lp.status == "time_limit"
                    else Termination.NUMERICAL)
    return Leaf(lp.objective, lp.x, lp.objective, Termination.OPTIMAL)


def _fix_by_reduced_cost(node: _Node, design: np.ndarray, cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """The node's design bounds with every column fixed whose move off its LP value would push the
    LP bound to the cutoff (reduced-cost fixing: valid for the node's whole subtree)."""
    lower, upper = node.lower.copy(), node.upper.copy()
    if node.reduced is None or not np.isfinite(cutoff):
        return lower, upper
    d = node.reduced[design]
    y = node.solution[design]
    slack = cutoff - node.bound
    at_zero = (lower < upper) & (y <= INTEGRAL_EPS) & (d >= slack)
    at_one = (lower < upper) & (y >= 1.0 - INTEGRAL_EPS) & (-d >= slack)
    upper[at_zero] = 0.0
    lower[at_one] = 1.0
    return lower, upper


def leaf_from_result(raw: SolverResult) -> Leaf:
    """A backend's result on a model with the design fixed, as a :class:`Leaf`."""
    if raw.status is Status.INFEASIBLE:
        return Leaf(np.inf, None, np.inf, Termination.INFEASIBLE)
    bound = raw.bound if raw.bound is not None and np.isfinite(raw.bound) else -np.inf
    termination = raw.termination or Termination.NUMERICAL
    if raw.status.has_plan and raw.x is not None and raw.objective is not None:
        return Leaf(float(raw.objective), np.asarray(raw.x, dtype=float), bound, termination)
    return Leaf(np.inf, None, bound, termination)


def cutoff_below(objective: float, gap: float, share: float = 1.0) -> float:
    """The cutoff of a search whose best plan costs ``objective``: a branch whose bound reaches it cannot
    improve on that plan by more than ``share`` of the relative ``gap`` or of :data:`DEFAULT_ABS_GAP`
    (``inf``: no plan yet).  Leaves get half (:data:`LEAF_CUTOFF_SHARE`): a leaf pruned at its cutoff
    reports the cutoff as its bound, which must stay within the gap of the plan."""
    return objective - share * max(DEFAULT_ABS_GAP, gap * abs(objective)) if np.isfinite(objective) else np.inf


#: Share of the tree's gap a leaf's cutoff leaves below the best plan (see :func:`cutoff_below`).
LEAF_CUTOFF_SHARE = 0.5


def fixed_design(model: LinearModel, design: np.ndarray, values: np.ndarray) -> LinearModel:
    """``model`` with the design columns fixed at ``values`` (a warm start is kept only if it agrees)."""
    lower, upper = model.col_lower.copy(), model.col_upper.copy()
    lower[design] = upper[design] = values
    start = model.warm_start
    if start is not None and not np.allclose(np.asarray(start)[design], values, atol=INTEGRAL_EPS):
        start = None
    return replace(model, col_lower=lower, col_upper=upper, warm_start=start)


def feasible(model: LinearModel, x: np.ndarray | None, tolerance: float = 1e-6) -> bool:
    """Whether ``x`` satisfies the model's bounds, rows and integrality (within ``tolerance``, relative
    to ``max(1, |bound|)``)."""
    if x is None or np.shape(x) != (model.n_cols,) or not np.all(np.isfinite(x)):
        return False
    x = np.asarray(x, dtype=float)

    def within(values: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> bool:
        low = np.where(np.isfinite(lower), lower - tolerance * np.maximum(1.0, np.abs(lower)), -np.inf)
        high = np.where(np.isfinite(upper), upper + tolerance * np.maximum(1.0, np.abs(upper)), np.inf)
        return bool(np.all(values >= low) and np.all(values <= high))

    integral = np.abs(x[model.integer] - np.round(x[model.integer])) <= INTEGRAL_EPS
    return bool(integral.all()) and within(x, model.col_lower, model.col_upper) and \
        within(model.A @ x, model.row_lower, model.row_upper)


class MipLeaves:
    """Leaves solved as MIPs by a backend (no cuts): the linear-stock model with single sourcing.

    Args:
        model: The model.
        backend: The MIP solver of the leaves.
        options: Gap and threads of the leaf solves (the time limit is the tree's deadline).
    """

    lp_leaves = True

    def __init__(self, model: LinearModel, backend: Solver, options: SolveOptions) -> None:
        self.model, self.backend, self.options = model, backend, options
        self.seconds = 0.0

    def separate(self, x: np.ndarray, exact: bool) -> None:
        """No cuts."""

    def new_rows(self) -> None:
        """No cuts."""
        return None

    def leaf(self, design: np.ndarray, values: np.ndarray, deadline: float | None, cutoff: float) -> Leaf:
        """The MIP with the design fixed, by the backend: with a finite ``cutoff`` (the tree's best plan
        less half its gap), one solve in proof mode pruned there; otherwise, without a warm start, first
        to the gap :data:`LEAF_ROUGH_GAP` (the solver's heuristics find a good plan), then proven from it."""
        model = fixed_design(self.model, design, values)
        gap = self.options.mip_gap
        limit = cutoff if np.isfinite(cutoff) else None
        if model.warm_start is None and limit is None and (gap is None or gap < LEAF_ROUGH_GAP):
            rough = self._solve(model, deadline, mip_gap=LEAF_ROUGH_GAP)
            if rough.x is None or not rough.termination or not rough.termination.final:
                return leaf_from_result(rough)
            model = replace(model, warm_start=rough.x)
        return leaf_from_result(self._solve(model, deadline, proof=model.warm_start is not None or limit is not None,
                                            cutoff=limit))

    def _solve(self, model: LinearModel, deadline: float | None, **options: object) -> SolverResult:
        left = None if deadline is None else max(deadline - time.monotonic(), 1e-3)
        with progress.quiet():  # a leaf's bound holds for its sites only: the tree reports its own
            raw = self.backend.solve(model, replace(self.options, time_limit=left, **options))
        self.seconds += raw.solve_seconds
        return raw


def node_budget(design: np.ndarray) -> int:
    """LP nodes after which the tree hands over to the compact MIP (it then starts from the tree's plan)."""
    return NODE_BUDGET_BASE + NODE_BUDGET_PER_DESIGN * len(design)


#: The node budget: this many LP nodes plus :data:`NODE_BUDGET_PER_DESIGN` per design column.
NODE_BUDGET_BASE = 500
NODE_BUDGET_PER_DESIGN = 20


def solve_by_sites(built: BuiltModel, backend: Solver, options: SolveOptions) -> tuple[SolverResult, list[str]]:
    """Solve the linear-stock model of ``built`` by branching on sites (HiGHS; see
    :func:`optimizer.strategies.select.sites_unsupported`).

    When the tree exceeds its node budget, the compact MIP finishes the solve, warm-started from the
    tree's best plan, within the time left.

    Returns:
        The result (as a backend's, ``x`` on ``built.lp``'s columns) and messages for the user.
    """
    lp = built.lp
    lanes = built.n_sites + np.arange(len(built.lane_site))
    design = design_columns(lp, lanes)
    problem = MipLeaves(lp, backend, options)
    start = lp.warm_start if feasible(lp, lp.warm_start) else None
    incumbent = None if start is None else (np.asarray(start, dtype=float), float(lp.c @ start + lp.offset))
    tree = branch_on_sites(lp, design, problem, options, incumbent=incumbent, node_limit=node_budget(design))
    notes = [tree_message(tree)]
    if tree.termination == "node_limit":
        left = None if options.time_limit is None else max(options.time_limit - tree.seconds, 1e-3)
        raw = backend.solve(replace(lp, warm_start=tree.x if tree.x is not None else lp.warm_start),
                            replace(options, time_limit=left))
        notes.append(handover_note(tree, design, "the compact MIP finished the solve"))
        raw.solve_seconds += tree.seconds
        return raw, notes
    return tree_result(tree, backend.name, options), notes


def handover_note(tree: TreeSolve, design: np.ndarray, then: str) -> str:
    """Why the tree handed over (``node_limit``): its node budget, or no plan yet (see :func:`branch_on_sites`)."""
    if tree.x is None and tree.nodes < node_budget(design):
        return f"The site tree had no plan after {NO_PLAN_HANDOVER_SHARE:.0%} of the time limit: {then} alone."
    return f"The site tree reached its node budget: {then} from its best plan."


def tree_message(tree: TreeSolve) -> str:
    """One line on the tree search for ``messages``."""
    return (f"Branch on sites: {tree.nodes} LP node(s), {tree.leaves} site plan(s) solved with the assignments "
            f"as a MIP, {tree.seconds:.1f} s.")


def tree_result(tree: TreeSolve, solver: str, options: SolveOptions) -> SolverResult:
    """The tree's outcome as a backend result (status by :func:`optimizer.solvers.base.classify`)."""
    termination = Termination(tree.termination)
    has_plan = tree.x is not None
    objective = tree.objective if has_plan else None
    bound = tree.bound if np.isfinite(tree.bound) else None
    if termination is Termination.INFEASIBLE:
        return SolverResult(Status.INFEASIBLE, solver, termination=termination, solve_seconds=tree.seconds,
                            message="no site plan has a feasible assignment")
    exhausted = termination is Termination.OPTIMAL
    status = classify(exhausted, has_plan, options, objective, bound)
    if exhausted:
        termination = solver_termination(status, exhausted, options)
    return SolverResult(status, solver, termination=termination, x=tree.x if has_plan else None,
                        objective=objective, bound=bound, solve_seconds=tree.seconds,
                        message=f"{tree.nodes} nodes, {tree.leaves} leaves")
