"""Lagrangian relaxation of the demand rows: a valid lower bound, vectorised over every lane.

Relaxing ``sum_c a_c = 1`` (one row per assignment unit ``k``) with multipliers ``lambda_k``
splits the location-allocation model of :mod:`optimizer.model.build` into one problem per
site plus a small problem over the site binaries:

* for an open site ``i``, a knapsack: ``min sum_c (cost_c - lambda_k(c)) a_c`` over its lanes,
  ``sum_c volume_c a_c <= capacity_i``, ``0 <= a_c <= 1``; solved greedily (by reduced cost per
  volume unit) for all sites at once with one sort of the lanes of negative reduced cost.  Its
  value ``v_i <= 0`` is exact for fractional shares (multi-sourcing) and a lower bound of the 0/1
  knapsack (single sourcing), so the bound stays valid either way;
* over the site binaries: ``min sum_i (f_i + v_i) y_i`` with the model's forced statuses, site
  counts and aggregate capacity row ``sum_i capacity_i y_i >= total volume`` (a covering
  knapsack solved as a small MIP, whose proven bound is used): this row is what lifts the
  bound above the LP relaxation's.

``L(lambda) = offset + sum_k lambda_k + min_y (...)`` is a lower bound of the optimum for every
``lambda``; :func:`subgradient` maximises it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from optimizer import progress
from optimizer.model.build import BuiltModel, count_bounds
from optimizer.model.linear import LinearModel
from optimizer.solvers import get_solver
from optimizer.solvers.base import SolveOptions


@dataclass(frozen=True)
class SiteProblem:
    """The arrays the relaxation reads, taken once from a built one-echelon model.

    Attributes:
        site_cost: Objective coefficient of each site binary (fixed cost less the closing cost
            saved), currency per period, shape (S,).
        lane_cost: Objective coefficient of each assignment lane (serving the whole unit), (C,).
        lane_site: Site index of each lane, (C,).
        lane_unit: Assignment-unit index of each lane, (C,).
        lane_volume: Volume units per period of each lane's whole unit, (C,).
        capacity: Site capacity in volume units per period (``inf``: none), (S,).
        y_lower: Lower bound of each site binary (1: forced open), (S,).
        y_upper: Upper bound of each site binary (0: forced closed), (S,).
        count: Bounds on the number of open sites, or ``None``.
        cover_volume: Right-hand side of the aggregate capacity row, or ``None`` without the row.
        offset: Objective constant (closing costs), currency per period.
        n_units: Number of assignment units.
    """

    site_cost: np.ndarray
    lane_cost: np.ndarray
    lane_site: np.ndarray
    lane_unit: np.ndarray
    lane_volume: np.ndarray
    capacity: np.ndarray
    y_lower: np.ndarray
    y_upper: np.ndarray
    count: tuple[float, float] | None
    cover_volume: float | None
    offset: float
    n_units: int

    @classmethod
    def from_built(cls, built: BuiltModel) -> SiteProblem:
        """Read the relaxation's data from a one-echelon model (no supply-side columns)."""
        S, C = built.n_sites, len(built.lane_site)
        lp = built.lp
        volume = built.network.products["volume"].to_numpy(dtype=float)
        unit_volume = built.unit_mix @ volume
        capacity = built.network.sites["capacity"].to_numpy(dtype=float)
        usable = lp.col_upper[:S] > 0.5
        cover = float(unit_volume.sum()) if C and usable.any() and np.isfinite(capacity[usable]).all() else None
        return cls(site_cost=np.array(lp.c[:S]), lane_cost=np.array(lp.c[S:S + C]),
                   lane_site=np.asarray(built.lane_site), lane_unit=np.asarray(built.lane_unit),
                   lane_volume=unit_volume[built.lane_unit], capacity=capacity,
                   y_lower=np.array(lp.col_lower[:S]), y_upper=np.array(lp.col_upper[:S]),
                   count=count_bounds(built.network), cover_volume=cover, offset=float(lp.offset),
                   n_units=len(built.unit_region))

    @property
    def n_sites(self) -> int:
        """Number of sites."""
        return len(self.site_cost)


@dataclass(frozen=True)
class Relaxed:
    """The relaxation solved at one multiplier vector.

    Attributes:
        bound: ``L(lambda)``, a valid lower bound of the optimum, currency per period.
        free_bound: The weaker bound without the site-count and aggregate capacity rows (the base of
            the site-fixing tests in :func:`site_flip_bounds`).
        site_value: ``f_i + v_i``: what opening each site adds to the relaxation, (S,).
        y: Sites open in the relaxation's solution (bool, (S,)).
        take: Each lane's share in its site's knapsack if the site is open, (C,).
        subgradient: ``1 - sum of the unit's shares at open sites`` per unit, (K,).
    """

    bound: float
    free_bound: float
    site_value: np.ndarray
    y: np.ndarray
    take: np.ndarray
    subgradient: np.ndarray


