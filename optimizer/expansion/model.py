"""The multi-period expansion MIP, built from one single-period model per study period.

Each study period ``t`` is a *block*: :func:`optimizer.model.build.build_model` of the period's
network (and :func:`optimizer.model.pooled.add_pooled_inventory` for pooled stock), so flows,
routing, single sourcing, service distance and stock are exactly those of a single-period solve;
its site column ``y[i,t]`` means "site ``i`` serves in period ``t``".  The blocks are stacked
block-diagonally (``scipy.sparse.block_diag``) and joined by the study's columns, all vectorised:

* ``u[i,t]`` (binary): the site is held (opened: serving or being built) in period ``t``;
* ``o[i,t]``, ``c[i,t]`` (binary): it opens / closes in period ``t``:
  ``u[i,t] - u[i,t-1] = o[i,t] - c[i,t]`` (``u[i,-1]`` = 1 for sites operating before the study,
  :meth:`~optimizer.expansion.study.Study.initially_held`), ``o + c <= 1``.  They are integer, not
  merely in [0, 1]: where ``u`` does not change, ``o = c = 0.5`` would satisfy both rows, and a half
  opening would make ``y`` fractional (a relaxation of ``y``, such as the heuristic's design step,
  would then price a site that is held yet serves half);
* serving after the build: ``y[i,t] = u[i,t] - sum_{t-b < k <= t} o[i,k]`` (``b`` = build_periods);
* minimum time open: ``u[i,k] >= o[i,t]`` for ``t < k < t + b + min_open_periods``;
  no close before ``earliest_close`` (``c = 0``); no reopening unless ``may_reopen``
  (``sum_t o[i,t] <= 0`` for sites held before the study, ``<= 1`` otherwise);
* ``m[i,t]`` (integer): modules bought in period ``t``; they stay: ``size x sum_{k<=t} m[i,k]`` is
  added to the site's capacity row (and to the aggregate-capacity row) of every block ``t``;
  ``sum_t m[i,t] <= max_modules``, bought only while the site is held (``m[i,t] <= max_modules u[i,t]``);
* budgets: capex ``sum_i opening_capex o[i,t] + module_capex m[i,t] <= budget_t`` per period, and in total;
* committed decisions: lower bounds of 1 on ``o`` / ``c``, of ``n`` on ``m``;
* with ``unmet_penalty``: one column ``z`` per assignment unit and period in [0, 1], the share of the
  unit not served (``sum a + z = 1``), costed at penalty x its units per period.

Objective (net present cost): each block's per-period costs (all components but ``closing``,
which is charged once on ``c``) times the period's discounted weight
(:func:`optimizer.expansion.study.operating_weight`); capex discounted at the start of its period,
less its residual value at the end; closing costs discounted in the period of closing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from optimizer.expansion.study import Study, operating_weight, residual_fraction
from optimizer.model.build import BuiltModel, build_model
from optimizer.model.linear import LinearModel
from optimizer.model.pooled import PooledInventory, add_pooled_inventory
from optimizer.network import Network
from optimizer.plan import COST_COMPONENTS

#: Net present cost components of a study: the single-period ones, capex (net of residual value) and unmet.
NPV_COMPONENTS = (*COST_COMPONENTS, "capex", "unmet")


@dataclass(frozen=True)
class Block:
    """One study period's model inside the study model.

    Attributes:
        built: The period's model (with pooled stock columns and cuts when the period is pooled).
        pooled: The pooled-stock evaluation of ``built``, ``None`` for linear stock.
        first_col: Global index of the block's first column.
        first_row: Global index of the block's first row.
        weight: Discounted weight of the block's per-period costs (periods).
        unit_units: Units per period of each assignment unit (for the unmet penalty), shape (K,).
        cap_rows: Global capacity row of each site, -1 for sites without a capacity, shape (S,).
    """

    built: BuiltModel
    pooled: PooledInventory | None
    first_col: int
    first_row: int
    weight: float
    unit_units: np.ndarray
    cap_rows: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def n_cols(self) -> int:
        """Columns of the block."""
        return self.built.lp.n_cols

    def cols(self) -> slice:
        """The block's global columns."""
        return slice(self.first_col, self.first_col + self.n_cols)


