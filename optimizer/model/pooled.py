"""The pooled inventory model: safety and EOQ cycle stock with square-root risk pooling.

Safety stock of site ``s`` and product ``p`` is
``k_sp * sqrt(sum_c w_cp * a_c**2)`` over the site's assignment columns
``a_c`` (``k_sp = z_p * sqrt(lead time / period)``, ``w_cp`` the per-period
demand variance of the lane's region and product; see
:mod:`optimizer.stock` for the ``f**2 sigma**2`` rule of split regions).  Parallel
lanes of one site to one region (the road lane and links of other modes) count as
one share, the sum of their columns (:attr:`PooledInventory.lane_pair`).
``g(a) = ||sqrt(w) o a||_2`` is a norm, hence convex in ``a``: every tangent
plane ``g(a) >= sum_c (w_c a0_c / g(a0)) a_c`` is a valid lower bound
(outer approximation), for fractional and binary ``a`` alike.  EOQ cycle stock
``sqrt(K 365 / (2 T h)) * sqrt(sum_c d_cp a_c)`` has the same form on binary
assignments (``a = a**2``), so it needs single sourcing; products without an
ordering cost use the review-period rule, whose cycle stock is linear in ``a``
and is costed exactly on the assignment columns.

With single sourcing the assignments are binary and ``f(S) = sqrt(sum_{c in S} w_c)``
is a submodular set function, so the stronger *extended polymatroid* cuts apply
(Atamtürk and Narayanan, "Polymatroids and mean-risk minimization in discrete
optimization", 2008): for any order of a site's lanes, ``stock >= k * sum_i
(sqrt(W_i) - sqrt(W_{i-1})) a_(i)`` with ``W_i`` the weight of the first ``i``
lanes.  Together they describe the convex hull of the epigraph on binaries; a cut
is tight at every prefix of its order and, unlike a tangent, also prices the lanes
the incumbent does not use.  Measured on the demo they cut the time of the loop by
3x (and 4x with demand +20 %).  With fractional shares (multi-sourcing) only the
tangents are valid.

:func:`add_pooled_inventory` returns a new model (its input is left unchanged)
with one continuous column per (site, product) for safety stock (and one for EOQ
cycle stock), in units, with the holding cost per unit and period as objective
coefficient, plus seed cuts; it replaces the foundation's linear
``days_of_cover`` holding cost on the assignment columns.
:func:`optimizer.strategies.pooled.solve_pooled` then runs the cutting-plane loop: solve the MIP, compare the
model's stock with the exact square roots at the incumbent, add cuts (tight at
the incumbent) where the model is low (:meth:`PooledInventory.refine`, which returns
a new model with the cuts), and re-solve warm-started, until the holding cost's
relative approximation error is below ``rel_tol``.  Because every cut is valid,
each round's MIP bound is a lower bound of the true optimum.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from optimizer.errors import InputError, Problem
from optimizer.stock import (
    DAYS_PER_YEAR,
    demand_std_matrix,
    inventory_settings,
    lead_time_factor,
    product_parameters,
    site_lead_times,
)
from optimizer.model.build import BuiltModel
from optimizer.model.linear import append_rows, read_only, read_only_csr

#: Seed tangents at "the regions for which the site is among the k cheapest", for these k.
SEED_NEIGHBOURS = (1, 2, 3, 5, 8)

#: Sort key offset that puts the incumbent's lanes before all others when ordering a cut.
BIG_KEY = 1e18

#: A cut is added where the model's stock is below the exact stock by more than this (relative).
CUT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class StockTerm:
    """One square-root stock term per (site, product): ``stock_sp >= k_sp * sqrt(sum_c w_cp a_c**2)``.

    Attributes:
        weight: ``w``, shape (C, P): variance (safety) or mean demand (EOQ cycle) per period of each lane.
        factor: ``k``, shape (S, P): units of stock per unit of the square root.
        column: Model column of each (site, product) stock, -1 where the term is absent, shape (S, P).
    """

    weight: np.ndarray
    factor: np.ndarray
    column: np.ndarray

    def __post_init__(self) -> None:
        for name in ("weight", "factor", "column"):
            object.__setattr__(self, name, read_only(getattr(self, name)))


@dataclass(frozen=True)
class PooledInventory:
    """A built model extended with pooled inventory columns, and how to evaluate them (immutable).

    Attributes:
        built: The extended model (stock columns and the cuts so far); the model it was made
            from is unchanged.
        lane_cols: Model column of every assignment lane, shape (C,).
        incidence: Site x lane 0/1 matrix (CSR, shape (S, C)).
        cost_per_unit: Holding cost of one unit for one period, currency, shape (P,).
        safety: The safety-stock term.
        cycle: The EOQ cycle-stock term (columns -1 everywhere when no product has an ordering cost).
        review_cycle: Exact holding cost of review-period cycle stock per assignment lane,
            currency per period, shape (C,) (already in the objective, linear).
        binary: The assignment columns are binary (single sourcing): extended polymatroid cuts
            apply; otherwise (fractional shares) tangents of the norm.
        lane_cost: Shipping cost of each lane at full service, currency per period (orders the cuts).
        lane_pair: The first lane of each lane's (site, assignment unit) pair, shape (C,): a site's parallel
            lanes to one region (the road lane and site -> region links of other modes) serve one share of
            its demand, ``f`` = the sum of their columns, whatever the modes (empty: no parallel lanes).
        n_cuts: Number of cuts in the model.
    """

    built: BuiltModel
    lane_cols: np.ndarray
    incidence: sp.csr_matrix
    cost_per_unit: np.ndarray
    safety: StockTerm
    cycle: StockTerm
    review_cycle: np.ndarray
    binary: bool = False
    lane_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lane_pair: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    n_cuts: int = 0

    def __post_init__(self) -> None:
        for name in ("lane_cols", "cost_per_unit", "review_cycle", "lane_cost", "lane_pair"):
            object.__setattr__(self, name, read_only(getattr(self, name)))
        object.__setattr__(self, "incidence", read_only_csr(self.incidence))

    def pair_shares(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each lane's pair share (the sum of its pair's lane columns in ``a``, shape (C,)) and whether the
        lane is its pair's first (the one that counts the pair once)."""
        if not len(self.lane_pair):
            return a, np.ones(len(a), dtype=bool)
        total = np.bincount(self.lane_pair, weights=a, minlength=len(a))
        return total[self.lane_pair], self.lane_pair == np.arange(len(a))

    def exact_stock(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact EOQ cycle and safety stock per (site, product) at ``x``, units, each shape (S, P)."""
        share, first = self.pair_shares(np.asarray(x, dtype=float)[self.lane_cols])
        a2 = np.where(first, share ** 2, 0.0)
        return tuple(  # type: ignore[return-value]
            term.factor * np.sqrt(np.maximum(self.incidence @ (term.weight * a2[:, None]), 0.0))
            for term in (self.cycle, self.safety)
        )

    def exact_costs(self, x: np.ndarray) -> tuple[float, float]:
        """Exact (cycle, safety) holding cost at ``x``, currency per period (cycle includes review-period stock)."""
        eoq, safety = self.exact_stock(x)
        review = self.review_cycle @ np.asarray(x, dtype=float)[self.lane_cols]
        cycle = float(review + eoq.sum(axis=0) @ self.cost_per_unit)
        return cycle, float(safety.sum(axis=0) @ self.cost_per_unit)

    def estimate(self, x: np.ndarray) -> float:
        """The model's holding cost at ``x``, currency per period."""
        return float(self.built.cost_vectors["holding"] @ np.asarray(x, dtype=float))

    def lift(self, x: np.ndarray) -> np.ndarray:
        """``x`` with every stock column set to its exact value (feasible for every valid cut)."""
        out = np.asarray(x, dtype=float).copy()
        for term, stock in zip((self.cycle, self.safety), self.exact_stock(x)):
            has = term.column >= 0
            out[term.column[has]] = stock[has]
        return out

    def refine(self, x: np.ndarray, tolerance: float = CUT_TOLERANCE) -> PooledInventory:
        """A new model with a cut at ``x`` for every stock column the model underestimates there.

        Args:
            x: A solution of the current model.
            tolerance: Relative shortfall below which no cut is added.

        Returns:
            The refined model (``self`` itself when no cut is needed); ``self`` is unchanged.
        """
        x = np.asarray(x, dtype=float)
        blocks = []
        for term, stock in zip((self.cycle, self.safety), self.exact_stock(x)):
            has = term.column >= 0
            short = np.zeros_like(has)
            short[has] = stock[has] - x[term.column[has]] > tolerance * np.maximum(stock[has], 1.0)
            s, p = np.nonzero(short)
            if self.binary:  # selected lanes first, then the others cheapest first
                blocks.append(self.polymatroid_cuts(term, s, p, self.lane_cost - BIG_KEY * x[self.lane_cols]))
            else:
                blocks.append(self.tangent_cuts(term, s, p, x[self.lane_cols]))
        return self.with_cuts(sp.vstack(blocks, format="csr"))

    def separate(self, x: np.ndarray, tolerance: float) -> PooledInventory:
        """A new model with the cuts that ``x`` (e.g. an LP solution, fractional) violates.

        Binary assignments: for every stock column, the extended polymatroid cut with the lanes
        in decreasing order of ``x`` (ties cheapest first), the most violated one (Atamtürk and
        Narayanan's greedy separation); it is added when it exceeds the column's value by more than
        ``tolerance`` relative to ``max(1, value)``.  Fractional shares: the tangent at ``x`` where the
        model's stock is that much below the norm.

        Returns:
            The model with the violated cuts (``self`` when there are none).
        """
        x = np.asarray(x, dtype=float)
        if not self.binary:
            return self.refine(x, tolerance)
        order = np.lexsort((self.lane_cost, -np.round(x[self.lane_cols], 9)))
        key = np.empty(len(order))
        key[order] = np.arange(len(order))  # rank by decreasing share, then cost
        blocks = []
        for term in (self.cycle, self.safety):
            s, p = np.nonzero(term.column >= 0)
            if not len(s):
                continue
            cuts = self.polymatroid_cuts(term, s, p, key)
            stock = cuts.maximum(0) @ x  # each row's one positive entry is its stock column (coefficient 1)
            violated = -(cuts @ x) > tolerance * np.maximum(np.abs(stock), 1.0)
            blocks.append(cuts[np.flatnonzero(violated)])
        if not blocks:
            return self
        return self.with_cuts(sp.vstack(blocks, format="csr"))

    def with_cuts(self, cuts: sp.csr_matrix) -> PooledInventory:
        """A new model with the rows ``cuts @ x >= 0`` added (``self`` when there are none)."""
        n = cuts.shape[0]
        if n == 0:
            return self
        lp = append_rows(self.built.lp, cuts, np.zeros(n), np.full(n, np.inf))
        return replace(self, built=replace(self.built, lp=lp), n_cuts=self.n_cuts + n)

    def polymatroid_cuts(self, term: StockTerm, s: np.ndarray, p: np.ndarray, key: np.ndarray) -> sp.csr_matrix:
        """The extended polymatroid cut of ``term`` for each pair (s, p), lanes taken in ``key`` order.

        With the site's lanes sorted by ``key`` (ascending), lane i gets the coefficient
        ``k (sqrt(W_i) - sqrt(W_{i-1}))``, ``W_i`` the weight of the first i lanes.  The square
        root of a sum is submodular, so on binary assignments each such cut is valid, and
        together they describe the convex hull (Atamtürk and Narayanan, 2008); a cut is tight
        at every prefix of its order, e.g. at the incumbent when its lanes come first.

        Returns:
            The cut rows ``stock - sum coef * a >= 0`` (one per pair with a positive coefficient).
        """
        indptr, site_lanes = self.incidence.indptr, self.incidence.indices
        counts = indptr[s + 1] - indptr[s]
        pair = np.repeat(np.arange(len(s)), counts)
        lanes = site_lanes[indptr[s][pair] + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)]
        order = np.lexsort((key[lanes], pair))
        pair, lanes = pair[order], lanes[order]
        weight = term.weight[lanes, p[pair]]
        total = np.cumsum(weight)
        start = np.cumsum(counts) - counts  # first position of each pair's lanes
        offset = np.where(start > 0, total[np.maximum(start - 1, 0)], 0.0) if len(total) else np.zeros(len(s))
        cum = total - np.repeat(offset, counts)  # W_i within the pair
        before = cum - weight
        coef = term.factor[s[pair], p[pair]] * (np.sqrt(np.maximum(cum, 0.0)) - np.sqrt(np.maximum(before, 0.0)))
        has = np.zeros(len(s), dtype=bool)
        np.logical_or.at(has, pair, coef > 0)
        nz = (coef > 0) & has[pair]
        row_of_pair = np.cumsum(has) - 1
        return self._rows(row_of_pair[pair[nz]], lanes[nz], coef[nz], term.column[s[has], p[has]])

    def tangent_cuts(self, term: StockTerm, s: np.ndarray, p: np.ndarray, a0: np.ndarray) -> sp.csr_matrix:
        """The tangent cut of ``term`` at lane point ``a0`` (shape (C,)) for each pair (s, p): the gradient of
        ``k sqrt(sum w f**2)`` over the site's (site, unit) pair shares ``f``, the same for a pair's lanes.

        Returns:
            The cut rows ``stock - sum coef * a >= 0`` (pairs whose square root is 0 at ``a0`` get none).
        """
        share, first = self.pair_shares(a0)
        indptr, site_lanes = self.incidence.indptr, self.incidence.indices
        counts = indptr[s + 1] - indptr[s]
        pair = np.repeat(np.arange(len(s)), counts)
        lanes = site_lanes[indptr[s][pair] + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)]
        w_a0 = term.weight[lanes, p[pair]] * share[lanes]
        norm = np.zeros(len(s))
        np.add.at(norm, pair, np.where(first[lanes], w_a0 * share[lanes], 0.0))
        norm = np.sqrt(norm)
        keep = norm > 0
        coef = term.factor[s[pair], p[pair]] * w_a0 / np.where(keep, norm, 1.0)[pair]
        nz = (coef > 0) & keep[pair]
        row_of_pair = np.cumsum(keep) - 1
        return self._rows(row_of_pair[pair[nz]], lanes[nz], coef[nz], term.column[s[keep], p[keep]])

    def _rows(self, cut: np.ndarray, lanes: np.ndarray, coef: np.ndarray, stock_cols: np.ndarray) -> sp.csr_matrix:
        """Rows ``stock_cols[i] - sum coef * a_lane`` (triplets ``cut``, ``lanes``, ``coef``), shape (n, n_cols)."""
        n = len(stock_cols)
        return sp.csr_matrix(
            (np.concatenate([-coef, np.ones(n)]),
             (np.concatenate([cut, np.arange(n)]), np.concatenate([self.lane_cols[lanes], stock_cols]))),
            shape=(n, self.built.lp.n_cols),
        )


