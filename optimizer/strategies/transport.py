"""Plans for a given set of open sites, and local search over the sets (the decomposition's primal side).

With the sites fixed, the rest of the one-echelon model is a transportation problem: an LP
with fractional shares (multi-sourcing), a generalised assignment MIP with single sourcing.
The LP is solved by lane pricing in one hot-started session (:mod:`optimizer.strategies.priced`):
it starts from each unit's ``k`` cheapest lanes to open sites, prices the omitted lanes with the
LP's duals (reduced cost ``c_j - A_j^T pi``) and adds those of negative reduced cost until none is
left, so its optimum covers every lane.
:func:`local_search` then tries closing, opening and swapping sites, each move costed by that
LP.  Everything is deterministic: budgets count moves and pricing rounds, not seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from optimizer import progress
from optimizer.model.build import BuiltModel
from optimizer.solvers import get_solver, interrupt
from optimizer.model.linear import LinearModel
from optimizer.solvers.base import SolveOptions, SolverResult
from optimizer.strategies.priced import FIRST_LANES, PricedTransport
from optimizer.strategies.restrict import restrict

#: Costs a set of open sites: ``(objective, x)`` or ``None`` when the set cannot serve the demand.
Evaluate = Callable[[np.ndarray], "tuple[float, np.ndarray] | None"]

#: MIP gap of the generalised assignment problem (single sourcing) inside the heuristic.
ASSIGNMENT_GAP = 1e-4
#: Branch-and-bound nodes of that problem (a deterministic limit: the heuristic needs a good plan, not a proof).
ASSIGNMENT_NODES = 20


@dataclass
class TransportSolver:
    """Costs the plan of any set of open sites (memoised per set).

    Attributes:
        built: The one-echelon model.
        deadline: ``time.monotonic()`` value after which solves stop, or ``None``.
        lp_solves: Number of LP/MIP solves so far (simplex runs of the transportation LP included).
        csc: ``built.lp.A`` in CSC form (column slices of it build every sub-model).
    """

    built: BuiltModel
    deadline: float | None = None
    lp_solves: int = 0
    csc: sp.csc_matrix = field(init=False, repr=False)
    _lane_order: np.ndarray = field(init=False, repr=False)
    _priced: PricedTransport = field(init=False, repr=False)
    _memo: dict[bytes, tuple[float, np.ndarray, np.ndarray] | None] = field(init=False, repr=False,
                                                                           default_factory=dict)

    def __post_init__(self) -> None:
        built = self.built
        self.csc = built.lp.A.tocsc()
        S = built.n_sites
        C = len(built.lane_site)
        # Lanes by unit, cheapest first (ties by lane index): the pricing's starting columns.
        self._lane_order = np.lexsort((np.arange(C), built.lp.c[S:S + C], built.lane_unit))
        self._priced = PricedTransport(built, self.csc)

    @property
    def single_sourcing(self) -> bool:
        """Whether the lanes are binaries (the plan for fixed sites is a MIP)."""
        S = self.built.n_sites
        return bool(self.built.lp.integer[S:S + len(self.built.lane_site)].any())

    def plan(self, is_open: np.ndarray) -> tuple[float, np.ndarray] | None:
        """The cheapest plan with exactly the sites ``is_open`` open (single sourcing: the best
        assignment found within :data:`ASSIGNMENT_NODES` nodes).

        Returns:
            ``(objective, x)`` with ``x`` over the full model's columns, or ``None`` when these sites
            cannot serve the demand (or a limit stopped the solve).
        """
        if not self.single_sourcing:
            return self.score(is_open)
        key = b"plan" + np.packbits(is_open).tobytes()
        if key not in self._memo:
            scored = self.score(is_open)
            self._remember(key, None if scored is None else self._assign(np.asarray(is_open, dtype=bool)))
        return self._recall(key)

    def score(self, is_open: np.ndarray) -> tuple[float, np.ndarray] | None:
        """The transportation LP of the sites ``is_open``, by lane pricing: the plan's cost with
        fractional shares (exact for multi-sourcing, a lower bound with single sourcing).

        Returns:
            ``(objective, x)`` over the full model's columns, or ``None`` when infeasible.
        """
        key = b"lp" + np.packbits(is_open).tobytes()
        if key not in self._memo:
            if self.out_of_time():
                return None  # no solve after the deadline (and nothing remembered: the set was never tried)
            self._remember(key, self._priced_lp(np.asarray(is_open, dtype=bool)))
        return self._recall(key)

    def out_of_time(self) -> bool:
        """Whether the deadline has passed."""
        return self.deadline is not None and time.monotonic() >= self.deadline

    def _remember(self, key: bytes, result: tuple[float, np.ndarray] | None) -> None:
        """Keep a result with its solution's nonzeros only (a search visits hundreds of sets)."""
        if result is None:
            self._memo[key] = None
        else:
            nonzero = np.flatnonzero(result[1])
            self._memo[key] = (result[0], nonzero, result[1][nonzero])

    def _recall(self, key: bytes) -> tuple[float, np.ndarray] | None:
        """A remembered result with its full-length solution."""
        kept = self._memo[key]
        if kept is None:
            return None
        x = np.zeros(self.built.lp.n_cols)
        x[kept[1]] = kept[2]
        return kept[0], x

    def _time_left(self) -> float | None:
        return None if self.deadline is None else max(self.deadline - time.monotonic(), 1e-3)

    def _fixed(self, is_open: np.ndarray) -> np.ndarray | None:
        """Full-length values with the site columns at ``is_open`` (``None`` if that breaks a forced status)."""
        lp = self.built.lp
        S = self.built.n_sites
        if np.any(is_open & (lp.col_upper[:S] < 0.5)) or np.any(~is_open & (lp.col_lower[:S] > 0.5)):
            return None
        fixed = np.zeros(lp.n_cols)
        fixed[:S] = is_open
        return fixed

    def _open_lanes(self, is_open: np.ndarray) -> np.ndarray:
        """Lanes of open sites, by unit and then cost."""
        order = self._lane_order
        return order[is_open[self.built.lane_site[order]]]

    def _run(self, model: LinearModel, **limits: object) -> SolverResult:
        """One quiet HiGHS solve of a sub-problem (its plan and bound are not the network's)."""
        with progress.quiet():
            raw = get_solver("highs").solve(model, SolveOptions(time_limit=self._time_left(), threads=1,
                                                               **limits))  # type: ignore[arg-type]
        self.lp_solves += 1
        return raw

    def _assign(self, is_open: np.ndarray) -> tuple[float, np.ndarray] | None:
        """Single sourcing: the generalised assignment MIP over every lane of the open sites."""
        fixed = self._fixed(is_open)
        if fixed is None or interrupt.requested():
            return None
        keep = np.sort(self.built.n_sites + self._open_lanes(is_open))
        sub = restrict(self.built.lp, self.csc, keep, fixed, name=f"{self.built.lp.name}-assign")
        raw = self._run(sub.lp, mip_gap=ASSIGNMENT_GAP, node_limit=ASSIGNMENT_NODES)
        return None if raw.x is None else (float(raw.objective), sub.lift(raw.x))

    def _priced_lp(self, is_open: np.ndarray) -> tuple[float, np.ndarray] | None:
        """The transportation LP, from the cheapest lanes per unit, adding priced lanes until none pays."""
        fixed = self._fixed(is_open)
        if fixed is None:
            return None
        candidates = self._open_lanes(is_open)
        unit = self.built.lane_unit[candidates]
        rank = np.arange(candidates.size) - np.searchsorted(unit, unit)
        before = self._priced.solves
        solved = self._priced.solve(fixed, candidates, candidates[rank < FIRST_LANES], self.deadline, rank)
        self.lp_solves += self._priced.solves - before
        return solved