@dataclass(frozen=True)
class ExpansionModel:
    """The study's MIP and the maps to read it.

    Attributes:
        study: The study.
        blocks: One per study period.
        lp: The whole model.
        u, o, c, m: Global column of each (site, period) study variable, shape (S, T).
        z: Global column of each (period, assignment unit) unmet share; one array per period (empty
            without ``unmet_penalty``).
        capex_open: Undiscounted opening capex per site, shape (S,).
        capex_module: Undiscounted module capex per site, shape (S,).
        capex_coef: Net present coefficient of one unit of capex in each period (discount less the
            discounted residual value), shape (T,).
        closing: Closing cost per (site, period), currency, shape (S, T).
        discount: Discount factor at the start of each period, shape (T,).
    """

    study: Study
    blocks: tuple[Block, ...]
    lp: LinearModel
    u: np.ndarray
    o: np.ndarray
    c: np.ndarray
    m: np.ndarray
    z: tuple[np.ndarray, ...]
    capex_open: np.ndarray
    capex_module: np.ndarray
    capex_coef: np.ndarray
    closing: np.ndarray
    discount: np.ndarray

    def block_x(self, x: np.ndarray, t: int) -> np.ndarray:
        """The block of period ``t`` of solution ``x``."""
        return np.asarray(x, dtype=float)[self.blocks[t].cols()]

    def capex(self, x: np.ndarray) -> np.ndarray:
        """Undiscounted capex per period at ``x``, currency, shape (T,)."""
        x = np.asarray(x, dtype=float)
        return self.capex_open @ x[self.o] + self.capex_module @ x[self.m]

    def npv_costs(self, x: np.ndarray, holding: np.ndarray | None = None) -> dict[str, float]:
        """Net present cost per component at ``x`` (:data:`NPV_COMPONENTS`), currency.

        Args:
            x: A solution.
            holding: Per-period holding cost to use instead of the model's (the exact pooled cost),
                currency per period, shape (T,).
        """
        x = np.asarray(x, dtype=float)
        out = dict.fromkeys(NPV_COMPONENTS, 0.0)
        for t, block in enumerate(self.blocks):
            costs = period_costs(block, self.block_x(x, t))
            if holding is not None:
                costs["holding"] = float(holding[t])
            for name, value in costs.items():
                if name != "closing":
                    out[name] += block.weight * value
            if len(self.z[t]):
                out["unmet"] += block.weight * float(self.study.unmet_penalty * block.unit_units @ x[self.z[t]])
        out["closing"] = float(np.sum(self.closing * x[self.c] * self.discount[None, :]))
        out["capex"] = float(self.capex(x) @ self.capex_coef)
        return out


def period_costs(block: Block, xb: np.ndarray) -> dict[str, float]:
    """Per-period cost components of a block at its solution ``xb`` (currency per period; closing is 0)."""
    built = block.built
    costs = {name: float(built.cost_vectors[name] @ xb) for name in COST_COMPONENTS if name != "closing"}
    costs["closing"] = 0.0
    return costs