def add_pooled_inventory(built: BuiltModel) -> PooledInventory:
    """A new model: ``built`` with the pooled inventory columns and seed cuts (``built`` is unchanged).

    The assignment columns are ``n_sites + arange(len(lane_site))``; the new
    columns go after every existing column, and every cost vector is extended
    so that ``costs(x)`` of the new model stays the breakdown.  The foundation's linear
    holding cost on the assignment columns is replaced by the exact
    review-period cycle cost (zero for EOQ products).  A warm start of ``built``
    is kept, with the stock columns at their exact values.

    Args:
        built: A built model (without pooled inventory).

    Returns:
        The extended model (``.built``) with its inventory columns and their evaluation.

    Raises:
        InputError: A product has an ordering cost (EOQ) but the network is not single-sourcing.
    """
    net = built.network
    T = float(net.settings.period_days)
    review = inventory_settings(net).review_days
    S, P = built.n_sites, len(net.products)
    C = len(built.lane_site)
    lane_cols = S + np.arange(C)
    params = product_parameters(net)
    h_year = params["holding_per_year"].to_numpy()
    K = params["ordering_cost"].to_numpy()
    eoq = (K > 0) & (h_year > 0)
    if eoq.any() and not net.settings.single_sourcing:
        named = ", ".join(map(str, net.products.index[eoq][:3]))
        raise InputError(Problem(
            "network.yaml",
            f"the pooled inventory model with ordering costs (EOQ cycle stock, products {named}) needs "
            "single sourcing: set constraints: single_sourcing: true, or set ordering_cost to 0",
            field="constraints.single_sourcing"))
    cost_per_unit = h_year * T / DAYS_PER_YEAR

    lane_region = built.unit_region[built.lane_unit]
    lane_mix = built.unit_mix[built.lane_unit]  # (C, P) units per period
    has_product = lane_mix > 0
    variance = np.where(has_product, demand_std_matrix(net)[lane_region] ** 2, 0.0)
    incidence = sp.csr_matrix((np.ones(C), (built.lane_site, np.arange(C))), shape=(S, C))
    incidence.sort_indices()
    _, first, pair = np.unique(built.lane_site.astype(np.int64) * len(built.unit_region) + built.lane_unit,
                               return_index=True, return_inverse=True)
    lane_pair = first[pair] if len(first) < C else np.zeros(0, dtype=np.int64)  # parallel lanes share a pair

    lead = lead_time_factor(site_lead_times(net), T)
    safety_factor = lead[:, None] * params["z"].to_numpy()[None, :]
    cycle_factor = np.where(eoq, np.sqrt(K * DAYS_PER_YEAR / (2.0 * T * np.where(eoq, h_year, 1.0))), 0.0)
    cycle_factor = np.broadcast_to(cycle_factor, (S, P)).copy()
    cycle_weight = np.where(eoq[None, :], lane_mix, 0.0)

    n0 = built.lp.n_cols
    terms = []
    for weight, factor in ((cycle_weight, cycle_factor), (variance, safety_factor)):
        served = (incidence @ weight) > 0
        needed = served & (factor > 0) & (cost_per_unit[None, :] > 0)
        column = np.full((S, P), -1)
        column[needed] = n0 + np.arange(int(needed.sum()))
        n0 += int(needed.sum())
        terms.append(StockTerm(weight=weight, factor=factor, column=column))
    cycle, safety = terms
    n_new = n0 - built.lp.n_cols
    new_cost = np.zeros(n_new)
    for term in terms:
        has = term.column >= 0
        new_cost[term.column[has] - built.lp.n_cols] = np.broadcast_to(cost_per_unit, (S, P))[has]

    review_cycle = np.where(eoq[None, :], 0.0, lane_mix * review / (2.0 * T)) @ cost_per_unit
    old_holding = built.cost_vectors["holding"]
    lp = built.lp
    c = lp.c.copy()
    c[lane_cols] += review_cycle - old_holding[lane_cols]
    cost_vectors = {}
    for name, vector in built.cost_vectors.items():
        extended = np.concatenate([vector, np.zeros(n_new)])
        if name == "holding":
            extended[lane_cols] = review_cycle
            extended[lp.n_cols:] = new_cost
        cost_vectors[name] = extended
    extended_lp = replace(
        lp,
        c=np.concatenate([c, new_cost]),
        A=sp.hstack([lp.A, sp.csr_matrix((lp.n_rows, n_new))], format="csr"),
        col_lower=np.concatenate([lp.col_lower, np.zeros(n_new)]),
        col_upper=np.concatenate([lp.col_upper, np.full(n_new, np.inf)]),
        integer=np.concatenate([lp.integer, np.zeros(n_new, dtype=bool)]),
        warm_start=None,
    )
    pooled = PooledInventory(built=replace(built, lp=extended_lp, cost_vectors=cost_vectors), lane_cols=lane_cols,
                             incidence=incidence, cost_per_unit=cost_per_unit, safety=safety, cycle=cycle,
                             review_cycle=review_cycle,
                             binary=bool(net.settings.single_sourcing),
                             lane_cost=built.cost_vectors["shipping"][lane_cols].copy(), lane_pair=lane_pair)
    pooled = pooled.with_cuts(_seed_cuts(pooled))
    if lp.warm_start is not None:  # keep a warm start, with exact stock (feasible for every cut)
        start = pooled.lift(np.concatenate([lp.warm_start, np.zeros(n_new)]))
        pooled = replace(pooled, built=replace(pooled.built, lp=replace(pooled.built.lp, warm_start=start)))
    return pooled