def knapsacks(problem: SiteProblem, reduced: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every site's greedy knapsack over its lanes of negative reduced cost.

    A site whose negative lanes fit in its capacity takes them all; only the lanes of the other
    sites are sorted (one sort for all of them), by reduced cost per unit of volume.

    Args:
        problem: The relaxation's data.
        reduced: Reduced cost of each lane (``cost_c - lambda_k(c)``), (C,).

    Returns:
        ``(value, take)``: each site's knapsack value (<= 0), (S,), and each lane's share, (C,).
    """
    take = np.zeros(len(reduced))
    idx = np.flatnonzero(reduced < 0.0)
    if idx.size == 0:
        return np.zeros(problem.n_sites), take
    site = problem.lane_site[idx]
    vol = problem.lane_volume[idx]
    rc = reduced[idx]
    demand = np.bincount(site, weights=vol, minlength=problem.n_sites)
    fits = demand[site] <= problem.capacity[site]
    take[idx[fits]] = 1.0
    value = np.bincount(site[fits], weights=rc[fits], minlength=problem.n_sites).astype(float)  # int when empty
    full = ~fits
    if not full.any():
        return value, take
    site, vol, rc, lanes = site[full], vol[full], rc[full], idx[full]
    ratio = np.divide(rc, vol, out=np.full(lanes.size, -np.inf), where=vol > 0)
    order = np.lexsort((ratio, site))
    site, vol, rc, lanes = site[order], vol[order], rc[order], lanes[order]
    before = np.cumsum(vol) - vol
    first = np.flatnonzero(np.r_[True, site[1:] != site[:-1]])
    used = before - np.repeat(before[first], np.diff(np.r_[first, site.size]))
    room = problem.capacity[site] - used
    share = np.ones(site.size)
    np.divide(room, vol, out=share, where=vol > 0)
    share = np.clip(share, 0.0, 1.0)
    take[lanes] = share
    value += np.bincount(site, weights=rc * share, minlength=problem.n_sites)
    return value, take


def evaluate(problem: SiteProblem, lam: np.ndarray, exact: bool = True) -> Relaxed:
    """Solve the relaxation at multipliers ``lam`` (one per assignment unit).

    Args:
        problem: The relaxation's data.
        lam: One multiplier per assignment unit.
        exact: Solve the site problem exactly (see :func:`choose_sites`); ``False`` allows its linear
            relaxation where the exact problem would need a MIP (a weaker but still valid bound,
            cheap enough for every subgradient step).

    Raises:
        SitesInfeasible: No choice of sites meets the forced statuses, counts and aggregate capacity.
    """
    reduced = problem.lane_cost - lam[problem.lane_unit]
    value, take = knapsacks(problem, reduced)
    site_value = problem.site_cost + value
    y, site_bound = choose_sites(problem, site_value, exact)
    free_y = (problem.y_lower > 0.5) | ((site_value < 0) & (problem.y_upper > 0.5))
    base = problem.offset + float(lam.sum())
    open_take = take * y[problem.lane_site]
    served = np.bincount(problem.lane_unit, weights=open_take, minlength=problem.n_units)
    return Relaxed(bound=base + site_bound, free_bound=base + float(site_value[free_y].sum()), site_value=site_value,
                   y=y, take=take, subgradient=1.0 - served)


class SitesInfeasible(Exception):
    """The site binaries alone cannot meet the forced statuses, site counts and aggregate capacity."""


def choose_sites(problem: SiteProblem, site_value: np.ndarray, exact: bool = True) -> tuple[np.ndarray, float]:
    """The relaxation's best sites: ``min sum_i site_value_i y_i`` under the site-only rows.

    Exact and instant by sorting when there is no aggregate capacity row or every free site has
    the same capacity (then only the number of open sites matters); otherwise a small MIP
    (HiGHS) over the site binaries, whose proven bound (not its incumbent) is returned, so the
    Lagrangian bound stays valid even if that MIP stops short of proof.  With ``exact=False``
    and no site count, the covering knapsack's linear relaxation (Dantzig's greedy) gives the
    bound instead, and the sites it uses, rounded up, the choice.

    Returns:
        ``(y, bound)``: the chosen sites (bool) and a lower bound of the minimum.

    Raises:
        SitesInfeasible: No choice of sites meets the rows.
    """
    lower, upper = problem.y_lower > 0.5, problem.y_upper > 0.5
    y = lower | ((site_value < 0) & upper)
    if _meets_site_rows(problem, y):
        return y, float(site_value[y].sum())
    free = np.flatnonzero(upper & ~lower)
    if problem.cover_volume is None or np.unique(problem.capacity[free]).size <= 1:
        return _by_count(problem, site_value, lower, free)
    if not exact and problem.count is None:
        return _cover_relaxation(problem, site_value, y, free)
    S = problem.n_sites
    rows, lo, hi = [np.where(upper, problem.capacity, 0.0)], [problem.cover_volume], [np.inf]
    if problem.count is not None:
        rows.append(np.ones(S))
        lo.append(problem.count[0])
        hi.append(problem.count[1])
    model = LinearModel(c=site_value, A=sp.csr_matrix(np.vstack(rows)), row_lower=np.array(lo),
                        row_upper=np.array(hi), col_lower=problem.y_lower, col_upper=problem.y_upper,
                        integer=np.ones(S, dtype=bool), name="lagrangian-sites")
    with progress.quiet():  # a sub-problem: its plan and bound are not the network's
        raw = get_solver("highs").solve(model, SolveOptions(threads=1))
    if not raw.status.has_plan or raw.x is None:
        raise SitesInfeasible(raw.message)
    bound = raw.bound if raw.bound is not None else -np.inf
    return raw.x > 0.5, float(bound)


def _cover_relaxation(problem: SiteProblem, site_value: np.ndarray, y: np.ndarray,
                      free: np.ndarray) -> tuple[np.ndarray, float]:
    """The aggregate capacity row's linear relaxation: add the free sites of least value per
    capacity unit until the row holds, the last one fractionally (its share counts in the bound)."""
    missing = float(problem.cover_volume) - float(problem.capacity[y].sum())  # type: ignore[arg-type]
    pool = free[~y[free] & (problem.capacity[free] > 0)]
    if float(problem.capacity[pool].sum()) < missing:
        raise SitesInfeasible("the usable sites' capacity is below the total demand volume")
    pool = pool[np.argsort(site_value[pool] / problem.capacity[pool], kind="stable")]
    before = np.cumsum(problem.capacity[pool]) - problem.capacity[pool]
    needed = pool[before < missing]
    share = np.clip((missing - before[:needed.size]) / problem.capacity[needed], 0.0, 1.0)
    chosen = y.copy()
    chosen[needed] = True
    return chosen, float(site_value[y].sum() + site_value[needed] @ share)


def _by_count(problem: SiteProblem, site_value: np.ndarray, lower: np.ndarray,
              free: np.ndarray) -> tuple[np.ndarray, float]:
    """Exact site choice when only the number of free sites opened matters.

    That is the case without an aggregate capacity row, or when every free site has the same
    capacity ``q`` (the row then asks for at least ``k_min`` of them): the best choice of ``k``
    free sites is the ``k`` of least value, and ``k`` is the number of negative values clamped
    to the rows' range.
    """
    n_forced = int(np.count_nonzero(lower))
    k_low, k_high = 0, free.size
    if problem.count is not None:  # either side may be infinite
        if np.isfinite(problem.count[0]):
            k_low = max(k_low, int(np.ceil(problem.count[0] - 1e-9)) - n_forced)
        if np.isfinite(problem.count[1]):
            k_high = min(k_high, int(np.floor(problem.count[1] + 1e-9)) - n_forced)
    if problem.cover_volume is not None:
        missing = problem.cover_volume - float(problem.capacity[lower].sum())
        if missing > 0:
            q = float(problem.capacity[free[0]]) if free.size else 0.0
            need = free.size + 1 if q <= 0 else int(np.ceil(missing / q))
            while need > 0 and (need - 1) * q >= missing:
                need -= 1
            while need <= free.size and need * q < missing:
                need += 1
            k_low = max(k_low, need)
    if k_low > k_high:
        raise SitesInfeasible("the site counts and the aggregate capacity row cannot both hold")
    order = free[np.argsort(site_value[free], kind="stable")]
    k = int(np.clip(np.count_nonzero(site_value[free] < 0), k_low, k_high))
    y = lower.copy()
    y[order[:k]] = True
    return y, float(site_value[y].sum())


def _meets_site_rows(problem: SiteProblem, y: np.ndarray) -> bool:
    """Whether the sign-chosen sites already satisfy the count and aggregate capacity rows."""
    if problem.count is not None and not problem.count[0] <= y.sum() <= problem.count[1]:
        return False
    return problem.cover_volume is None or float(problem.capacity[y].sum()) >= problem.cover_volume


def site_flip_bounds(problem: SiteProblem, relaxed: Relaxed) -> np.ndarray:
    """A lower bound on the cost of any plan whose site ``i`` differs from the free choice, per site.

    The free choice opens exactly the sites of negative ``site_value`` (and the forced ones);
    flipping site ``i`` costs at least ``|site_value_i|`` more in the relaxation without the
    count and aggregate rows, whose bound (:attr:`Relaxed.free_bound`) is valid too.  Forced
    sites cannot flip (``inf``).
    """
    flip = relaxed.free_bound + np.abs(relaxed.site_value)
    return np.where((problem.y_lower > 0.5) | (problem.y_upper < 0.5), np.inf, flip)


def initial_multipliers(problem: SiteProblem) -> np.ndarray:
    """Starting multipliers: each unit's cheapest lane cost plus its volume's share of that site's fixed cost."""
    share = np.zeros(len(problem.lane_cost))
    capped = np.isfinite(problem.capacity[problem.lane_site]) & (problem.capacity[problem.lane_site] > 0)
    share[capped] = (np.maximum(problem.site_cost[problem.lane_site[capped]], 0.0)
                     * problem.lane_volume[capped] / problem.capacity[problem.lane_site[capped]])
    loaded = problem.lane_cost + share
    lam = np.full(problem.n_units, np.inf)
    np.minimum.at(lam, problem.lane_unit, loaded)
    return np.where(np.isfinite(lam), lam, 0.0)