def build_study_model(study: Study) -> ExpansionModel:
    """Build the multi-period MIP of ``study`` (see the module docstring).

    Args:
        study: A validated study.

    Returns:
        The model and its column maps.
    """
    T = study.n_periods
    S = len(study.base.sites)
    opts = study.options
    blocks: list[Block] = []
    col = row = 0
    size = opts["module_size"].to_numpy(dtype=float)
    extra = study.module_capacity()
    for period in study.periods:
        built = _block_model(period.network, extra)
        built = dataclasses.replace(  # a study charges closing once, on c (no horizon_periods spread)
            built, cost_vectors={**built.cost_vectors, "closing": np.zeros(built.lp.n_cols)},
            cost_offsets={**built.cost_offsets, "closing": 0.0})
        pooled = None
        if period.network.settings.inventory.model == "pooled":
            pooled = add_pooled_inventory(built)
            built = pooled.built
        weight = operating_weight(period.years, period.start_years, study.discount_rate,
                                  period.network.settings.period_days)
        blocks.append(Block(built, pooled, col, row, weight, built.unit_mix.sum(axis=1)))
        col += built.lp.n_cols
        row += built.lp.n_rows
    n_block_cols, n_block_rows = col, row

    def grid(start: int) -> np.ndarray:
        return start + np.arange(S * T).reshape(T, S).T  # (S, T), period-major

    u, o, c, m = (grid(n_block_cols + k * S * T) for k in range(4))
    col = n_block_cols + 4 * S * T
    z = []
    for block in blocks:
        k = len(block.built.unit_region) if study.unmet_penalty is not None else 0
        z.append(col + np.arange(k))
        col += k
    n_cols = col

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []
    n_rows = n_block_rows

    def add(r: np.ndarray, cc: np.ndarray, v: np.ndarray) -> None:
        rows.append(np.asarray(r, dtype=np.int64).ravel())
        cols.append(np.asarray(cc, dtype=np.int64).ravel())
        vals.append(np.asarray(v, dtype=float).ravel())

    def new_rows(count: int, low: np.ndarray | float, high: np.ndarray | float) -> np.ndarray:
        nonlocal n_rows
        idx = n_rows + np.arange(count)
        lo.append(np.broadcast_to(np.asarray(low, dtype=float), (count,)).copy())
        hi.append(np.broadcast_to(np.asarray(high, dtype=float), (count,)).copy())
        n_rows += count
        return idx

    # Modules and unmet shares inside the blocks' own rows.
    for t, block in enumerate(blocks):
        net = study.periods[t].network
        built = block.built
        K = len(built.unit_region)
        local, local_aggregate = _capacity_rows(built, net)
        cap_row = np.where(local >= 0, block.first_row + local, -1)
        has_aggregate = local_aggregate >= 0
        aggregate = block.first_row + local_aggregate
        blocks[t] = dataclasses.replace(block, cap_rows=cap_row)
        sites = np.flatnonzero((cap_row >= 0) & (size > 0))
        for k in range(t + 1):  # modules bought up to t add capacity in t
            add(cap_row[sites], m[sites, k], -size[sites])
            if has_aggregate:
                add(np.full(len(sites), aggregate), m[sites, k], size[sites])
        if len(z[t]):
            add(block.first_row + np.arange(K), z[t], np.ones(K))
            if has_aggregate:
                unit_volume = built.unit_mix @ net.products["volume"].to_numpy(dtype=float)
                add(np.full(K, aggregate), z[t], unit_volume)

    held0 = study.initially_held().astype(float)
    build = opts["build_periods"].to_numpy(dtype=int)
    min_open = opts["min_open_periods"].to_numpy(dtype=int)
    # transitions: u[t] - u[t-1] - o[t] + c[t] = (held before the study if t == 0)
    r = new_rows(S * T, 0.0, 0.0).reshape(T, S).T
    lo[-1][:S] = held0
    hi[-1][:S] = held0
    add(r, u, np.ones((S, T)))
    add(r[:, 1:], u[:, :-1], -np.ones((S, T - 1)))
    add(r, o, -np.ones((S, T)))
    add(r, c, np.ones((S, T)))
    # o + c <= 1
    r = new_rows(S * T, -np.inf, 1.0).reshape(T, S).T
    add(r, o, np.ones((S, T)))
    add(r, c, np.ones((S, T)))
    # serving: y[t] - u[t] + sum_{t-b<k<=t} o[k] = 0
    r = new_rows(S * T, 0.0, 0.0).reshape(T, S).T
    y = np.stack([block.first_col + np.arange(S) for block in blocks], axis=1)
    add(r, y, np.ones((S, T)))
    add(r, u, -np.ones((S, T)))
    for lag in range(int(build.max(initial=0))):
        i = np.flatnonzero(build > lag)
        if len(i) and T > lag:
            add(r[i, lag:], o[i, :T - lag], np.ones((len(i), T - lag)))
    # minimum time open: u[t+d] >= o[t] for 0 < d < b + min_open
    span = build + min_open
    for d in range(1, int(span.max(initial=1))):
        i = np.flatnonzero(span > d)
        if len(i) and T > d:
            rr = new_rows(len(i) * (T - d), 0.0, np.inf).reshape(len(i), T - d)
            add(rr, u[i, d:], np.ones((len(i), T - d)))
            add(rr, o[i, :T - d], -np.ones((len(i), T - d)))
    # no reopening
    once = np.flatnonzero(~opts["may_reopen"].to_numpy(dtype=bool))
    if len(once):
        rr = new_rows(len(once), -np.inf, 1.0 - held0[once])
        add(np.repeat(rr, T), o[once], np.ones(len(once) * T))
    # most modules
    i = np.flatnonzero(size > 0)
    if len(i):
        most = opts["max_modules"].to_numpy(dtype=float)[i]
        rr = new_rows(len(i), -np.inf, most)
        add(np.repeat(rr, T), m[i], np.ones(len(i) * T))
        rr = new_rows(len(i) * T, -np.inf, 0.0).reshape(len(i), T)  # bought only while held: m <= most x u
        add(rr, m[i], np.ones((len(i), T)))
        add(rr, u[i], -np.repeat(most[:, None], T, axis=1))
    # budgets
    capex_open = opts["opening_capex"].to_numpy(dtype=float)
    capex_module = opts["module_capex"].to_numpy(dtype=float)
    limited = np.flatnonzero(np.isfinite(study.budget_per_period))
    for t in limited:
        rr = new_rows(1, -np.inf, study.budget_per_period[t])
        add(np.full(2 * S, rr[0]), np.concatenate([o[:, t], m[:, t]]), np.concatenate([capex_open, capex_module]))
    if np.isfinite(study.budget_total):
        rr = new_rows(1, -np.inf, study.budget_total)
        add(np.full(2 * S * T, rr[0]), np.concatenate([o.ravel(), m.ravel()]),
            np.concatenate([np.repeat(capex_open, T), np.repeat(capex_module, T)]))

    # objective
    discount = np.array([(1.0 + study.discount_rate) ** -p.start_years for p in study.periods])
    end = (1.0 + study.discount_rate) ** -study.total_years
    residual = np.array([residual_fraction(p.start_years, study.total_years, study.asset_life_years)
                         for p in study.periods])
    capex_coef = discount - residual * end
    closing = np.stack([p.network.sites["closing_cost"].to_numpy(dtype=float) for p in study.periods], axis=1)
    objective = np.zeros(n_cols)
    for t, block in enumerate(blocks):
        vectors = block.built.cost_vectors
        objective[block.cols()] = block.weight * sum(vectors[n] for n in COST_COMPONENTS if n != "closing")
        if len(z[t]):
            objective[z[t]] = block.weight * study.unmet_penalty * block.unit_units
    objective[o] = capex_open[:, None] * capex_coef[None, :]
    objective[m] = capex_module[:, None] * capex_coef[None, :]
    objective[c] = closing * discount[None, :]

    # bounds and integrality
    col_lower = np.concatenate([b.built.lp.col_lower for b in blocks] + [np.zeros(n_cols - n_block_cols)])
    col_upper = np.concatenate([b.built.lp.col_upper for b in blocks] + [np.ones(n_cols - n_block_cols)])
    integer = np.concatenate([b.built.lp.integer for b in blocks] + [np.zeros(n_cols - n_block_cols, dtype=bool)])
    integer[u] = True
    integer[o] = True  # with u integer, o and c are then the events themselves (see the module docstring)
    integer[c] = True
    integer[m] = True
    col_upper[m] = np.where(size > 0, opts["max_modules"].to_numpy(dtype=float), 0.0)[:, None]
    earliest = opts["earliest_close"].to_numpy(dtype=int)
    col_upper[c] = np.where(np.arange(T)[None, :] < earliest[:, None], 0.0, 1.0)
    for decision in study.committed:
        i = study.base.sites.index.get_loc(decision.site)
        target = {"open": o, "close": c, "modules": m}[decision.action]
        col_lower[target[i, decision.period]] = decision.modules if decision.action == "modules" else 1.0
        col_upper[target[i, decision.period]] = max(col_upper[target[i, decision.period]],
                                                    col_lower[target[i, decision.period]])

    joined = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(n_rows, n_cols))
    stacked = sp.block_diag([b.built.lp.A for b in blocks], format="csr")
    A = sp.vstack([sp.hstack([stacked, sp.csr_matrix((n_block_rows, n_cols - n_block_cols))]),
                   sp.csr_matrix((n_rows - n_block_rows, n_cols))], format="csr") + joined
    lp = LinearModel(
        c=objective, A=A,
        row_lower=np.concatenate([b.built.lp.row_lower for b in blocks] + lo),
        row_upper=np.concatenate([b.built.lp.row_upper for b in blocks] + hi),
        col_lower=col_lower, col_upper=col_upper, integer=integer, name=study.name)
    return ExpansionModel(study=study, blocks=tuple(blocks), lp=lp, u=u, o=o, c=c, m=m, z=tuple(z),
                          capex_open=capex_open, capex_module=capex_module, capex_coef=capex_coef,
                          closing=closing, discount=discount)