def repair(evaluate: Evaluate, is_open: np.ndarray, order: np.ndarray,
           out_of_time: Callable[[], bool] = lambda: False) -> tuple[np.ndarray, tuple[float, np.ndarray] | None]:
    """Open more sites, in ``order``, until the plan is feasible (or the time is up: a solve stopped by
    the limit is no sign that more sites are needed).

    Returns:
        The (possibly larger) set of open sites and its plan, or the last set tried and ``None``.
    """
    is_open = is_open.copy()
    result = evaluate(is_open)
    closed = [i for i in order if not is_open[i]]
    step = 1
    while result is None and closed and not out_of_time():
        for site in closed[:step]:
            is_open[site] = True
        closed = closed[step:]
        step *= 2  # few LP solves even when many sites are missing
        result = evaluate(is_open)
    return is_open, result


def move_estimates(built: BuiltModel, x: np.ndarray, is_open: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First-order cost changes of closing or opening each site, from the plan ``x`` of the sites ``is_open``.

    Closing a site moves its shares to their unit's cheapest other open lane (``inf`` when a unit
    it serves has none); opening one takes every unit whose current cost is above its lane to the
    site.  Capacities are ignored: the estimates only order the local search's moves, each of
    which is then costed exactly.

    Returns:
        ``(close, open)``: the estimated change of the plan's cost per site, each (S,).
    """
    S, C = built.n_sites, len(built.lane_site)
    site_cost = built.lp.c[:S]
    lane_cost = built.lp.c[S:S + C]
    site, unit = built.lane_site, built.lane_unit
    share = x[S:S + C]
    K = len(built.unit_region)
    unit_cost = np.bincount(unit, weights=lane_cost * share, minlength=K)
    saving = np.maximum(unit_cost[unit] - lane_cost, 0.0)
    opening = site_cost - np.bincount(site, weights=saving, minlength=S)
    lanes = np.flatnonzero(is_open[site])
    lanes = lanes[np.lexsort((lane_cost[lanes], unit[lanes]))]  # open lanes by unit, cheapest first
    first = np.r_[True, unit[lanes][1:] != unit[lanes][:-1]]
    second = np.r_[False, first[:-1]] & ~first  # the second lane of each unit
    best_cost, best_site, second_cost = np.full(K, np.inf), np.full(K, -1), np.full(K, np.inf)
    best_cost[unit[lanes[first]]] = lane_cost[lanes[first]]
    best_site[unit[lanes[first]]] = site[lanes[first]]
    second_cost[unit[lanes[second]]] = lane_cost[lanes[second]]
    used = np.flatnonzero(share > 0)
    alternative = np.where(best_site[unit[used]] == site[used], second_cost[unit[used]], best_cost[unit[used]])
    with np.errstate(invalid="ignore"):
        moved = np.bincount(site[used], weights=share[used] * (alternative - lane_cost[used]), minlength=S)
    closing = np.where(np.isnan(moved), np.inf, moved) - site_cost
    return closing, opening


def local_search(evaluate: Evaluate, free: np.ndarray, is_open: np.ndarray, best: float, site_value: np.ndarray,
                 *, max_moves: int, good_enough: float = -np.inf, x: np.ndarray | None = None,
                 estimate: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
                 lower: Callable[[np.ndarray], float] | None = None,
                 ) -> tuple[np.ndarray, float, np.ndarray | None]:
    """First-improvement search over close / open / swap moves, each costed by ``evaluate``.

    Single closings and openings are tried in the order of ``estimate`` (e.g. :func:`move_estimates`
    on the current plan: the cheapest-looking first) when it and ``x`` are given, else closings then
    openings in an order set by the Lagrangian site values (sites the relaxation likes least are
    closed first, liked most opened first); then swaps of the first three of each.  At most
    ``max_moves`` evaluations in all.  A move whose ``lower`` bound does not beat the current cost
    is skipped without an evaluation (and without counting).

    Args:
        evaluate: Cost of a set of open sites (e.g. :meth:`TransportSolver.score`).
        free: Sites whose status may change (not forced, not fixed).
        is_open: The starting set.
        best: Its cost.
        site_value: The relaxation's value of opening each site.
        max_moves: Most evaluations.
        good_enough: Stop once a set costs at most this (e.g. within the target gap of a bound).
        x: The starting set's plan.
        estimate: ``(x, is_open) -> (close, open)`` estimated cost changes per site.
        lower: A lower bound on the cost of a set of open sites (e.g. the Lagrangian relaxation
            with the sites fixed), ``inf`` for a set that cannot serve the demand.

    Returns:
        The best open set, its cost and its solution (``None`` when no move improved).
    """
    best_x: np.ndarray | None = None
    current = x
    moves = 0
    improved = True
    while improved and moves < max_moves and best > good_enough and not interrupt.requested():
        improved = False
        opened = np.flatnonzero(is_open & free)
        closed = np.flatnonzero(~is_open & free)
        if estimate is not None and current is not None:
            close_delta, open_delta = estimate(current, is_open)
            drops = opened[np.argsort(close_delta[opened], kind="stable")]
            adds = closed[np.argsort(open_delta[closed], kind="stable")]
            singles = np.r_[drops, adds][np.argsort(np.r_[close_delta[drops], open_delta[adds]], kind="stable")]
        else:
            drops = opened[np.argsort(-site_value[opened], kind="stable")]
            adds = closed[np.argsort(site_value[closed], kind="stable")]
            singles = np.r_[drops, adds]
        swaps = [(d, a) for d in drops[:3] for a in adds[:3]]
        for move in [*([int(i)] for i in singles), *swaps]:
            if moves >= max_moves:
                break
            trial = is_open.copy()
            trial[list(move)] = ~trial[list(move)]
            if lower is not None and lower(trial) >= best - 1e-9 * abs(best):
                continue
            moves += 1
            result = evaluate(trial)
            if result is not None and result[0] < best - 1e-9 * abs(best):
                is_open, (best, best_x) = trial, result
                current = best_x
                improved = True
                break
    return is_open, best, best_x
