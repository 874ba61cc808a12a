"""Build the location-allocation MIP from a :class:`~optimizer.network.Network`.

Columns are laid out as ``[y_0 .. y_{S-1}, a_0 .. a_{C-1}]``:

* ``y_i`` (binary): site ``i`` is open (a candidate opened, or an existing
  site kept).  An existing site with ``y_i = 0`` is closed and pays its
  closing cost.
* ``a_c`` (fraction in [0, 1]): the share of one *assignment unit* served
  over lane ``c`` from site ``site[c]``.  In multi-sourcing an assignment unit
  is a (region, product) pair with positive demand; with single sourcing it
  is a region (all its products together) and ``a_c`` is binary.

Rows, all built as sparse triplets in one go:

* demand: ``sum_c a_c = 1`` for every assignment unit;
* strong linking: ``a_c - y_site(c) <= 0`` for every lane (the strong
  formulation, ``x <= demand * y`` written on fractions);
* capacity: ``sum_c volume_c a_c + transit_i - capacity_i y_i <= 0`` for
  every site with finite capacity (``transit_i``: the volume the site sends on
  to other sites, see :mod:`optimizer.model.supply`);
* aggregate capacity: ``sum_i capacity_i y_i >= total volume`` (a valid
  inequality that helps cover cuts), when every usable site is capacitated;
* site count: ``min <= sum_i y_i <= max`` when the settings bound it.

Lanes longer than ``max_service_km`` and lanes from forced-closed sites are
not created at all.  A closing cost is one-off: each period is charged
``closing_cost / horizon`` (``Settings.closing_horizon`` periods) for every
existing site that closes and every forced-closed site.  Costs are kept per component so that results can report
a breakdown that sums exactly to the objective.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimizer.links import ROAD
from optimizer.model.linear import LinearModel, read_only
from optimizer.model.paths import decode_routes
from optimizer.model.supply import Routing, Triplets, add_routing
from optimizer.network import Network
from optimizer.plan import COST_COMPONENTS, FLOW_COLUMNS, Plan

#: Fractions below this are treated as zero when the plan is decoded.
FRACTION_EPS = 1e-9


#: Relative row tolerance of :meth:`BuiltModel.drop_idle_links`.
IDLE_ROW_TOLERANCE = 1e-9


@dataclass(frozen=True)
class BuiltModel:
    """A built model together with the maps needed to read its solution (immutable).

    The dataclass is frozen, its arrays are read-only views and ``cost_vectors`` /
    ``cost_offsets`` are read-only mappings: a step that extends the model (e.g.
    :func:`optimizer.model.pooled.add_pooled_inventory`) returns a new one
    (``dataclasses.replace``), so one built model can be solved any number of times.

    Attributes:
        network: The network the model was built from.
        lp: The solver-neutral arrays.
        lane_site: Site index of every assignment column, shape (C,).
        lane_unit: Assignment-unit index of every assignment column, shape (C,).
        unit_region: Region index of every assignment unit, shape (K,).
        unit_mix: Units per period of each product in each assignment unit, shape (K, P).
        lane_link: Link-table row of each assignment column, -1 for distance-based lanes, shape (C,).
        routing: The supply-side columns (suppliers -> sites) after the assignment columns.
        cost_vectors: Objective coefficients of each cost component, each shape (n_cols,).
        cost_offsets: Constant part of each cost component.
        build_seconds: Wall-clock time to build.
    """

    network: Network
    lp: LinearModel
    lane_site: np.ndarray
    lane_unit: np.ndarray
    unit_region: np.ndarray
    unit_mix: np.ndarray
    lane_link: np.ndarray
    routing: Routing
    cost_vectors: Mapping[str, np.ndarray]
    cost_offsets: Mapping[str, float]
    build_seconds: float

    def __post_init__(self) -> None:
        for name in ("lane_site", "lane_unit", "unit_region", "unit_mix", "lane_link"):
            object.__setattr__(self, name, read_only(getattr(self, name)))
        object.__setattr__(self, "cost_vectors", MappingProxyType(
            {name: read_only(vector, float) for name, vector in self.cost_vectors.items()}))
        object.__setattr__(self, "cost_offsets", MappingProxyType(dict(self.cost_offsets)))

    @property
    def n_sites(self) -> int:
        """Number of site columns (they come first)."""
        return len(self.network.sites)

    def round_solution(self, x: np.ndarray) -> np.ndarray:
        """Snap integer columns to 0/1, drop negligible fractions and switch off idle links (see
        :meth:`drop_idle_links`)."""
        x = np.asarray(x, dtype=float).copy()
        x[self.lp.integer] = np.round(x[self.lp.integer])
        x[np.abs(x) < FRACTION_EPS] = 0.0
        return self.drop_idle_links(np.clip(x, self.lp.col_lower, self.lp.col_upper))

    def drop_idle_links(self, x: np.ndarray) -> np.ndarray:
        """``x`` with every link "used" binary that carries nothing set to 0.

        A link's fixed cost is paid in a period it carries anything; a solver stopped at a gap or a time
        limit may leave a binary at 1 on a link without load (its row holds either way), and the plan would
        then claim a fixed cost the checker never charges.  A binary is switched off only where every row
        it is in still holds without it; if two such binaries share a row and together break it, none is.
        """
        routing = self.routing
        cols = routing.first_col + routing.n_flows + np.arange(len(routing.used_links))
        cols = cols[(x[cols] > 0.5) & (self.lp.col_lower[cols] < 0.5)]
        if not len(cols):
            return x
        activity = self.lp.A @ x
        block = self.lp.A[:, cols].tocsc()
        lower, upper = self.lp.row_lower, self.lp.row_upper
        slack = IDLE_ROW_TOLERANCE * np.maximum(1.0, np.abs(activity))
        after = activity[block.indices] - block.data  # each binary's rows, with that binary at 0
        holds = (after >= lower[block.indices] - slack[block.indices]) & \
            (after <= upper[block.indices] + slack[block.indices])
        owner = np.repeat(np.arange(len(cols)), np.diff(block.indptr))  # the binary of each entry
        ok = np.bincount(owner, weights=~holds, minlength=len(cols)) == 0
        if not ok.any():
            return x
        out = x.copy()
        out[cols[ok]] = 0.0
        final = self.lp.A @ out
        tol = IDLE_ROW_TOLERANCE * np.maximum(1.0, np.abs(final))
        if np.any(final < lower - tol) or np.any(final > upper + tol):
            return x  # binaries sharing a row: keep the solver's values
        return out

    def costs(self, x: np.ndarray) -> dict[str, float]:
        """Cost components (currency per period) of solution ``x``."""
        return {name: float(self.cost_vectors[name] @ x + self.cost_offsets[name]) for name in COST_COMPONENTS}

    def decode(self, x: np.ndarray) -> Plan:
        """Turn a (rounded) solution vector into a :class:`~optimizer.plan.Plan`.

        The plan never ships from, nor routes to or through, a site that is closed in it: shares the solver left
        on closed sites (within its tolerances) are dropped and the rest of each such assignment unit's shares
        scaled up to serve its whole demand; the costs are those of the cleaned vector.
        """
        net = self.network
        S = self.n_sites
        C = len(self.lane_site)
        x = np.asarray(x, dtype=float).copy()
        is_open = x[:S] > 0.5
        open_idx = np.flatnonzero(is_open)
        x[S:S + C] = open_shares(x[S:S + C], self.lane_site, self.lane_unit, is_open, len(self.unit_region))
        frac = x[S:S + C]
        used = np.flatnonzero(frac > 0.0)
        # One flow per (lane, product) with a positive amount of that product in the unit.
        lane_mix = self.unit_mix[self.lane_unit[used]] * frac[used, None]
        lane_pos, prod = np.nonzero(lane_mix > 0.0)
        lanes = used[lane_pos]
        site_ids = np.asarray(net.site_ids, dtype=object)
        region_ids = np.asarray(net.region_ids, dtype=object)
        product_ids = np.asarray(net.product_ids, dtype=object)
        modes = np.append(net.link_table["mode"].to_numpy(dtype=object), ROAD)
        flows = pd.DataFrame(
            {
                "from": site_ids[self.lane_site[lanes]],
                "to": region_ids[self.unit_region[self.lane_unit[lanes]]],
                "product": product_ids[prod],
                "quantity": lane_mix[lane_pos, prod],
                "mode": modes[self.lane_link[lanes]],
            },
            columns=[*FLOW_COLUMNS, "mode"],
        )
        costs = self.costs(x)
        open_sites = [str(s) for s in site_ids[open_idx]]
        return Plan(
            open_sites=open_sites,
            flows=flows.reset_index(drop=True),
            costs=costs,
            objective=float(sum(costs.values())),
            routes=decode_routes(net, self.routing, flows, x[self.routing.first_col:], set(open_sites)),
        )


def open_shares(shares: np.ndarray, lane_site: np.ndarray, lane_unit: np.ndarray, is_open: np.ndarray,
                n_units: int) -> np.ndarray:
    """Assignment shares with every share of a closed site dropped and its unit's other shares scaled to sum to 1.

    Args:
        shares: Share of each lane, shape (C,).
        lane_site: Site index of each lane.
        lane_unit: Assignment-unit index of each lane.
        is_open: Whether each site is open, shape (S,).
        n_units: Number of assignment units.

    Returns:
        A new array; units that lost no share are unchanged, and a unit with no share left on an open site keeps
        none (the checker then reports its demand unmet).
    """
    closed = ~is_open[lane_site] & (shares != 0.0)
    out = np.where(closed, 0.0, shares)
    if not closed.any():
        return out
    hit = np.zeros(n_units, dtype=bool)
    hit[lane_unit[closed]] = True
    total = np.bincount(lane_unit, weights=out, minlength=n_units)
    scale = np.ones(n_units)
    np.divide(1.0, total, out=scale, where=hit & (total > 0))
    return out * scale[lane_unit]


def lane_mask(network: Network) -> np.ndarray:
    """Which site -> region lanes exist, shape (n_sites, n_regions).

    A lane exists unless the site is forced closed or the road distance
    exceeds ``max_service_km``.
    """
    sites = network.sites
    mask = np.ones((len(sites), len(network.regions)), dtype=bool)
    mask[(sites["status"] == "forced_closed").to_numpy()] = False
    limit = network.settings.max_service_km
    if limit is not None:
        dist = network.distance_km
        mask &= ~(dist > limit)  # NaN distances (no coordinates) keep the lane
    return mask


def lane_shipping_cost(network: Network, site: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Shipping cost per unit of each product on the given lanes, currency, shape (len(site), n_products)."""
    if network.unit_shipping_cost is not None:
        per_unit = np.asarray(network.unit_shipping_cost, dtype=float)[site, region]
        return np.repeat(per_unit[:, None], len(network.products), axis=1)
    cost_per_km = network.products["shipping_cost_per_km"].to_numpy(dtype=float)
    return network.distance_km[site, region][:, None] * cost_per_km[None, :]