def _block_model(network: Network, extra: np.ndarray) -> BuiltModel:
    """The period's single-period model, with every bound derived from a site's capacity valid for modules.

    A site's capacity grows by its modules (``extra``: the most, volume units per period), and
    :func:`optimizer.model.supply.link_bounds` caps the flows into and out of a site by its capacity.  The
    model is therefore built with each site at its largest capacity, then its capacity row and the
    aggregate-capacity row are given back the base capacity on the site column (the modules' columns add
    the rest, in :func:`build_study_model`), so that a plan using its modules is never cut off.
    """
    grows = np.isfinite(network.sites["capacity"].to_numpy(dtype=float)) & (extra > 0)
    if not grows.any():
        return build_model(network)
    sites = network.sites.copy()
    sites["capacity"] = sites["capacity"].to_numpy(dtype=float) + extra
    built = build_model(dataclasses.replace(network, sites=sites))
    cap_row, aggregate = _capacity_rows(built, network)
    i = np.flatnonzero(grows)  # the site columns are the model's first S columns
    rows, cols, vals = [cap_row[i]], [i], [extra[i]]
    if aggregate >= 0:
        i = np.flatnonzero(grows & (network.sites["status"].to_numpy() != "forced_closed"))
        rows.append(np.full(len(i), aggregate))
        cols.append(i)
        vals.append(-extra[i])
    delta = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=built.lp.A.shape)
    A = sp.csr_matrix(built.lp.A + delta)
    A.eliminate_zeros()  # a site whose base capacity is 0 holds only what its modules add
    lp = dataclasses.replace(built.lp, A=A)
    return dataclasses.replace(built, network=network, lp=lp)


