"""The transportation LP of a set of open sites, by lane pricing, in one hot-started HiGHS session.

With the site columns fixed, a one-echelon model is an LP over the assignment lanes.  The local
search of :mod:`optimizer.strategies.transport` costs hundreds of site sets that differ in one or
two sites, so :class:`PricedTransport` keeps one LP alive (:class:`~optimizer.solvers.lp_session.LPSession`)
instead of building and solving each from scratch:

* its rows are the model's rows with two or more lane entries or a lane entry and no site entry
  (demand, capacity and the like); a row with one lane entry and site entries (the strong link
  ``a_c - y_i <= 0``) becomes a bound of that lane once the sites are fixed, and a row with no lane
  entry is checked directly (a site count, the aggregate capacity);
* its columns are a *pool* of lanes that only grows: each set starts from its units' cheapest
  :data:`FIRST_LANES` open lanes, the omitted open lanes are priced with the LP's row duals
  (reduced cost ``c_j - A_j^T pi``) and those of negative reduced cost join, until none is left,
  so the optimum covers every lane of the open sites.  Pool lanes of closed sites are bounded at 0
  by their link rows;
* each set changes the lane bounds and the right-hand sides (the fixed sites' contributions) and
  re-solves with the dual simplex from the previous basis.

The objective and the plan are the same as those of the restricted model over all open lanes
(:func:`optimizer.strategies.restrict.restrict`); the search is deterministic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from optimizer.model.build import BuiltModel
from optimizer.model.linear import LinearModel
from optimizer.solvers import interrupt
from optimizer.solvers.lp_session import LPSession

#: Cheapest lanes per assignment unit in the first pricing round.
FIRST_LANES = 4
#: Most pricing rounds before every lane of the open sites is added.
PRICING_ROUNDS = 25
#: Reduced costs above ``-PRICE_TOL * (1 + |c_j|)`` do not enter.
PRICE_TOL = 1e-9
#: A row without lanes holds when its fixed-site activity is within this (relative) of its bounds.
ROW_TOL = 1e-9


@dataclass
class PricedTransport:
    """Solves the transportation LP of any set of open sites (see the module docstring).

    Args:
        built: The one-echelon model (lanes are columns ``n_sites .. n_sites + C``).
        csc: ``built.lp.A`` in CSC form.

    Attributes:
        solves: Simplex runs so far.
    """

    built: BuiltModel
    csc: sp.csc_matrix
    solves: int = 0
    _session: LPSession | None = field(default=None, init=False, repr=False)
    _pool: np.ndarray = field(init=False, repr=False)
    _in_pool: np.ndarray = field(init=False, repr=False)
    _set_lower: np.ndarray = field(init=False, repr=False)
    _set_upper: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        built, csc = self.built, self.csc
        S, C = built.n_sites, len(built.lane_site)
        is_lane = np.zeros(built.lp.n_cols, dtype=bool)
        is_lane[S:S + C] = True
        lanes = csc[:, S:S + C]
        lane_entries = np.bincount(lanes.indices, minlength=built.lp.n_rows)
        other = csc[:, ~is_lane]
        other_entries = np.bincount(other.indices, minlength=built.lp.n_rows)
        link = (lane_entries == 1) & (other_entries > 0)
        self._rows = np.flatnonzero((lane_entries > 0) & ~link)  # the session's rows
        self._empty = np.flatnonzero(lane_entries == 0)  # checked directly
        link_rows = np.flatnonzero(link)
        links = lanes[link_rows].tocoo()  # one entry per link row: (its position, lane, coefficient)
        self._link_row = link_rows[links.row]
        self._link_lane = links.col
        self._link_coef = links.data
        self._lanes = lanes[self._rows].tocsc()  # lane entries on the session's rows
        self._other = other  # fixed columns' entries (their activity moves the right-hand sides)
        self._other_cols = np.flatnonzero(~is_lane)
        self._pool = np.zeros(0, dtype=np.int64)
        self._in_pool = np.zeros(C, dtype=bool)
        self._set_lower = np.zeros(0)  # the bounds of the pool columns in the session
        self._set_upper = np.zeros(0)

    def solve(self, fixed: np.ndarray, open_lanes: np.ndarray, first: np.ndarray,
              deadline: float | None, rank: np.ndarray | None = None) -> tuple[float, np.ndarray] | None:
        """The LP optimum with the non-lane columns at ``fixed``.

        Args:
            fixed: Full-length values; the site columns (and any other non-lane column) are fixed there.
            open_lanes: Lane indices (0-based among the lanes) of the open sites.
            first: The lanes to start from (a subset of ``open_lanes``).
            deadline: ``time.monotonic()`` value after which the solve stops.
            rank: Each open lane's rank by cost within its assignment unit (0: the cheapest).  When the
                pool cannot carry the demand, it grows to the lanes of rank below twice the reach so
                far, again and again, before it takes every open lane: one LP over every lane of a
                large network (483,000 columns) ran for 18 s past its time limit.

        Returns:
            ``(objective, x)`` with ``x`` full-length, or ``None`` when the set cannot serve the
            demand (or a limit or an interrupt stopped the solve).
        """
        lp = self.built.lp
        shift = self._other @ fixed[self._other_cols]
        lower, upper = lp.row_lower - shift, lp.row_upper - shift
        scale = 1.0 + np.abs(shift[self._empty])
        if np.any(lower[self._empty] > ROW_TOL * scale) or np.any(upper[self._empty] < -ROW_TOL * scale):
            return None
        lane_lower, lane_upper = self._lane_bounds(lower, upper)
        closed = np.ones(self._in_pool.size, dtype=bool)
        closed[open_lanes] = False
        if np.any((lane_lower > 0) & closed) or np.any(lane_lower[open_lanes] > lane_upper[open_lanes]):
            return None  # a lane of a closed site forced, or crossed bounds: no plan (as in the restricted model)
        lane_upper = np.maximum(lane_upper, lane_lower)  # closed sites' lanes: both 0
        self._grow(first, lane_lower, lane_upper, lower, upper)
        everything = False
        reach = FIRST_LANES
        rounds = 0
        while rounds <= PRICING_ROUNDS:
            if interrupt.requested() or (deadline is not None and time.monotonic() >= deadline):
                return None
            outcome = self._session.solve(*self._changed_bounds(lane_lower, lane_upper),  # type: ignore[union-attr]
                                          deadline=deadline)
            self.solves += 1
            if outcome.status == "infeasible" and not everything:  # the pool alone cannot carry the demand
                reach *= 2
                everything = rank is None or reach > int(rank.max(initial=0))
                self._grow(open_lanes if everything else open_lanes[rank < reach], lane_lower, lane_upper,
                           lower, upper)
                continue
            rounds += 1
            if outcome.status != "optimal":
                return None
            entering = self._price(outcome.row_dual, open_lanes)  # type: ignore[arg-type]
            if entering.size == 0:
                return self._plan(fixed, outcome.x)  # type: ignore[arg-type]
            self._grow(entering, lane_lower, lane_upper, lower, upper)
        return None

    def _changed_bounds(self, lane_lower: np.ndarray, lane_upper: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                                       np.ndarray]:
        """The pool columns whose bounds differ from the session's, with their new bounds (and remember them)."""
        lower, upper = lane_lower[self._pool], lane_upper[self._pool]
        changed = np.flatnonzero((lower != self._set_lower) | (upper != self._set_upper))
        self._set_lower, self._set_upper = lower, upper
        return changed, lower[changed], upper[changed]

    def _lane_bounds(self, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every lane's bounds: its own, tightened by its link rows at the current right-hand sides."""
        S, C = self.built.n_sites, self._in_pool.size
        lane_lower = np.array(self.built.lp.col_lower[S:S + C], dtype=float)
        lane_upper = np.array(self.built.lp.col_upper[S:S + C], dtype=float)
        coef, rows = self._link_coef, self._link_row
        low = np.where(coef > 0, lower[rows], upper[rows]) / coef
        high = np.where(coef > 0, upper[rows], lower[rows]) / coef
        np.maximum.at(lane_lower, self._link_lane, low)
        np.minimum.at(lane_upper, self._link_lane, high)
        return lane_lower, lane_upper

    def _grow(self, lanes: np.ndarray, lane_lower: np.ndarray, lane_upper: np.ndarray,
              lower: np.ndarray, upper: np.ndarray) -> None:
        """Add ``lanes`` not yet in the pool (the first call creates the session) and set the row bounds."""
        mark = np.zeros(self._in_pool.size, dtype=bool)
        mark[lanes] = True
        new = np.flatnonzero(mark & ~self._in_pool)
        S = self.built.n_sites
        c = self.built.lp.c[S + new]
        if self._session is None:
            self._session = LPSession(LinearModel(
                c=c, A=self._lanes[:, new].tocsr(), row_lower=lower[self._rows], row_upper=upper[self._rows],
                col_lower=lane_lower[new], col_upper=lane_upper[new], integer=np.zeros(new.size, dtype=bool),
                name=f"{self.built.lp.name}-transport"))
        else:
            self._session.add_cols(c, lane_lower[new], lane_upper[new], self._lanes[:, new])
            self._session.set_row_bounds(np.arange(self._rows.size), lower[self._rows], upper[self._rows])
        self._pool = np.concatenate([self._pool, new])
        self._in_pool[new] = True
        self._set_lower = np.concatenate([self._set_lower, lane_lower[new]])
        self._set_upper = np.concatenate([self._set_upper, lane_upper[new]])

    def _price(self, row_dual: np.ndarray, open_lanes: np.ndarray) -> np.ndarray:
        """Open lanes outside the pool of negative reduced cost ``c_j - A_j^T row_dual``."""
        omitted = open_lanes[~self._in_pool[open_lanes]]
        if omitted.size == 0:
            return omitted
        c = self.built.lp.c[self.built.n_sites + omitted]
        reduced = c - self._lanes[:, omitted].T @ row_dual
        return omitted[reduced < -PRICE_TOL * (1.0 + np.abs(c))]

    def _plan(self, fixed: np.ndarray, pool_x: np.ndarray) -> tuple[float, np.ndarray]:
        """The full-length plan and its cost (from the model's own objective)."""
        lp = self.built.lp
        x = np.array(fixed, dtype=float)
        x[self.built.n_sites + self._pool] = pool_x
        return float(np.dot(lp.c, x) + lp.offset), x