def _lanes(network: Network, unit_region: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Assignment lanes: (unit, site, link row or -1) of every distance-based lane and outbound link lane.

    A site -> region link of mode ``road`` replaces that pair's distance-based lane: both would be the
    pair's road lane (links are identified by from, to and mode).
    """
    links = network.link_table
    outbound = np.flatnonzero((links["kind"] == "outbound").to_numpy())
    link_region = network.regions.index.get_indexer(links["to"].to_numpy(dtype=object)[outbound])
    link_site = network.sites.index.get_indexer(links["from"].to_numpy(dtype=object)[outbound])
    if network.settings.transport.outbound == "links_only":
        lane_unit = lane_site = np.zeros(0, dtype=np.int64)
    else:
        mask = lane_mask(network)
        road = (links["mode"].to_numpy(dtype=object)[outbound] == ROAD) & (link_site >= 0) & (link_region >= 0)
        mask[link_site[road], link_region[road]] = False
        lane_unit, lane_site = np.nonzero(mask[:, unit_region].T)
    li, units = np.nonzero(link_region[:, None] == unit_region[None, :])
    return (np.concatenate([lane_unit, units]), np.concatenate([lane_site, link_site[li]]),
            np.concatenate([np.full(len(lane_unit), -1), outbound[li]]))


def _assignment_units(network: Network) -> tuple[np.ndarray, np.ndarray]:
    """Assignment units: (region index per unit, product mix per unit (K, P))."""
    demand = network.demand_matrix
    if network.settings.single_sourcing:
        regions = np.flatnonzero(demand.sum(axis=1) > 0)
        return regions, demand[regions]
    regions, products = np.nonzero(demand > 0)
    mix = np.zeros((len(regions), demand.shape[1]))
    mix[np.arange(len(regions)), products] = demand[regions, products]
    return regions, mix


def count_bounds(network: Network) -> tuple[float, float] | None:
    """Bounds on the number of open sites, or ``None`` when unconstrained."""
    s = network.settings
    lo = -np.inf if s.min_sites is None else float(s.min_sites)
    hi = np.inf if s.max_sites is None else float(s.max_sites)
    if s.exact_sites is not None:
        lo = max(lo, float(s.exact_sites))
        hi = min(hi, float(s.exact_sites))
    if not np.isfinite(lo) and not np.isfinite(hi):
        return None
    return lo, hi


def build_model(network: Network) -> BuiltModel:
    """Build the location-allocation MIP for ``network`` with vectorised arrays.

    Args:
        network: A validated network.

    Returns:
        The model arrays and the maps needed to decode a solution.
    """
    start = time.perf_counter()
    sites, products = network.sites, network.products
    S = len(sites)
    unit_region, unit_mix = _assignment_units(network)
    K = len(unit_region)

    lane_unit, lane_site, lane_link = _lanes(network, unit_region)
    C = len(lane_site)
    lane_region = unit_region[lane_unit]
    lane_mix = unit_mix[lane_unit]  # (C, P) units per period

    # Per-lane cost components for serving the whole unit (currency per period).
    volume = products["volume"].to_numpy(dtype=float)
    ship_unit = lane_shipping_cost(network, lane_site, lane_region)  # (C, P)
    on_link = lane_link >= 0
    link_cost = network.link_table["cost_per_volume"].to_numpy(dtype=float)
    ship_unit[on_link] = link_cost[lane_link[on_link]][:, None] * volume[None, :]
    unit_volume = unit_mix @ volume  # (K,) volume units per period
    holding_per_unit = (
        products["unit_value"].to_numpy(dtype=float)
        * products["holding_rate"].to_numpy(dtype=float)
        * network.settings.days_of_cover
        / 365.0
    )
    handling = sites["handling_cost"].to_numpy(dtype=float)
    fixed = sites["fixed_cost"].to_numpy(dtype=float)
    existing = (sites["status"] == "existing").to_numpy()
    # A closing cost is one-off: each period carries its share over the horizon.
    closing_per_period = sites["closing_cost"].to_numpy(dtype=float) / network.settings.closing_horizon
    closing = np.where(existing, closing_per_period, 0.0)
    forced_closing = float(closing_per_period[(sites["status"] == "forced_closed").to_numpy()].sum())

    zeros_y, zeros_a = np.zeros(S), np.zeros(C)
    cost_vectors = {
        "shipping": np.concatenate([zeros_y, np.einsum("cp,cp->c", lane_mix, ship_unit)]),
        "fixed": np.concatenate([fixed, zeros_a]),
        "handling": np.concatenate([zeros_y, handling[lane_site] * unit_volume[lane_unit]]),
        "holding": np.concatenate([zeros_y, (unit_mix @ holding_per_unit)[lane_unit]]),
        "closing": np.concatenate([-closing, zeros_a]),
    }
    cost_offsets = {name: 0.0 for name in COST_COMPONENTS}
    cost_offsets["closing"] = float(closing.sum()) + forced_closing

    # Rows as COO triplets: demand, linking, capacity, aggregate, count, then the supply side.
    lane_cols = S + np.arange(C)
    status = sites["status"].to_numpy()
    triplets = Triplets()
    rows, cols, vals, lo, hi = triplets.rows, triplets.cols, triplets.vals, triplets.lo, triplets.hi

    rows.append(lane_unit)  # demand: one row per unit
    cols.append(lane_cols)
    vals.append(np.ones(C))
    lo.append(np.ones(K))
    hi.append(np.ones(K))
    n_rows = K

    link_rows = n_rows + np.arange(C)  # strong linking: a_c - y_i <= 0
    rows += [link_rows, link_rows]
    cols += [lane_cols, lane_site]
    vals += [np.ones(C), -np.ones(C)]
    lo.append(np.full(C, -np.inf))
    hi.append(np.zeros(C))
    n_rows += C

    capacity = sites["capacity"].to_numpy(dtype=float)
    capped = np.isfinite(capacity)
    cap_row_of_site = np.full(S, -1)
    cap_row_of_site[capped] = n_rows + np.arange(int(capped.sum()))
    lane_capped = capped[lane_site]
    rows += [cap_row_of_site[lane_site[lane_capped]], cap_row_of_site[capped]]
    cols += [lane_cols[lane_capped], np.flatnonzero(capped)]
    vals += [unit_volume[lane_unit[lane_capped]], -capacity[capped]]
    lo.append(np.full(int(capped.sum()), -np.inf))
    hi.append(np.zeros(int(capped.sum())))
    n_rows += int(capped.sum())

    usable = status != "forced_closed"
    if C and capped[usable].all() and usable.any():
        idx = np.flatnonzero(usable)
        rows.append(np.full(len(idx), n_rows))
        cols.append(idx)
        vals.append(capacity[idx])
        lo.append(np.array([unit_volume.sum()]))
        hi.append(np.array([np.inf]))
        n_rows += 1

    count = count_bounds(network)
    if count is not None:
        rows.append(np.full(S, n_rows))
        cols.append(np.arange(S))
        vals.append(np.ones(S))
        lo.append(np.array([count[0]]))
        hi.append(np.array([count[1]]))
        n_rows += 1

    triplets.n_rows = n_rows
    routing = add_routing(network, S + C, lane_cols, lane_site, lane_unit, unit_mix, lane_link, np.arange(S),
                          cap_row_of_site, triplets)
    n_cols = S + C + routing.n_cols
    for name in COST_COMPONENTS:
        extra = routing.costs.get(name, np.zeros(routing.n_cols))
        cost_vectors[name] = np.concatenate([cost_vectors.get(name, np.zeros(S + C)), extra])
    c = sum(cost_vectors.values())

    # Column bounds and integrality.
    col_lower = np.zeros(n_cols)
    col_upper = np.ones(n_cols)
    col_lower[:S][status == "forced_open"] = 1.0
    col_upper[:S][status == "forced_closed"] = 0.0
    col_upper[S + C:S + C + routing.n_flows] = np.inf
    integer = np.zeros(n_cols, dtype=bool)
    integer[:S] = True
    integer[S:S + C] = network.settings.single_sourcing
    integer[S + C + routing.n_flows:] = True

    A = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(triplets.n_rows, n_cols),
    )
    lp = LinearModel(
        c=c,
        A=A,
        row_lower=np.concatenate(lo),
        row_upper=np.concatenate(hi),
        col_lower=col_lower,
        col_upper=col_upper,
        integer=integer,
        offset=cost_offsets["closing"],
        name=network.name,
    )
    return BuiltModel(
        network=network,
        lp=lp,
        lane_site=lane_site,
        lane_unit=lane_unit,
        unit_region=unit_region,
        unit_mix=unit_mix,
        lane_link=lane_link,
        routing=routing,
        cost_vectors=cost_vectors,
        cost_offsets=cost_offsets,
        build_seconds=time.perf_counter() - start,
    )