def _capacity_rows(built: BuiltModel, network: Network) -> tuple[np.ndarray, int]:
    """Row of each site's capacity in the single-period model (-1 without a capacity, shape (S,)) and of
    the aggregate-capacity row (-1 when there is none), in the layout of :mod:`optimizer.model.build`:
    demand rows, linking rows, capacity rows, then the aggregate row."""
    capacity = network.sites["capacity"].to_numpy(dtype=float)
    capped = np.isfinite(capacity)
    usable = network.sites["status"].to_numpy() != "forced_closed"
    first = len(built.unit_region) + len(built.lane_site)
    cap_row = np.full(len(capacity), -1)
    cap_row[capped] = first + np.arange(int(capped.sum()))
    has_aggregate = bool(len(built.lane_site) and capped[usable].all() and usable.any())
    return cap_row, first + int(capped.sum()) if has_aggregate else -1


def with_block_cuts(model: ExpansionModel, t: int, pooled: PooledInventory) -> ExpansionModel:
    """A new model with the cuts ``pooled`` (block ``t`` refined) has beyond the block's current ones."""
    block = model.blocks[t]
    old = block.built.lp.n_rows
    new_rows = pooled.built.lp.A[old:]
    if new_rows.shape[0] == 0:
        return model
    n = new_rows.shape[0]
    lead = sp.csr_matrix((n, block.first_col))
    tail = sp.csr_matrix((n, model.lp.n_cols - block.first_col - block.n_cols))
    rows = sp.hstack([lead, new_rows, tail], format="csr")
    lp = dataclasses.replace(model.lp, A=sp.vstack([model.lp.A, rows], format="csr"),
                             row_lower=np.concatenate([model.lp.row_lower, pooled.built.lp.row_lower[old:]]),
                             row_upper=np.concatenate([model.lp.row_upper, pooled.built.lp.row_upper[old:]]))
    blocks = list(model.blocks)
    blocks[t] = dataclasses.replace(block, built=pooled.built, pooled=pooled)
    return dataclasses.replace(model, lp=lp, blocks=tuple(blocks))