def _seed_cuts(pooled: PooledInventory) -> sp.csr_matrix:
    """Cuts that seed each stock column, tight at likely assignments.

    Binary assignments: extended polymatroid cuts with the site's lanes taken cheapest
    first (tight at every "nearest regions" set) and heaviest first.  Fractional shares:
    tangents at "serve every lane of the site" and at "the regions for which the site is
    among the k cheapest", k in :data:`SEED_NEIGHBOURS`.
    """
    built = pooled.built
    C = len(pooled.lane_cols)
    blocks = [sp.csr_matrix((0, built.lp.n_cols))]
    for term in (pooled.cycle, pooled.safety):
        s, p = np.nonzero(term.column >= 0)
        if pooled.binary:
            blocks.append(pooled.polymatroid_cuts(term, s, p, pooled.lane_cost))
            continue
        unit = built.lane_unit
        order = np.lexsort((pooled.lane_cost, unit))
        first = np.searchsorted(unit[order], unit[order], side="left")
        rank = np.empty(C, dtype=np.int64)
        rank[order] = np.arange(C) - first
        for point in [np.ones(C)] + [(rank < k).astype(float) for k in SEED_NEIGHBOURS]:
            blocks.append(pooled.tangent_cuts(term, s, p, point))
    return sp.vstack(blocks, format="csr")
